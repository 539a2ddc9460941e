/**
 * Delivery path: every hop of an event either delivers it, retries it long enough to ride out an
 * outage, or parks it in a dead-letter queue that keeps it long enough and that an alarm watches.
 */
import type { ReportViolation, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { ciEquals, config, dependsOn, firesAtDepth, forTypes, label, number, OUTBOX_KEY_ATTRIBUTE, T } from "./common";
import { alarmPolicies } from "./alarms";
import { sqsDeadLetterQueueAlarm, sqsDeadLetterQueueRetention, sqsQueueRetention } from "./dead-letter-queues";
import { isoDurationSeconds } from "./durations";
import { isUnknown, list, read, show, str, UNKNOWN } from "./values";

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
// EventBridge targets (any kind): retry horizon and DLQ

export const eventTargetRetryAndDeadLetter: ResourceValidationPolicy = {
    name: "eventbridge-target-retry-dlq",
    displayName: "Every EventBridge target retries long enough and dead-letters",
    description:
        "Every EventBridge rule target, whatever it sends to (API destination, SQS, Lambda, ...), has a dead-letter SQS queue, and a retry policy (explicit or the EventBridge default of 185 attempts over 24 h) that keeps trying for at least minimumEventAgeSeconds with at least minimumRetryAttempts.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        "Set deadLetterConfig { arn: <SQS queue ARN> } on the aws.cloudwatch.EventTarget, and leave retryPolicy out (24 h, 185 attempts) or set maximumEventAgeInSeconds ≥ the policy's minimum. " +
        "EventBridge does not retry most 4xx answers (403, 404, 410) and drops an event whose retries run out: without a dead-letter queue it is lost.",
    configSchema: {
        properties: {
            minimumRetryAttempts: { type: "integer", minimum: 0, maximum: 185, default: 1, description: "Fewest retries the retry policy may allow." },
            minimumEventAgeSeconds: {
                type: "integer",
                minimum: 60,
                maximum: 86400,
                default: 3600,
                description: "Shortest retry horizon (retryPolicy.maximumEventAgeInSeconds): an outage of the target shorter than this loses nothing.",
            },
        },
    },
    // EventBridge PutTargets, RetryPolicy: MaximumEventAgeInSeconds 60..86400 (default 86400), MaximumRetryAttempts 0..185 (default 185)
    // (AWS EventBridge API Reference, RetryPolicy data type).
    validateResource: forTypes([T.eventTarget], (props, args, report) => {
        const { minimumRetryAttempts, minimumEventAgeSeconds } = config(args, { minimumRetryAttempts: 1, minimumEventAgeSeconds: 3600 });
        const who = label(args);
        const retry = read(props, "retryPolicy");
        if (!isUnknown(retry)) {
            const attempts = read(retry, "maximumRetryAttempts");
            const age = read(retry, "maximumEventAgeInSeconds");
            if (!isUnknown(attempts) && attempts !== undefined && attempts !== null && (number(attempts) ?? -1) < minimumRetryAttempts) {
                report(`${who}: retryPolicy.maximumRetryAttempts is ${show(attempts)}, needs at least ${minimumRetryAttempts}.`);
            }
            if (!isUnknown(age) && age !== undefined && age !== null && (number(age) ?? -1) < minimumEventAgeSeconds) {
                report(`${who}: retryPolicy.maximumEventAgeInSeconds is ${show(age)}: EventBridge gives up after that, shorter than the ${minimumEventAgeSeconds} s outage the mesh must ride out.`);
            }
        }
        const dlq = read(props, "deadLetterConfig", "arn");
        if (dlq === undefined || dlq === null || dlq === "") {
            report(`${who} has no deadLetterConfig.arn: an event the target refuses or that outlives the retry policy is dropped.`);
        } else if (typeof dlq === "string" && !/^arn:[^:]+:sqs:/.test(dlq)) {
            report(`${who}: deadLetterConfig.arn ${show(dlq)} is not an SQS queue ARN.`);
        }
    }),
};

// ---------------------------------------------------------------------------------------------
// Lambda event source mappings on streams (DynamoDB, Kinesis)

/** An ARN of a DynamoDB or Kinesis stream. */
const STREAM_ARN = /^arn:[^:]+:(dynamodb:[^:]*:[^:]*:table\/[^/]+\/stream\/|kinesis:[^:]*:[^:]*:stream\/)/;

export const streamMappingFailures: ResourceValidationPolicy = {
    name: "lambda-dynamodb-stream-mapping-failure-handling",
    displayName: "Stream event source mappings handle failures",
    description:
        "Every Lambda event source mapping on a DynamoDB or Kinesis stream has an on-failure destination, bisectBatchOnFunctionError, functionResponseTypes ReportBatchItemFailures, a finite maximumRetryAttempts, and a record age limit (if any) of at least minimumRecordAgeSeconds.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        "On the aws.lambda.EventSourceMapping set destinationConfig.onFailure.destinationArn (an SQS queue or SNS topic), bisectBatchOnFunctionError: true, " +
        "functionResponseTypes: ['ReportBatchItemFailures'], maximumRetryAttempts (0..maximumRetryAttempts of this policy) and maximumRecordAgeInSeconds -1 or ≥ minimumRecordAgeSeconds. " +
        "The default retry count (-1) retries a poison record until it expires and blocks its shard.",
    configSchema: {
        properties: {
            maximumRetryAttempts: { type: "integer", minimum: 0, maximum: 10000, default: 10, description: "Largest maximumRetryAttempts allowed." },
            minimumRecordAgeSeconds: {
                type: "integer",
                minimum: 60,
                maximum: 604800,
                default: 3600,
                description: "Shortest maximumRecordAgeInSeconds allowed (-1, no limit, passes): a relay outage shorter than this sends nothing to the failure destination.",
            },
        },
    },
    validateResource: forTypes([T.eventSourceMapping], (props, args, report) => {
        const { maximumRetryAttempts, minimumRecordAgeSeconds } = config(args, { maximumRetryAttempts: 10, minimumRecordAgeSeconds: 3600 });
        const source = read(props, "eventSourceArn");
        // Preview: the ARN of a stream created by the same program is unknown. startingPosition is
        // required for stream sources and refused for SQS (Lambda CreateEventSourceMapping,
        // StartingPosition), so it tells a stream mapping apart without the ARN.
        const isStream = typeof source === "string" ? STREAM_ARN.test(source) : isUnknown(source) && read(props, "startingPosition") !== undefined;
        if (!isStream) args.notApplicable("not a mapping on a DynamoDB or Kinesis stream");
        const who = label(args);
        const destination = read(props, "destinationConfig", "onFailure", "destinationArn");
        if (destination === undefined || destination === null || destination === "") {
            report(`${who} has no destinationConfig.onFailure.destinationArn: records that exhaust their retries are discarded without a trace.`);
        }
        const bisect = read(props, "bisectBatchOnFunctionError");
        if (!isUnknown(bisect) && bisect !== true) {
            report(`${who}: bisectBatchOnFunctionError is ${show(bisect)}, must be true so one bad record does not fail its whole batch forever.`);
        }
        const responseTypes = list(read(props, "functionResponseTypes"));
        if (responseTypes !== UNKNOWN && !responseTypes.includes("ReportBatchItemFailures")) {
            report(`${who}: functionResponseTypes ${show(responseTypes)} lacks "ReportBatchItemFailures": the relay cannot checkpoint past the records it delivered.`);
        }
        const retries = read(props, "maximumRetryAttempts");
        if (!isUnknown(retries)) {
            const n = number(retries);
            if (n === undefined || n < 0 || n > maximumRetryAttempts) {
                report(`${who}: maximumRetryAttempts is ${show(retries)}${n === undefined || n < 0 ? " (infinite)" : ""}; set 0..${maximumRetryAttempts}.`);
            }
        }
        const age = number(read(props, "maximumRecordAgeInSeconds"));
        if (age !== undefined && age !== -1 && age < minimumRecordAgeSeconds) {
            report(`${who}: maximumRecordAgeInSeconds is ${age}: records older than that are dropped to the failure destination after a shorter outage than ${minimumRecordAgeSeconds} s.`);
        }
    }),
};

// ---------------------------------------------------------------------------------------------
// Service Bus queues and subscriptions: expired and poison messages are dead-lettered, not dropped

export const serviceBusDeadLetterSettings: ResourceValidationPolicy = {
    name: "servicebus-queue-dead-letter-settings",
    displayName: "Service Bus queues dead-letter expired and poison messages",
    description:
        "Every Service Bus queue and topic subscription sets deadLetteringOnMessageExpiration: true (the API default drops expired messages), a maxDeliveryCount of at most maximumDeliveryCount (a poison message must reach the dead-letter queue within hours, not circulate for days), and a message time-to-live (if set) of at least minimumMessageTtlSeconds.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        "On the azure-native:servicebus:Queue (or Subscription) set deadLetteringOnMessageExpiration: true and maxDeliveryCount between 1 and the policy's maximum (e.g. 5); keep defaultMessageTimeToLive long enough to ride out a consumer outage.",
    configSchema: {
        properties: {
            maximumDeliveryCount: { type: "integer", minimum: 1, maximum: 2000, default: 10, description: "Largest maxDeliveryCount allowed (the API's default is 10)." },
            minimumMessageTtlSeconds: { type: "integer", minimum: 60, default: 86400, description: "Shortest defaultMessageTimeToLive allowed." },
        },
    },
    // Microsoft.ServiceBus 2022-10-01-preview, SBQueueProperties / SBSubscriptionProperties: deadLetteringOnMessageExpiration
    // (boolean, default false), maxDeliveryCount (int32, default 10), defaultMessageTimeToLive (ISO 8601 duration)
    // (azure-rest-api-specs specification/servicebus/resource-manager/Microsoft.ServiceBus/preview/2022-10-01-preview/Queue.json).
    validateResource: forTypes([T.serviceBusQueue, T.serviceBusSubscription], (props, args, report) => {
        const { maximumDeliveryCount, minimumMessageTtlSeconds } = config(args, { maximumDeliveryCount: 10, minimumMessageTtlSeconds: 86400 });
        const who = label(args);
        const expiry = read(props, "deadLetteringOnMessageExpiration");
        if (!isUnknown(expiry) && expiry !== true) {
            report(`${who}: deadLetteringOnMessageExpiration is ${show(expiry)}: a message that outlives its time-to-live is deleted, not dead-lettered.`);
        }
        const count = read(props, "maxDeliveryCount");
        if (!isUnknown(count) && count !== undefined) {
            const n = number(count);
            if (n === undefined || n < 1 || n > maximumDeliveryCount) {
                report(`${who}: maxDeliveryCount is ${show(count)}; a poison message must reach the dead-letter queue after at most ${maximumDeliveryCount} deliveries.`);
            }
        }
        const ttl = read(props, "defaultMessageTimeToLive");
        if (typeof ttl === "string") {
            const seconds = isoDurationSeconds(ttl);
            if (seconds === undefined || seconds < minimumMessageTtlSeconds) {
                report(`${who}: defaultMessageTimeToLive ${show(ttl)} is shorter than ${minimumMessageTtlSeconds} s: messages expire before a consumer outage ends.`);
            }
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


export const deliveryPathPolicies = [
    serviceBusDeadLetterAlert,
    serviceBusDeadLetterSettings,
    sqsDeadLetterQueueAlarm,
    sqsQueueRetention,
    sqsDeadLetterQueueRetention,
    eventTargetRetryAndDeadLetter,
    streamMappingFailures,
    outboxTableDurability,
    ...alarmPolicies,
];
