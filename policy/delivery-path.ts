/**
 * Delivery path: every hop of an event either delivers it, retries it long enough to ride out an
 * outage, or parks it in a dead-letter queue that keeps it long enough and that an alarm watches.
 */
import type { PolicyResource, ReportViolation, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { ciEquals, config, dependsOn, firesAtDepth, forTypes, label, number, OUTBOX_KEY_ATTRIBUTE, refersTo, T } from "./common";
import { isUnknown, json, list, read, show, str, UNKNOWN } from "./values";

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


export const deliveryPathPolicies = [serviceBusDeadLetterAlert, sqsDeadLetterQueueAlarm, apiDestinationTargetDeadLetter, dynamodbStreamMappingFailures, outboxTableDurability];
