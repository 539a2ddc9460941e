/**
 * The policies of the multicloud-mesh CrossGuard pack, as plain objects.
 *
 * `index.ts` builds the `PolicyPack` from `policies`; tests and the offline preview import this
 * module instead, because constructing a `PolicyPack` starts the analyzer's gRPC server.
 *
 * Design rules:
 * - Policies know resource type tokens, never the program's components.
 * - Every property is read through `./values` (`read`, `list`, `json`...): a missing required
 *   setting is a violation with a message, an unknown value (preview) is skipped, nothing throws.
 * - Stack policies relate resources (alert ↔ queue, alarm ↔ SQS queue, target ↔ API destination) by
 *   the values CrossGuard gives them (outputs during `up`, inputs during preview); when a value is
 *   not known yet they fall back to the dependency graph (`propertyDependencies`, then `dependencies`).
 */
import type {
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { OUTBOX_KEY_ATTRIBUTE } from "../runtime/outbox-schema";
import { entries, has, isUnknown, json, list, read, show, str, UNKNOWN } from "./values";

export const PACK_NAME = "multicloud-mesh";
/** Default level of the pack; every policy below also states its own. */
export const PACK_ENFORCEMENT_LEVEL: EnforcementLevel = "mandatory";

/** Resource type tokens this pack knows. */
export const T = {
    serviceBusNamespace: "azure-native:servicebus:Namespace",
    serviceBusQueue: "azure-native:servicebus:Queue",
    metricAlert: "azure-native:monitor:MetricAlert",
    redis: "azure-native:redis:Redis",
    redisEnterprise: "azure-native:redisenterprise:RedisEnterprise",
    redisEnterpriseDatabase: "azure-native:redisenterprise:Database",
    webApp: "azure-native:web:WebApp",
    webAppSlot: "azure-native:web:WebAppSlot",
    webAppSettings: "azure-native:web:WebAppApplicationSettings",
    webAppConnectionStrings: "azure-native:web:WebAppConnectionStrings",
    applicationPassword: "azuread:index/applicationPassword:ApplicationPassword",
    sqsQueue: "aws:sqs/queue:Queue",
    sqsRedrivePolicy: "aws:sqs/redrivePolicy:RedrivePolicy",
    metricAlarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    eventTarget: "aws:cloudwatch/eventTarget:EventTarget",
    apiDestination: "aws:cloudwatch/eventApiDestination:EventApiDestination",
    eventSourceMapping: "aws:lambda/eventSourceMapping:EventSourceMapping",
    lambdaFunction: "aws:lambda/function:Function",
    lambdaInvokeConfig: "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
    snsSubscription: "aws:sns/topicSubscription:TopicSubscription",
    dynamodbTable: "aws:dynamodb/table:Table",
    iamRole: "aws:iam/role:Role",
    iamRolePolicy: "aws:iam/rolePolicy:RolePolicy",
    iamRolePolicyAttachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    iamPolicyAttachment: "aws:iam/policyAttachment:PolicyAttachment",
    iamPolicy: "aws:iam/policy:Policy",
} as const;

// ---------------------------------------------------------------------------------------------
// Helpers shared by the policies

/** Calls `validate` for resources of `types`; every other resource is "not applicable". */
function forTypes(
    types: readonly string[],
    validate: (props: Record<string, unknown>, args: ResourceValidationArgs, report: ReportViolation) => void,
): (args: ResourceValidationArgs, report: ReportViolation) => void {
    return (args, report) => {
        if (!types.includes(args.type)) args.notApplicable(`applies to ${types.join(", ")}`);
        validate(args.props, args, report);
    };
}

/** Policy config merged over the defaults of its schema (the CLI applies them too; this is for older CLIs). */
function config<C extends object>(args: { getConfig<T extends object>(): T }, defaults: C): C {
    const given = (args.getConfig<Partial<C>>() ?? {}) as Partial<C>;
    const merged = { ...defaults } as C;
    for (const [key, value] of Object.entries(given)) if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
    return merged;
}

function label(r: { type: string; name: string }): string {
    return `${r.type.split(":").pop()} "${r.name}"`;
}

const ciEquals = (a: unknown, b: unknown) => typeof a === "string" && typeof b === "string" && a.toLowerCase() === b.toLowerCase();

/** Whether `from`'s `property` was computed from `to`'s outputs (preview), else whether `from` depends on `to` at all. */
function dependsOn(from: PolicyResource, to: PolicyResource, property?: string): boolean {
    const byProperty = property ? from.propertyDependencies?.[property] : undefined;
    if (byProperty && byProperty.length > 0) return byProperty.some((d) => d.urn === to.urn);
    return (from.dependencies ?? []).some((d) => d.urn === to.urn);
}

/**
 * Whether an ARN / id / name `reference` (a property of `from`) points at `to`: compared with `to`'s
 * identifiers when both are known, through the dependency graph when the reference is unknown.
 */
function refersTo(from: PolicyResource, property: string, reference: unknown, to: PolicyResource, identifiers: unknown[]): boolean {
    if (isUnknown(reference)) return dependsOn(from, to, property);
    if (typeof reference !== "string" || reference === "") return false;
    const known = identifiers.filter((v): v is string => typeof v === "string" && v !== "" && !isUnknown(v));
    if (known.length === 0) return dependsOn(from, to, property);
    return known.includes(reference);
}

function number(value: unknown): number | undefined {
    if (typeof value === "number") return value;
    if (typeof value === "string" && value.trim() !== "" && !isUnknown(value) && Number.isFinite(Number(value))) return Number(value);
    return undefined;
}

/** "1.2" ≥ "1.2"; "1.0" < "1.2"; anything unparsable is below. */
function tlsAtLeast(version: unknown, minimum: string): boolean {
    const v = typeof version === "string" ? version.replace(/^TLS_?/i, "").replace("_", ".") : "";
    const parse = (s: string) => s.split(".").map((n) => Number(n));
    const [a, b] = [parse(v), parse(minimum)];
    if (a.some((n) => !Number.isFinite(n)) || a.length === 0) return false;
    return a[0] > b[0] || (a[0] === b[0] && (a[1] ?? 0) >= (b[1] ?? 0));
}

/** The depth at which an alarm / alert with this operator and threshold fires (GreaterThan 0 → 1). */
function firesAtDepth(operator: unknown, threshold: unknown): number | undefined {
    const t = number(threshold);
    if (t === undefined || typeof operator !== "string") return undefined;
    if (/^GreaterThanOrEqual/i.test(operator)) return Math.ceil(t);
    if (/^GreaterThan/i.test(operator)) return Math.floor(t) + 1;
    return undefined;
}

// ---------------------------------------------------------------------------------------------
// 1. Service Bus queues: dead-letter alert

export const serviceBusDeadLetterAlert: StackValidationPolicy = {
    name: "servicebus-queue-deadletter-alert",
    displayName: "Service Bus queues have a dead-letter alert",
    description:
        "Every Service Bus queue has an enabled Azure Monitor metric alert on DeadletteredMessages, filtered by the EntityName dimension to that queue, scoped to its namespace, with an action group.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Add an azure-native:monitor:MetricAlert scoped to the namespace with a criterion metricName DeadletteredMessages, " +
        "dimensions [{ name: 'EntityName', operator: 'Include', values: [<queue name>] }], operator GreaterThan, threshold 0, " +
        "and actions [{ actionGroupId }]. A namespace-wide alert (no EntityName filter) does not count: it cannot say which queue dead-lettered.",
    configSchema: {
        properties: {
            maximumThreshold: {
                type: "number",
                default: 0,
                description: "The alert must fire once the dead-letter count exceeds this (GreaterThan threshold ≤ this).",
            },
        },
    },
    validateStack: (args: StackValidationArgs, report: ReportViolation) => {
        const { maximumThreshold } = config(args, { maximumThreshold: 0 });
        const queues = args.resources.filter((r) => r.type === T.serviceBusQueue);
        if (queues.length === 0) args.notApplicable("no Service Bus queue in the stack");
        const alerts = args.resources.filter((r) => r.type === T.metricAlert);
        for (const queue of queues) {
            const queueName = str(read(queue.props, "queueName")) ?? str(read(queue.props, "name"));
            const namespaceName = str(read(queue.props, "namespaceName"));
            const problems: string[] = [];
            const covering = alerts.filter((alert) => {
                const criteria = list(read(alert.props, "criteria", "allOf"));
                if (criteria === UNKNOWN) return dependsOn(alert, queue, "criteria");
                const criterion = criteria.find((c) => {
                    if (!ciEquals(read(c, "metricName"), "DeadletteredMessages")) return false;
                    const dimensions = list(read(c, "dimensions"));
                    if (dimensions === UNKNOWN) return dependsOn(alert, queue, "criteria");
                    return dimensions.some((d) => {
                        if (!ciEquals(read(d, "name"), "EntityName")) return false;
                        if (!ciEquals(read(d, "operator") ?? "Include", "Include")) return false;
                        const values = list(read(d, "values"));
                        if (values === UNKNOWN || queueName === UNKNOWN || queueName === undefined) return dependsOn(alert, queue, "criteria");
                        return values.some((v) => ciEquals(v, queueName) || (isUnknown(v) && dependsOn(alert, queue, "criteria")));
                    });
                });
                if (!criterion) return false;
                const who = label(alert);
                if (read(alert.props, "enabled") === false) {
                    problems.push(`${who} is disabled`);
                    return false;
                }
                const scopes = list(read(alert.props, "scopes"));
                if (scopes !== UNKNOWN && typeof namespaceName === "string") {
                    const scoped = scopes.some((s) => isUnknown(s) || (typeof s === "string" && s.toLowerCase().endsWith(`/namespaces/${namespaceName.toLowerCase()}`)));
                    if (!scoped) {
                        problems.push(`${who} is not scoped to namespace "${namespaceName}" (scopes ${show(scopes)})`);
                        return false;
                    }
                }
                const fires = firesAtDepth(read(criterion, "operator"), read(criterion, "threshold"));
                if (!isUnknown(read(criterion, "threshold")) && (fires === undefined || fires > maximumThreshold + 1)) {
                    problems.push(`${who} fires at ${show(read(criterion, "operator"))} ${show(read(criterion, "threshold"))}, later than "GreaterThan ${maximumThreshold}"`);
                    return false;
                }
                const actions = list(read(alert.props, "actions"));
                if (actions !== UNKNOWN && actions.length === 0) {
                    problems.push(`${who} has no action group: it notifies nobody`);
                    return false;
                }
                return true;
            });
            if (covering.length === 0) {
                report(
                    `Service Bus queue ${show(queueName)} (${label(queue)}) has no dead-letter alert: no enabled MetricAlert on DeadletteredMessages filtered by EntityName to this queue` +
                        (problems.length ? ` (${problems.join("; ")})` : "") +
                        ". Dead-lettered messages would go unnoticed.",
                    queue.urn,
                );
            }
        }
    },
};

// ---------------------------------------------------------------------------------------------
// 2. SQS queues used as dead-letter / failure destinations: depth alarm

/** Where an SQS queue can be named as a dead-letter or on-failure destination: [type, property, read]. */
const DEAD_LETTER_REFERENCES: [string, string, (props: unknown) => unknown][] = [
    [T.eventTarget, "deadLetterConfig", (p) => read(p, "deadLetterConfig", "arn")],
    [T.sqsQueue, "redrivePolicy", (p) => read(json(read(p, "redrivePolicy")), "deadLetterTargetArn")],
    [T.sqsRedrivePolicy, "redrivePolicy", (p) => read(json(read(p, "redrivePolicy")), "deadLetterTargetArn")],
    [T.eventSourceMapping, "destinationConfig", (p) => read(p, "destinationConfig", "onFailure", "destinationArn")],
    [T.lambdaFunction, "deadLetterConfig", (p) => read(p, "deadLetterConfig", "targetArn")],
    [T.lambdaInvokeConfig, "destinationConfig", (p) => read(p, "destinationConfig", "onFailure", "destination")],
    [T.snsSubscription, "redrivePolicy", (p) => read(json(read(p, "redrivePolicy")), "deadLetterTargetArn")],
];

export const sqsDeadLetterQueueAlarm: StackValidationPolicy = {
    name: "sqs-dead-letter-queue-depth-alarm",
    displayName: "SQS dead-letter queues have a depth alarm",
    description:
        "Every SQS queue named as a dead-letter or on-failure destination (EventBridge target, SQS redrive, Lambda, event source mapping, SNS subscription) has a CloudWatch alarm on ApproximateNumberOfMessagesVisible of that queue, with an alarm action.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Add an aws.cloudwatch.MetricAlarm: namespace AWS/SQS, metricName ApproximateNumberOfMessagesVisible, dimensions { QueueName: <dlq name> }, " +
        "comparisonOperator GreaterThanThreshold, threshold 0, alarmActions [<SNS topic>].",
    configSchema: {
        properties: {
            alarmAtDepth: {
                type: "integer",
                minimum: 1,
                default: 1,
                description: "The alarm must fire when this many messages wait in the dead-letter queue.",
            },
        },
    },
    validateStack: (args, report) => {
        const { alarmAtDepth } = config(args, { alarmAtDepth: 1 });
        const queues = args.resources.filter((r) => r.type === T.sqsQueue);
        const deadLetterQueues = new Map<PolicyResource, string[]>();
        for (const [type, property, pick] of DEAD_LETTER_REFERENCES) {
            for (const referrer of args.resources.filter((r) => r.type === type)) {
                const reference = pick(referrer.props);
                if (reference === undefined) continue;
                for (const queue of queues) {
                    if (queue === referrer) continue;
                    if (refersTo(referrer, property, reference, queue, [read(queue.props, "arn")])) {
                        deadLetterQueues.set(queue, [...(deadLetterQueues.get(queue) ?? []), label(referrer)]);
                    }
                }
            }
        }
        if (deadLetterQueues.size === 0) args.notApplicable("no SQS queue serves as a dead-letter or failure destination");
        const alarms = args.resources.filter((r) => r.type === T.metricAlarm);
        for (const [queue, referrers] of deadLetterQueues) {
            const queueName = str(read(queue.props, "name"));
            const problems: string[] = [];
            const watches = (metric: unknown, alarm: PolicyResource) =>
                ciEquals(read(metric, "namespace"), "AWS/SQS") &&
                read(metric, "metricName") === "ApproximateNumberOfMessagesVisible" &&
                (() => {
                    const dimension = read(metric, "dimensions", "QueueName");
                    if (isUnknown(dimension) || queueName === UNKNOWN || queueName === undefined) return dependsOn(alarm, queue);
                    return dimension === queueName;
                })();
            const covering = alarms.filter((alarm) => {
                const direct = watches(alarm.props, alarm);
                const queries = list(read(alarm.props, "metricQueries"));
                const viaQuery = queries !== UNKNOWN && queries.some((q) => watches(read(q, "metric"), alarm));
                if (!direct && !viaQuery) return false;
                const who = label(alarm);
                if (read(alarm.props, "actionsEnabled") === false) {
                    problems.push(`${who} has actions disabled`);
                    return false;
                }
                const actions = list(read(alarm.props, "alarmActions"));
                if (actions !== UNKNOWN && actions.length === 0) {
                    problems.push(`${who} has no alarm action: it notifies nobody`);
                    return false;
                }
                if (direct && !isUnknown(read(alarm.props, "threshold"))) {
                    const fires = firesAtDepth(read(alarm.props, "comparisonOperator"), read(alarm.props, "threshold"));
                    if (fires === undefined || fires > alarmAtDepth) {
                        problems.push(`${who} fires at ${show(read(alarm.props, "comparisonOperator"))} ${show(read(alarm.props, "threshold"))}, not at a depth of ${alarmAtDepth}`);
                        return false;
                    }
                }
                return true;
            });
            if (covering.length === 0) {
                report(
                    `SQS queue ${show(queueName)} (${label(queue)}) is the dead-letter destination of ${referrers.join(", ")} but no CloudWatch alarm watches its ApproximateNumberOfMessagesVisible` +
                        (problems.length ? ` (${problems.join("; ")})` : "") +
                        ": failed events would wait there unnoticed until they expire.",
                    queue.urn,
                );
            }
        }
    },
};

// ---------------------------------------------------------------------------------------------
// 3. EventBridge targets aimed at API destinations: retry policy and DLQ

export const apiDestinationTargetDeadLetter: StackValidationPolicy = {
    name: "eventbridge-api-destination-target-retry-dlq",
    displayName: "EventBridge API destination targets retry and dead-letter",
    description:
        "Every EventBridge target whose ARN is an API destination has a retry policy (maximumRetryAttempts and maximumEventAgeInSeconds) and a dead-letter SQS queue.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        "Set retryPolicy { maximumRetryAttempts, maximumEventAgeInSeconds } and deadLetterConfig { arn: <SQS queue ARN> } on the aws.cloudwatch.EventTarget. " +
        "EventBridge does not retry most 4xx answers (403, 404, 410): without a dead-letter queue such an event is dropped.",
    configSchema: {
        properties: {
            minimumRetryAttempts: { type: "integer", minimum: 0, maximum: 185, default: 1, description: "Fewest retries the retry policy may allow." },
        },
    },
    validateStack: (args, report) => {
        const { minimumRetryAttempts } = config(args, { minimumRetryAttempts: 1 });
        const destinations = args.resources.filter((r) => r.type === T.apiDestination);
        const targets = args.resources.filter((target) => {
            if (target.type !== T.eventTarget) return false;
            const arn = read(target.props, "arn");
            if (typeof arn === "string") return /^arn:[^:]+:events:[^:]*:[^:]*:api-destination\//.test(arn);
            return isUnknown(arn) && destinations.some((d) => dependsOn(target, d, "arn"));
        });
        if (targets.length === 0) args.notApplicable("no EventBridge target aimed at an API destination");
        for (const target of targets) {
            const who = label(target);
            const retry = read(target.props, "retryPolicy");
            if (retry === undefined || retry === null) {
                report(`${who} sends to an API destination without a retryPolicy: set maximumRetryAttempts and maximumEventAgeInSeconds explicitly.`, target.urn);
            } else if (!isUnknown(retry)) {
                const attempts = read(retry, "maximumRetryAttempts");
                const age = read(retry, "maximumEventAgeInSeconds");
                if (!isUnknown(attempts) && (number(attempts) === undefined || number(attempts)! < minimumRetryAttempts)) {
                    report(`${who}: retryPolicy.maximumRetryAttempts is ${show(attempts)}, needs at least ${minimumRetryAttempts}.`, target.urn);
                }
                if (!isUnknown(age) && number(age) === undefined) {
                    report(`${who}: retryPolicy.maximumEventAgeInSeconds is ${show(age)}; set how long EventBridge keeps retrying.`, target.urn);
                }
            }
            const dlq = read(target.props, "deadLetterConfig", "arn");
            if (dlq === undefined || dlq === null || dlq === "") {
                report(`${who} sends to an API destination without deadLetterConfig.arn: an event the destination refuses (403, 404, 410) or that outlives the retry policy is dropped.`, target.urn);
            } else if (typeof dlq === "string" && !/^arn:[^:]+:sqs:/.test(dlq)) {
                report(`${who}: deadLetterConfig.arn ${show(dlq)} is not an SQS queue ARN.`, target.urn);
            }
        }
    },
};

// ---------------------------------------------------------------------------------------------
// 4. Lambda event source mappings on DynamoDB streams

export const dynamodbStreamMappingFailures: StackValidationPolicy = {
    name: "lambda-dynamodb-stream-mapping-failure-handling",
    displayName: "DynamoDB stream mappings handle failures",
    description:
        "Every Lambda event source mapping on a DynamoDB stream has an on-failure destination, bisectBatchOnFunctionError, functionResponseTypes ReportBatchItemFailures and a finite maximumRetryAttempts.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        "On the aws.lambda.EventSourceMapping set destinationConfig.onFailure.destinationArn (an SQS queue or SNS topic), bisectBatchOnFunctionError: true, " +
        "functionResponseTypes: ['ReportBatchItemFailures'] and maximumRetryAttempts (0..maximumRetryAttempts of this policy). The default (-1) retries a poison record until it expires and blocks its shard.",
    configSchema: {
        properties: {
            maximumRetryAttempts: { type: "integer", minimum: 0, maximum: 10000, default: 10, description: "Largest maximumRetryAttempts allowed." },
        },
    },
    validateStack: (args, report) => {
        const { maximumRetryAttempts } = config(args, { maximumRetryAttempts: 10 });
        const tables = args.resources.filter((r) => r.type === T.dynamodbTable);
        const mappings = args.resources.filter((mapping) => {
            if (mapping.type !== T.eventSourceMapping) return false;
            const source = read(mapping.props, "eventSourceArn");
            if (typeof source === "string") return /^arn:[^:]+:dynamodb:[^:]*:[^:]*:table\/[^/]+\/stream\//.test(source);
            return isUnknown(source) && tables.some((t) => dependsOn(mapping, t, "eventSourceArn"));
        });
        if (mappings.length === 0) args.notApplicable("no Lambda event source mapping on a DynamoDB stream");
        for (const mapping of mappings) {
            const who = label(mapping);
            const destination = read(mapping.props, "destinationConfig", "onFailure", "destinationArn");
            if (destination === undefined || destination === null || destination === "") {
                report(`${who} has no destinationConfig.onFailure.destinationArn: records that exhaust their retries are discarded without a trace.`, mapping.urn);
            }
            const bisect = read(mapping.props, "bisectBatchOnFunctionError");
            if (!isUnknown(bisect) && bisect !== true) {
                report(`${who}: bisectBatchOnFunctionError is ${show(bisect)}, must be true so one bad record does not fail its whole batch forever.`, mapping.urn);
            }
            const responseTypes = list(read(mapping.props, "functionResponseTypes"));
            if (responseTypes !== UNKNOWN && !responseTypes.includes("ReportBatchItemFailures")) {
                report(`${who}: functionResponseTypes ${show(responseTypes)} lacks "ReportBatchItemFailures": the relay cannot checkpoint past the records it delivered.`, mapping.urn);
            }
            const retries = read(mapping.props, "maximumRetryAttempts");
            if (!isUnknown(retries)) {
                const n = number(retries);
                if (n === undefined || n < 0 || n > maximumRetryAttempts) {
                    report(`${who}: maximumRetryAttempts is ${show(retries)}${n === undefined || n < 0 ? " (infinite)" : ""}; set 0..${maximumRetryAttempts}.`, mapping.urn);
                }
            }
        }
    },
};

// ---------------------------------------------------------------------------------------------
// 5. IAM: no administrator or *FullAccess managed policies, no "Action": "*"

const BROAD_MANAGED_POLICY = /:policy\/(?:.*\/)?(AdministratorAccess|[A-Za-z0-9+=,.@_-]*FullAccess)$/;

/** Statements of a policy document that allow every action. */
function allowsEverything(document: unknown): string[] {
    if (document === UNKNOWN || document === undefined) return [];
    const statements = read(document, "Statement");
    const all = Array.isArray(statements) ? list(statements) : [statements];
    if (all === UNKNOWN) return [];
    const found: string[] = [];
    all.forEach((s, i) => {
        if (s === undefined || s === null) return;
        const effect = read(s, "Effect") ?? "Allow";
        const action = read(s, "Action");
        const actions = Array.isArray(action) ? list(action) : [action];
        if (effect === "Allow" && actions !== UNKNOWN && actions.some((a) => a === "*" || a === "*:*")) {
            found.push(`statement ${read(s, "Sid") !== undefined ? show(read(s, "Sid")) : `#${i + 1}`}`);
        }
    });
    return found;
}

export const iamLeastPrivilege: ResourceValidationPolicy = {
    name: "iam-no-admin-or-full-access",
    displayName: "No administrator or FullAccess IAM policies",
    description:
        'No IAM role gets AdministratorAccess or an AWS *FullAccess managed policy, and no policy document allows "Action": "*".',
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        "Attach a policy that lists the actions the role needs on the resources it needs them on (e.g. events:InvokeApiDestination on one destination ARN). " +
        "Never attach AdministratorAccess or *FullAccess managed policies, and never allow Action '*'.",
    validateResource: forTypes(
        [T.iamRole, T.iamRolePolicy, T.iamRolePolicyAttachment, T.iamPolicyAttachment, T.iamPolicy],
        (props, args, report) => {
            const checkArn = (arn: unknown) => {
                if (typeof arn === "string" && BROAD_MANAGED_POLICY.test(arn)) {
                    report(`${label(args)} attaches ${arn}: broad managed policies grant far more than any role in the mesh needs.`);
                }
            };
            const checkDocument = (what: string, value: unknown) => {
                const document = json(value);
                if (document === undefined && value !== undefined) {
                    report(`${label(args)}: ${what} is not valid JSON, it cannot be checked.`);
                    return;
                }
                for (const statement of allowsEverything(document)) {
                    report(`${label(args)}: ${what} ${statement} allows "Action": "*".`);
                }
            };
            switch (args.type) {
                case T.iamRolePolicyAttachment:
                case T.iamPolicyAttachment:
                    checkArn(read(props, "policyArn"));
                    break;
                case T.iamRolePolicy:
                case T.iamPolicy:
                    checkDocument("policy", read(props, "policy"));
                    break;
                case T.iamRole: {
                    const managed = list(read(props, "managedPolicyArns"));
                    if (managed !== UNKNOWN) managed.forEach(checkArn);
                    const inline = list(read(props, "inlinePolicies"));
                    if (inline !== UNKNOWN) inline.forEach((p, i) => checkDocument(`inline policy ${show(read(p, "name") ?? i)}`, read(p, "policy")));
                    break;
                }
            }
        },
    ),
};

// ---------------------------------------------------------------------------------------------
// 6. Service Bus namespaces: Entra ID only, TLS 1.2

export const serviceBusNamespaceAuth: ResourceValidationPolicy = {
    name: "servicebus-namespace-entra-only-tls12",
    displayName: "Service Bus namespaces: no SAS keys, TLS 1.2+",
    description: "Every Service Bus namespace sets disableLocalAuth: true (no SAS keys, Entra ID only) and minimumTlsVersion 1.2 or later.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Set disableLocalAuth: true and minimumTlsVersion: '1.2' on the azure-native:servicebus:Namespace; grant senders and receivers " +
        "'Azure Service Bus Data Sender/Receiver' role assignments scoped to the queue instead of SAS keys.",
    validateResource: forTypes([T.serviceBusNamespace], (props, args, report) => {
        const local = read(props, "disableLocalAuth");
        if (!isUnknown(local) && local !== true) {
            report(`${label(args)}: disableLocalAuth is ${show(local)}; SAS keys (local auth) must be disabled (true) so only Entra ID identities with a data role can send or receive.`);
        }
        const tls = read(props, "minimumTlsVersion");
        if (!isUnknown(tls) && !tlsAtLeast(tls, "1.2")) {
            report(`${label(args)}: minimumTlsVersion is ${show(tls)}; set "1.2" or later.`);
        }
    }),
};

// ---------------------------------------------------------------------------------------------
// 7. Redis: TLS only, 1.2+

export const redisTlsOnly: ResourceValidationPolicy = {
    name: "redis-tls-only",
    displayName: "Redis: TLS only, 1.2+",
    description:
        "Azure Cache for Redis has no non-TLS port and minimumTlsVersion 1.2+; Azure Managed Redis (redisenterprise) clusters set minimumTlsVersion 1.2+ and their databases do not use the Plaintext client protocol.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "azure-native:redis:Redis: enableNonSslPort false (or unset) and minimumTlsVersion '1.2'. azure-native:redisenterprise:RedisEnterprise: minimumTlsVersion '1.2'. " +
        "azure-native:redisenterprise:Database: clientProtocol 'Encrypted' (the API default). Clients connect with TLS (rediss://, port 6380 / 10000).",
    validateResource: forTypes([T.redis, T.redisEnterprise, T.redisEnterpriseDatabase], (props, args, report) => {
        const requireTls12 = () => {
            const tls = read(props, "minimumTlsVersion");
            if (!isUnknown(tls) && !tlsAtLeast(tls, "1.2")) report(`${label(args)}: minimumTlsVersion is ${show(tls)}; set "1.2" explicitly.`);
        };
        if (args.type === T.redis) {
            // The API default of enableNonSslPort is false, so leaving it unset is not a non-TLS port.
            if (read(props, "enableNonSslPort") === true) report(`${label(args)}: enableNonSslPort is true; the non-TLS port 6379 sends keys and values in clear text.`);
            requireTls12();
        } else if (args.type === T.redisEnterprise) {
            requireTls12();
        } else {
            const protocol = read(props, "clientProtocol");
            if (typeof protocol === "string" && protocol.toLowerCase() === "plaintext") {
                report(`${label(args)}: clientProtocol is "Plaintext"; use "Encrypted" (TLS).`);
            }
        }
    }),
};

// ---------------------------------------------------------------------------------------------
// 8. Entra ID application passwords: bounded lifetime, rotation trigger

const DAY_MS = 86_400_000;

/** "4320h", "720h30m" (azuread's endDateRelative) in milliseconds. */
function goDuration(value: string): number | undefined {
    const match = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(value);
    if (!match || value === "") return undefined;
    return ((Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0)) * 60 + Number(match[3] ?? 0)) * 1000;
}

export const applicationPasswordLifetime: ResourceValidationPolicy = {
    name: "entra-application-password-lifetime",
    displayName: "Entra ID client secrets expire and rotate",
    description:
        "Every Entra ID application password has an end date no further than maximumLifetimeDays from its start (or from now), not already past, and a non-empty rotateWhenChanged so a new end date issues a new secret.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Set endDate from a @pulumiverse/time Offset (or endDateRelative) within the allowed lifetime, and rotateWhenChanged: { expiry: <the same offset> }. " +
        "In this program a secret lives up to 1.5 × publisherRotationDays + publisherRotationGraceDays: lower those if they exceed this policy's maximumLifetimeDays.",
    configSchema: {
        properties: {
            maximumLifetimeDays: { type: "integer", minimum: 1, maximum: 730, default: 180, description: "Longest allowed secret lifetime in days." },
            referenceTime: {
                type: "string",
                description: "RFC 3339 instant lifetimes are measured from when a password has no startDate. Defaults to the time of the check; the offline runner sets the mock engine's clock.",
            },
        },
    },
    validateResource: forTypes([T.applicationPassword], (props, args, report) => {
        const { maximumLifetimeDays, referenceTime } = config<{ maximumLifetimeDays: number; referenceTime?: string }>(args, { maximumLifetimeDays: 180 });
        const who = label(args);
        const rotate = entries(read(props, "rotateWhenChanged"));
        if (rotate !== UNKNOWN && rotate.length === 0) {
            report(`${who} has no rotateWhenChanged: changing its lifetime or expiry would not issue a new secret.`);
        }
        const endDate = read(props, "endDate");
        const relative = read(props, "endDateRelative");
        if (isUnknown(endDate) || isUnknown(relative)) return;
        const startValue = read(props, "startDate");
        const start = typeof startValue === "string" ? Date.parse(startValue) : referenceTime ? Date.parse(referenceTime) : Date.now();
        let end: number | undefined;
        if (typeof endDate === "string") {
            end = Date.parse(endDate);
            if (Number.isNaN(end)) {
                report(`${who}: endDate ${show(endDate)} is not an RFC 3339 date.`);
                return;
            }
        } else if (typeof relative === "string") {
            const duration = goDuration(relative);
            if (duration === undefined) {
                report(`${who}: endDateRelative ${show(relative)} is not a duration like "4320h".`);
                return;
            }
            end = start + duration;
        } else {
            report(`${who} has neither endDate nor endDateRelative: the provider's default (two years) exceeds ${maximumLifetimeDays} days.`);
            return;
        }
        const days = (end - start) / DAY_MS;
        if (days <= 0) {
            report(`${who}: endDate ${show(endDate)} is not after ${new Date(start).toISOString()}; the secret would already be expired.`);
        } else if (days > maximumLifetimeDays + 1e-9) {
            report(`${who}: lifetime ${Math.round(days)} days exceeds the maximum of ${maximumLifetimeDays} days.`);
        }
    }),
};

// ---------------------------------------------------------------------------------------------
// 9. DynamoDB outbox (and every streamed table): stream, PITR, encryption

export const outboxTableDurability: ResourceValidationPolicy = {
    name: "dynamodb-outbox-table-durability",
    displayName: "Outbox and streamed DynamoDB tables are durable",
    description:
        `The outbox table (hash key "${OUTBOX_KEY_ATTRIBUTE}") has its stream on with NEW_IMAGE or NEW_AND_OLD_IMAGES; it and every other table with a stream have point-in-time recovery and server-side encryption (KMS) enabled.`,
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        "On the aws.dynamodb.Table set streamEnabled: true, streamViewType: 'NEW_IMAGE', pointInTimeRecovery: { enabled: true }, serverSideEncryption: { enabled: true }. " +
        "The stream is the relay's only input: without it committed events are never published.",
    configSchema: {
        properties: {
            outboxKeyAttribute: { type: "string", default: OUTBOX_KEY_ATTRIBUTE, description: "Hash key that identifies an outbox table." },
        },
    },
    validateResource: forTypes([T.dynamodbTable], (props, args, report) => {
        const { outboxKeyAttribute } = config(args, { outboxKeyAttribute: OUTBOX_KEY_ATTRIBUTE });
        const who = label(args);
        const isOutbox = read(props, "hashKey") === outboxKeyAttribute;
        const stream = read(props, "streamEnabled");
        if (!isOutbox && stream !== true) args.notApplicable("neither the outbox table nor a table with a stream");
        if (isOutbox) {
            if (!isUnknown(stream) && stream !== true) report(`${who} is an outbox table (hash key "${outboxKeyAttribute}") but streamEnabled is ${show(stream)}: nothing would relay its events.`);
            const view = read(props, "streamViewType");
            if (!isUnknown(view) && view !== "NEW_IMAGE" && view !== "NEW_AND_OLD_IMAGES") {
                report(`${who}: streamViewType is ${show(view)}; the relay needs the item image (NEW_IMAGE).`);
            }
        }
        const pitr = read(props, "pointInTimeRecovery", "enabled");
        if (!isUnknown(pitr) && pitr !== true) report(`${who}: pointInTimeRecovery.enabled is ${show(pitr)}; unpublished events must survive a bad write or deletion.`);
        const sse = read(props, "serverSideEncryption", "enabled");
        if (!isUnknown(sse) && sse !== true) report(`${who}: serverSideEncryption.enabled is ${show(sse)}; encrypt event payloads with KMS.`);
    }),
};

// ---------------------------------------------------------------------------------------------
// 10. Function apps (App Service apps): HTTPS only, no key-bearing connection strings

const KEY_BEARING = /(AccountKey|SharedAccessKey|SharedAccessSignature|AccessKey|Password|Pwd)\s*=|[?&]sig=/i;
const KEY_VAULT_REFERENCE = /^@Microsoft\.KeyVault\(/i;

function keyBearing(value: unknown): boolean {
    return typeof value === "string" && !KEY_VAULT_REFERENCE.test(value.trim()) && KEY_BEARING.test(value);
}

export const functionAppTransportAndSecrets: ResourceValidationPolicy = {
    name: "function-app-https-no-key-settings",
    displayName: "Function apps: HTTPS only, no keys in settings",
    description:
        "Every App Service / Function app sets httpsOnly: true, and no app setting or connection string (on the app, a slot, or a separate settings resource) carries a key, SAS signature or password.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Set httpsOnly: true. Replace key-bearing connection strings by identity-based connections (e.g. AzureWebJobsStorage__accountName, ServiceBusConnection__fullyQualifiedNamespace) " +
        "with a managed identity and role assignments, or by Key Vault references (@Microsoft.KeyVault(...)).",
    validateResource: forTypes([T.webApp, T.webAppSlot, T.webAppSettings, T.webAppConnectionStrings], (props, args, report) => {
        const who = label(args);
        const checkSetting = (where: string, name: unknown, value: unknown) => {
            if (keyBearing(value)) report(`${who}: ${where} ${show(name)} holds a key-bearing connection string (the value is not shown).`);
        };
        if (args.type === T.webApp || args.type === T.webAppSlot) {
            const https = read(props, "httpsOnly");
            if (!isUnknown(https) && https !== true) report(`${who}: httpsOnly is ${show(https)}; plain HTTP would expose function keys and payloads.`);
            const settings = list(read(props, "siteConfig", "appSettings"));
            if (settings !== UNKNOWN) settings.forEach((s) => checkSetting("app setting", read(s, "name"), read(s, "value")));
            const connections = list(read(props, "siteConfig", "connectionStrings"));
            if (connections !== UNKNOWN) connections.forEach((c) => checkSetting("connection string", read(c, "name"), read(c, "connectionString")));
        } else if (args.type === T.webAppSettings) {
            const settings = entries(read(props, "properties"));
            if (settings !== UNKNOWN) settings.forEach(([name, value]) => checkSetting("app setting", name, value));
        } else {
            const connections = entries(read(props, "properties"));
            if (connections !== UNKNOWN) connections.forEach(([name, value]) => checkSetting("connection string", name, read(value, "value")));
        }
    }),
};

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
export const policies: (ResourceValidationPolicy | StackValidationPolicy)[] = [
    serviceBusDeadLetterAlert,
    sqsDeadLetterQueueAlarm,
    apiDestinationTargetDeadLetter,
    dynamodbStreamMappingFailures,
    iamLeastPrivilege,
    serviceBusNamespaceAuth,
    redisTlsOnly,
    applicationPasswordLifetime,
    outboxTableDurability,
    functionAppTransportAndSecrets,
    lambdaRuntimeSupported,
    requiredTags,
];
