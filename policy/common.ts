/**
 * What every policy of the pack shares: the resource type tokens it knows, reading config, relating
 * resources to each other, and small parsers. The pack is self-contained: nothing here (or anywhere
 * under policy/) imports from outside this folder, so `pulumi policy publish` can upload it alone.
 *
 * Design rules of the pack:
 * - Policies know resource type tokens, never the program's components.
 * - Every property is read through `./values` (`read`, `list`, `json`...): a missing required
 *   setting is a violation with a message, an unknown value (preview) is resolved through the
 *   dependency graph where the program's structure makes the answer certain, else skipped.
 * - A check that needs only one resource (and the inputs it references) is a resource policy, so
 *   `pulumi preview` / `up` stops before the weak resource is created; stack policies are kept for
 *   relations between resources, which the engine can only check after the update.
 */
import type { EnforcementLevel, PolicyResource, ReportViolation, ResourceValidationArgs } from "@pulumi/policy";
import { isUnknown } from "./values";

export const PACK_NAME = "multicloud-mesh";
/** Default level of the pack; every policy also states its own. */
export const PACK_ENFORCEMENT_LEVEL: EnforcementLevel = "mandatory";

/**
 * Hash key that marks a DynamoDB table as a transactional outbox. The program's runtime defines the
 * same name (runtime/outbox-schema.ts); the pack keeps its own copy so it can be published alone,
 * and test/policy/self-contained.test.ts keeps the two equal.
 */
export const OUTBOX_KEY_ATTRIBUTE = "event_id";

/** Resource type tokens this pack knows. */
export const T = {
    serviceBusNamespace: "azure-native:servicebus:Namespace",
    serviceBusQueue: "azure-native:servicebus:Queue",
    serviceBusTopic: "azure-native:servicebus:Topic",
    serviceBusSubscription: "azure-native:servicebus:Subscription",
    metricAlert: "azure-native:monitor:MetricAlert",
    scheduledQueryRule: "azure-native:monitor:ScheduledQueryRule",
    actionGroup: "azure-native:monitor:ActionGroup",
    roleAssignment: "azure-native:authorization:RoleAssignment",
    redis: "azure-native:redis:Redis",
    redisEnterprise: "azure-native:redisenterprise:RedisEnterprise",
    redisEnterpriseDatabase: "azure-native:redisenterprise:Database",
    storageAccount: "azure-native:storage:StorageAccount",
    blobContainer: "azure-native:storage:BlobContainer",
    appInsights: "azure-native:applicationinsights:Component",
    webApp: "azure-native:web:WebApp",
    webAppSlot: "azure-native:web:WebAppSlot",
    webAppSettings: "azure-native:web:WebAppApplicationSettings",
    webAppConnectionStrings: "azure-native:web:WebAppConnectionStrings",
    webAppFtpPolicy: "azure-native:web:WebAppFtpAllowed",
    webAppScmPolicy: "azure-native:web:WebAppScmAllowed",
    applicationPassword: "azuread:index/applicationPassword:ApplicationPassword",
    postgresServer: "azure-native:dbforpostgresql:Server",
    postgresConfiguration: "azure-native:dbforpostgresql:Configuration",
    postgresFirewallRule: "azure-native:dbforpostgresql:FirewallRule",
    sqsQueue: "aws:sqs/queue:Queue",
    sqsQueuePolicy: "aws:sqs/queuePolicy:QueuePolicy",
    sqsRedrivePolicy: "aws:sqs/redrivePolicy:RedrivePolicy",
    metricAlarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    eventBus: "aws:cloudwatch/eventBus:EventBus",
    eventRule: "aws:cloudwatch/eventRule:EventRule",
    eventArchive: "aws:cloudwatch/eventArchive:EventArchive",
    eventTarget: "aws:cloudwatch/eventTarget:EventTarget",
    apiDestination: "aws:cloudwatch/eventApiDestination:EventApiDestination",
    eventSourceMapping: "aws:lambda/eventSourceMapping:EventSourceMapping",
    lambdaFunction: "aws:lambda/function:Function",
    lambdaPermission: "aws:lambda/permission:Permission",
    kmsKey: "aws:kms/key:Key",
    kmsKeyPolicy: "aws:kms/keyPolicy:KeyPolicy",
    lambdaInvokeConfig: "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
    snsTopic: "aws:sns/topic:Topic",
    snsSubscription: "aws:sns/topicSubscription:TopicSubscription",
    snsTopicPolicy: "aws:sns/topicPolicy:TopicPolicy",
    dynamodbTable: "aws:dynamodb/table:Table",
    iamRole: "aws:iam/role:Role",
    iamRolePolicy: "aws:iam/rolePolicy:RolePolicy",
    iamRolePolicyAttachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    iamPolicyAttachment: "aws:iam/policyAttachment:PolicyAttachment",
    iamPolicy: "aws:iam/policy:Policy",
    iamUserPolicy: "aws:iam/userPolicy:UserPolicy",
    iamGroupPolicy: "aws:iam/groupPolicy:GroupPolicy",
    stack: "pulumi:pulumi:Stack",
} as const;

/** Calls `validate` for resources of `types`; every other resource is "not applicable". */
export function forTypes(
    types: readonly string[],
    validate: (props: Record<string, unknown>, args: ResourceValidationArgs, report: ReportViolation) => void,
): (args: ResourceValidationArgs, report: ReportViolation) => void {
    return (args, report) => {
        if (!types.includes(args.type)) args.notApplicable(`applies to ${types.join(", ")}`);
        validate(args.props, args, report);
    };
}

/** Policy config merged over the defaults of its schema (the CLI applies them too; this is for older CLIs). */
export function config<C extends object>(args: { getConfig<T extends object>(): T }, defaults: C): C {
    const given = (args.getConfig<Partial<C>>() ?? {}) as Partial<C>;
    const merged = { ...defaults } as C;
    for (const [key, value] of Object.entries(given)) if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
    return merged;
}

export function label(r: { type: string; name: string }): string {
    return `${r.type.split(":").pop()} "${r.name}"`;
}

export const ciEquals = (a: unknown, b: unknown) => typeof a === "string" && typeof b === "string" && a.toLowerCase() === b.toLowerCase();

/** Whether `from`'s `property` was computed from `to`'s outputs (preview), else whether `from` depends on `to` at all. */
export function dependsOn(from: PolicyResource, to: PolicyResource, property?: string): boolean {
    const byProperty = property ? from.propertyDependencies?.[property] : undefined;
    if (byProperty && byProperty.length > 0) return byProperty.some((d) => d.urn === to.urn);
    return (from.dependencies ?? []).some((d) => d.urn === to.urn);
}

/**
 * Whether an ARN / id / name `reference` (a property of `from`) points at `to`: compared with `to`'s
 * identifiers when both are known, through the dependency graph when the reference is unknown.
 */
export function refersTo(from: PolicyResource, property: string, reference: unknown, to: PolicyResource, identifiers: unknown[]): boolean {
    if (isUnknown(reference)) return dependsOn(from, to, property);
    if (typeof reference !== "string" || reference === "") return false;
    const known = identifiers.filter((v): v is string => typeof v === "string" && v !== "" && !isUnknown(v));
    if (known.length === 0) return dependsOn(from, to, property);
    return known.includes(reference);
}

export function number(value: unknown): number | undefined {
    if (typeof value === "number") return value;
    if (typeof value === "string" && value.trim() !== "" && !isUnknown(value) && Number.isFinite(Number(value))) return Number(value);
    return undefined;
}

/** "1.2" ≥ "1.2"; "1.0" < "1.2"; anything unparsable is below. */
export function tlsAtLeast(version: unknown, minimum: string): boolean {
    const v = typeof version === "string" ? version.replace(/^TLS_?/i, "").replace("_", ".") : "";
    const parse = (s: string) => s.split(".").map((n) => Number(n));
    const [a, b] = [parse(v), parse(minimum)];
    if (a.some((n) => !Number.isFinite(n)) || a.length === 0) return false;
    return a[0] > b[0] || (a[0] === b[0] && (a[1] ?? 0) >= (b[1] ?? 0));
}

/** The depth at which an alarm / alert with this operator and threshold fires (GreaterThan 0 → 1). */
export function firesAtDepth(operator: unknown, threshold: unknown): number | undefined {
    const t = number(threshold);
    if (t === undefined || typeof operator !== "string") return undefined;
    if (/^GreaterThanOrEqual/i.test(operator)) return Math.ceil(t);
    if (/^GreaterThan/i.test(operator)) return Math.floor(t) + 1;
    return undefined;
}

