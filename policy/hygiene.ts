/**
 * Hygiene: supported runtimes, required tags, and no resource type the pack has never reviewed.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { config, forTypes, label, T } from "./common";
import { TAGGABLE_TYPE_LIST } from "./taggable-types";
import { entries, has, isUnknown, json, read, UNKNOWN } from "./values";

// ---------------------------------------------------------------------------------------------
// Lambda runtimes

/**
 * Managed runtimes and the day AWS deprecates (deprecated) them: the "Deprecation date" column of
 * the AWS Lambda runtimes page (docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html,
 * "Supported runtimes" and "Deprecated runtimes"), as published in 2025-2026. After that date the
 * runtime gets no security patches; some weeks later functions can no longer be created, then no
 * longer updated. Dates AWS has not announced are absent: such runtimes pass.
 */
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
    "nodejs22.x": "2027-04-30",
    "nodejs24.x": "2028-04-30",
    "python2.7": "2021-07-15",
    "python3.6": "2022-07-18",
    "python3.7": "2023-12-04",
    "python3.8": "2024-10-14",
    "python3.9": "2025-12-15",
    "python3.10": "2026-06-30",
    "python3.11": "2026-06-30",
    "python3.12": "2028-10-31",
    "python3.13": "2029-06-30",
    "python3.14": "2029-06-30",
    "ruby2.5": "2021-07-30",
    "ruby2.7": "2023-12-07",
    "ruby3.2": "2026-03-31",
    "ruby3.4": "2028-03-31",
    "java8": "2024-01-08",
    "java25": "2029-06-30",
    "go1.x": "2024-01-08",
    "provided": "2024-01-08",
    "dotnetcore1.0": "2019-07-30",
    "dotnetcore2.0": "2019-05-30",
    "dotnetcore2.1": "2021-09-20",
    "dotnetcore3.1": "2023-04-03",
    "dotnet5.0": "2022-05-10",
    "dotnet6": "2024-12-20",
    "dotnet7": "2024-05-14",
    "dotnet10": "2028-11-14",
};

const DAY_MS = 86_400_000;

export const lambdaRuntimeSupported: ResourceValidationPolicy = {
    name: "lambda-runtime-not-deprecated",
    displayName: "Lambda runtimes are not (about to be) deprecated",
    description:
        "Every zip-packaged Lambda function names a runtime, and that runtime's published AWS deprecation date is more than failDaysBeforeDeprecation days after the check (referenceTime, default now).",
    enforcementLevel: "mandatory",
    severity: "medium",
    remediationSteps:
        "Move the function to a runtime with a later deprecation date (e.g. nodejs22.x → nodejs24.x). A deprecated runtime gets no security patches and, some weeks later, cannot be updated at all: " +
        "the policy fails early so the move happens while deployments still work.",
    configSchema: {
        properties: {
            failDaysBeforeDeprecation: {
                type: "integer",
                minimum: 0,
                maximum: 730,
                default: 90,
                description: "Fail this many days before a runtime's deprecation date (0: from the date itself).",
            },
            additionalDeprecatedRuntimes: { type: "array", items: { type: "string" }, default: [], description: "Runtimes to refuse on top of the built-in schedule." },
            referenceTime: { type: "string", description: "RFC 3339 instant deprecation dates are compared with; defaults to the time of the check." },
        },
    },
    validateResource: forTypes([T.lambdaFunction], (props, args, report) => {
        const { additionalDeprecatedRuntimes, referenceTime, failDaysBeforeDeprecation } = config<{ additionalDeprecatedRuntimes: string[]; referenceTime?: string; failDaysBeforeDeprecation: number }>(args, {
            additionalDeprecatedRuntimes: [],
            failDaysBeforeDeprecation: 90,
        });
        const packageType = read(props, "packageType");
        if (packageType === "Image") args.notApplicable("container image functions bring their own runtime");
        const runtime = read(props, "runtime");
        if (isUnknown(runtime)) return;
        if (typeof runtime !== "string" || runtime === "") {
            report(`${label(args)} has no runtime: a zip-packaged function must name a supported one.`);
            return;
        }
        if (additionalDeprecatedRuntimes.includes(runtime)) {
            report(`${label(args)} uses runtime ${runtime}, refused by this pack's configuration.`);
            return;
        }
        const deprecated = LAMBDA_RUNTIME_DEPRECATION[runtime];
        if (!deprecated) return;
        const now = referenceTime ? Date.parse(referenceTime) : Date.now();
        const daysLeft = Math.floor((Date.parse(deprecated) - now) / DAY_MS);
        if (daysLeft <= 0) report(`${label(args)} uses runtime ${runtime}, deprecated since ${deprecated}.`);
        else if (daysLeft <= failDaysBeforeDeprecation) {
            report(`${label(args)} uses runtime ${runtime}, which AWS deprecates on ${deprecated} (in ${daysLeft} days; this pack fails ${failDaysBeforeDeprecation} days before).`);
        }
    }),
};

// ---------------------------------------------------------------------------------------------
// 12. Required tags

/**
 * Types whose input schema has `tags` (generated from the provider schemas by
 * tools/policy-taggable.ts), for when a resource leaves `tags` unset and CrossGuard's props
 * therefore do not show the key.
 */
export const TAGGABLE_TYPES: ReadonlySet<string> = new Set(TAGGABLE_TYPE_LIST);

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

// ---------------------------------------------------------------------------------------------
// Types the pack has never reviewed

/**
 * Types reviewed with no check of their own: they hold no event, grant nothing and expose nothing
 * beyond what the policies on their neighbours check (providers, time and random helpers, log
 * groups, buses, rules, archives, identities whose grants are checked where they are assigned).
 */
export const REVIEWED_TYPES: readonly string[] = [
    "pulumi:pulumi:Stack",
    "pulumi:providers:aws",
    "pulumi:providers:azure-native",
    "pulumi:providers:azuread",
    "pulumi:providers:random",
    "pulumi:providers:time",
    "pulumi:providers:pulumiservice",
    "random:index/randomString:RandomString",
    "random:index/randomId:RandomId",
    "time:index/rotating:Rotating",
    "time:index/offset:Offset",
    "time:index/sleep:Sleep",
    "time:index/static:Static",
    // The consumer package upload + trigger sync (components/azure/package-deployment.ts): it grants
    // nothing; the deployer's write role it uses is a role assignment, checked there.
    "pulumi-nodejs:dynamic/multicloud-mesh:PackageDeployment",
    // The outbox server's role step (components/azure/outbox-access.ts): the grants it makes are
    // re-read with has_table_privilege by the step itself and tested on a real PostgreSQL.
    "pulumi-nodejs:dynamic/multicloud-mesh:OutboxAccess",
    // The relay's audience URI names a token audience; it grants nothing. The OIDC provider only
    // says which issuer to trust: who may assume what is pinned on the role (iam-web-identity-trust-pinned).
    "azuread:index/applicationIdentifierUri:ApplicationIdentifierUri",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
    // The outbox server's Entra administrator (the deployer, who creates the server anyway) and its
    // database hold no event on their own; the server's sign-in and TLS are checked on the server.
    "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra",
    "azure-native:dbforpostgresql:Database",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:cloudwatch/eventBus:EventBus",
    "aws:cloudwatch/eventConnection:EventConnection",
    "aws:scheduler/schedule:Schedule",
    "aws:scheduler/scheduleGroup:ScheduleGroup",
    "azuread:index/application:Application",
    "azuread:index/servicePrincipal:ServicePrincipal",
    "azure-native:resources:ResourceGroup",
    "azure-native:managedidentity:UserAssignedIdentity",
    "azure-native:operationalinsights:Workspace",
    "azure-native:web:AppServicePlan",
    "azure-native:storage:Blob",
    "azure-native:redisenterprise:AccessPolicyAssignment",
    "azure-native:insights:DiagnosticSetting",
    "azure-native:monitor:DiagnosticSetting",
    "azure-native:monitor:ScheduledQueryRule",
    "azure-native:authorization:ManagementLockAtResourceLevel",
    "azure-native:authorization:ManagementLockByScope",
    "pulumiservice:index:DeploymentSettings",
    "pulumiservice:index:DeploymentSchedule",
    "pulumiservice:index:PolicyGroup",
    "pulumiservice:index:PolicyPack",
];

export const knownResourceTypes: ResourceValidationPolicy = {
    name: "resource-type-known-to-pack",
    displayName: "Resource types the pack has reviewed",
    description:
        "Reports (advisory) every resource whose type no policy of the pack checks and that is not on its reviewed list: a new kind of resource passes the other policies silently, so someone should decide what it needs.",
    enforcementLevel: "advisory",
    severity: "low",
    remediationSteps: "Review the type: add a policy for what it must guarantee, or add it to reviewedTypes (pack config) or REVIEWED_TYPES (policy/hygiene.ts).",
    configSchema: {
        properties: {
            reviewedTypes: { type: "array", items: { type: "string" }, default: [], description: "More types reviewed and accepted without a check." },
            componentPackages: {
                type: "array",
                items: { type: "string" },
                default: ["multicloud-mesh"],
                description: "Packages of component resources (type tokens <package>:<module>:<Name>): components group resources and are never checked themselves.",
            },
        },
    },
    validateResource: (args, report) => {
        const { reviewedTypes, componentPackages } = config(args, { reviewedTypes: [] as string[], componentPackages: ["multicloud-mesh"] });
        if (componentPackages.includes(args.type.split(":")[0])) args.notApplicable("a component resource");
        const checked = new Set<string>([...Object.values(T), ...REVIEWED_TYPES, ...reviewedTypes]);
        if (checked.has(args.type)) args.notApplicable("a type the pack knows");
        report(`${label(args)}: type ${args.type} is unknown to the pack; no policy checks what it guarantees.`);
    },
};

export const hygienePolicies = [lambdaRuntimeSupported, requiredTags, knownResourceTypes];
