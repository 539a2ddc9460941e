/**
 * Hygiene: supported runtimes, required tags, and no resource type the pack has never reviewed.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { config, forTypes, label, T } from "./common";
import { entries, has, isUnknown, json, read, UNKNOWN } from "./values";

// ---------------------------------------------------------------------------------------------
// 11. Lambda runtimes

/** Managed runtimes and the day AWS deprecated (or deprecates) them, from the AWS Lambda runtime deprecation schedule. */
export const LAMBDA_RUNTIME_DEPRECATION: Record<string, string> = {
    "nodejs": "2016-10-31",
    "nodejs4.3": "2020-03-05",
    "nodejs6.10": "2019-08-12",
    "nodejs8.10": "2020-03-06",
    "nodejs10.x": "2021-07-30",
    "nodejs12.x": "2023-03-31",
    "nodejs14.x": "2023-12-04",
    "nodejs16.x": "2024-06-12",
    "nodejs18.x": "2025-09-01",
    "nodejs20.x": "2026-04-30",
    "python2.7": "2021-07-15",
    "python3.6": "2022-07-18",
    "python3.7": "2023-12-04",
    "python3.8": "2024-10-14",
    "python3.9": "2025-12-15",
    "ruby2.5": "2021-07-30",
    "ruby2.7": "2023-12-07",
    "ruby3.2": "2026-03-31",
    "java8": "2024-01-08",
    "go1.x": "2024-01-08",
    "provided": "2024-01-08",
    "dotnetcore1.0": "2019-07-30",
    "dotnetcore2.0": "2019-05-30",
    "dotnetcore2.1": "2021-09-20",
    "dotnetcore3.1": "2023-04-03",
    "dotnet5.0": "2022-05-10",
    "dotnet6": "2024-12-20",
    "dotnet7": "2024-05-14",
};

export const lambdaRuntimeSupported: ResourceValidationPolicy = {
    name: "lambda-runtime-not-deprecated",
    displayName: "Lambda runtimes are not deprecated",
    description: "Every zip-packaged Lambda function names a runtime, and that runtime is not deprecated by AWS (as of referenceTime, default now).",
    enforcementLevel: "mandatory",
    severity: "medium",
    remediationSteps:
        "Move the function to a supported runtime (e.g. nodejs22.x, python3.13). A deprecated runtime gets no security patches and, some months later, cannot be updated at all.",
    configSchema: {
        properties: {
            additionalDeprecatedRuntimes: { type: "array", items: { type: "string" }, default: [], description: "Runtimes to refuse on top of the built-in schedule." },
            referenceTime: { type: "string", description: "RFC 3339 instant deprecation dates are compared with; defaults to the time of the check." },
        },
    },
    validateResource: forTypes([T.lambdaFunction], (props, args, report) => {
        const { additionalDeprecatedRuntimes, referenceTime } = config<{ additionalDeprecatedRuntimes: string[]; referenceTime?: string }>(args, { additionalDeprecatedRuntimes: [] });
        const packageType = read(props, "packageType");
        if (packageType === "Image") args.notApplicable("container image functions bring their own runtime");
        const runtime = read(props, "runtime");
        if (isUnknown(runtime)) return;
        if (typeof runtime !== "string" || runtime === "") {
            report(`${label(args)} has no runtime: a zip-packaged function must name a supported one.`);
            return;
        }
        const now = referenceTime ? Date.parse(referenceTime) : Date.now();
        const deprecated = LAMBDA_RUNTIME_DEPRECATION[runtime];
        if ((deprecated && Date.parse(deprecated) <= now) || additionalDeprecatedRuntimes.includes(runtime)) {
            report(`${label(args)} uses runtime ${runtime}, deprecated${deprecated ? ` since ${deprecated}` : ""}.`);
        }
    }),
};

// ---------------------------------------------------------------------------------------------
// 12. Required tags

/**
 * Types whose input schema has `tags` (a key → value map), for when a resource leaves `tags` unset
 * and CrossGuard's props therefore do not show the key. A test cross-checks this list against the
 * provider SDKs for every type the program creates.
 */
export const TAGGABLE_TYPES = new Set<string>([
    "aws:cloudwatch/eventBus:EventBus",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:cloudwatch/eventRule:EventRule",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:dynamodb/table:Table",
    "aws:iam/policy:Policy",
    "aws:iam/role:Role",
    "aws:kms/key:Key",
    "aws:lambda/eventSourceMapping:EventSourceMapping",
    "aws:lambda/function:Function",
    "aws:sns/topic:Topic",
    "aws:sqs/queue:Queue",
    "aws:secretsmanager/secret:Secret",
    "azure-native:monitor:ActionGroup",
    "azure-native:monitor:MetricAlert",
    "azure-native:redis:Redis",
    "azure-native:redisenterprise:RedisEnterprise",
    "azure-native:resources:ResourceGroup",
    "azure-native:servicebus:Namespace",
    "azure-native:web:AppServicePlan",
    "azure-native:web:WebApp",
    "azure-native:storage:StorageAccount",
    "azure-native:keyvault:Vault",
    "azure-native:applicationinsights:Component",
    "azure-native:managedidentity:UserAssignedIdentity",
    "azure-native:operationalinsights:Workspace",
]);

/** Key → value tags of a `tags` / `tagsAll` / `defaultTags.tags` value (object or JSON string). */
function tagMap(value: unknown): Map<string, unknown> | typeof UNKNOWN {
    const parsed = typeof value === "string" ? json(value) : value;
    const pairs = entries(parsed);
    if (pairs === UNKNOWN) return UNKNOWN;
    return new Map(pairs);
}

export const requiredTags: ResourceValidationPolicy = {
    name: "required-tags",
    displayName: "Taggable resources carry the required tags",
    description:
        "Every taggable AWS and Azure resource carries each required tag with a non-empty value. AWS resources count the aws provider's defaultTags (offline and during preview) and tagsAll (during up).",
    enforcementLevel: "mandatory",
    severity: "low",
    remediationSteps:
        "Pass the stack's tags to every Azure resource's `tags`, and set them once for AWS through the aws provider's defaultTags; " +
        "add missing keys with `pulumi config set --path 'tags[n]' key=value` or in index.ts.",
    configSchema: {
        properties: {
            requiredTags: { type: "array", items: { type: "string" }, default: ["mesh:project", "mesh:stack"], description: "Tag keys every taggable resource must carry." },
            exemptTypes: { type: "array", items: { type: "string" }, default: [], description: "Resource types never checked." },
        },
    },
    validateResource: (args, report) => {
        const { requiredTags: required, exemptTypes } = config(args, { requiredTags: ["mesh:project", "mesh:stack"], exemptTypes: [] as string[] });
        const aws = args.type.startsWith("aws:");
        // Entra ID (azuread) tags are free-form labels, not key/value pairs; providers are not resources to tag.
        if (!(aws || args.type.startsWith("azure-native:")) || exemptTypes.includes(args.type)) args.notApplicable("not a key/value-taggable AWS or Azure resource");
        if (!has(args.props, "tags") && !has(args.props, "tagsAll") && !TAGGABLE_TYPES.has(args.type)) args.notApplicable("the type takes no tags");
        const sources = [read(args.props, "tags"), read(args.props, "tagsAll")];
        if (aws) sources.unshift(read(json(read(args.provider?.props, "defaultTags")), "tags"));
        const effective = new Map<string, unknown>();
        for (const source of sources) {
            const map = tagMap(source);
            if (map === UNKNOWN) return; // Not known before the resources it is built from exist.
            for (const [k, v] of map) effective.set(k, v);
        }
        const missing = required.filter((key) => {
            const value = effective.get(key);
            return !(isUnknown(value) || (typeof value === "string" && value.trim() !== ""));
        });
        if (missing.length > 0) {
            report(`${label(args)} lacks required tag${missing.length > 1 ? "s" : ""} ${missing.map((m) => JSON.stringify(m)).join(", ")}${aws ? " (counting the provider's defaultTags)" : ""}.`);
        }
    },
};

/** Every policy of the pack, in the order of the README table. */

export const hygienePolicies = [lambdaRuntimeSupported, requiredTags];
