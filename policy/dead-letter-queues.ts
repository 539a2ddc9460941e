/**
 * Delivery path, continued: SQS queues that catch what a hop could not deliver. Any queue named as a
 * dead-letter or on-failure destination has a depth alarm and outlives its sources; every queue keeps
 * messages at least as long as an outage may last.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { ciEquals, config, dependsOn, firesAtDepth, forTypes, label, number, refersTo, T } from "./common";
import { isUnknown, json, list, read, show, str, UNKNOWN, type Unknown } from "./values";

// ---------------------------------------------------------------------------------------------
// 2. SQS queues used as dead-letter / failure destinations: depth alarm

/** Where an SQS queue can be named as a dead-letter or on-failure destination: [type, property, read]. */
export const DEAD_LETTER_REFERENCES: [string, string, (props: unknown) => unknown][] = [
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
// SQS retention: every queue, and dead-letter queues against their sources

/** SQS default retention (4 days); range 60..1209600 (Amazon SQS API Reference, SetQueueAttributes, MessageRetentionPeriod). */
const SQS_DEFAULT_RETENTION = 345_600;
const retentionOf = (props: unknown): number | Unknown => {
    const value = read(props, "messageRetentionSeconds");
    if (isUnknown(value)) return UNKNOWN;
    return number(value) ?? SQS_DEFAULT_RETENTION;
};

export const sqsQueueRetention: ResourceValidationPolicy = {
    name: "sqs-queue-retention",
    displayName: "SQS queues keep messages long enough",
    description: "Every SQS queue keeps messages at least minimumRetentionSeconds (messageRetentionSeconds; unset means the SQS default of 4 days).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Set messageRetentionSeconds to at least the policy's minimum; dead-letter queues usually keep the maximum, 1209600 (14 days).",
    configSchema: {
        properties: {
            minimumRetentionSeconds: { type: "integer", minimum: 60, maximum: 1209600, default: 345600, description: "Shortest retention allowed on any SQS queue." },
        },
    },
    validateResource: forTypes([T.sqsQueue], (props, args, report) => {
        const { minimumRetentionSeconds } = config(args, { minimumRetentionSeconds: SQS_DEFAULT_RETENTION });
        const retention = retentionOf(props);
        if (retention !== UNKNOWN && retention < minimumRetentionSeconds) {
            report(`${label(args)}: messageRetentionSeconds is ${retention}; messages older than that are deleted unread (minimum ${minimumRetentionSeconds}).`);
        }
    }),
};

/** SQS queues named as dead-letter or on-failure destinations, with who names them. */
function deadLetterQueues(resources: PolicyResource[]): Map<PolicyResource, PolicyResource[]> {
    const queues = resources.filter((r) => r.type === T.sqsQueue);
    const found = new Map<PolicyResource, PolicyResource[]>();
    for (const [type, property, pick] of DEAD_LETTER_REFERENCES) {
        for (const referrer of resources.filter((r) => r.type === type)) {
            const reference = pick(referrer.props);
            if (reference === undefined) continue;
            for (const queue of queues) {
                if (queue === referrer) continue;
                if (refersTo(referrer, property, reference, queue, [read(queue.props, "arn")])) found.set(queue, [...(found.get(queue) ?? []), referrer]);
            }
        }
    }
    return found;
}

export const sqsDeadLetterQueueRetention: StackValidationPolicy = {
    name: "sqs-dead-letter-queue-retention",
    displayName: "SQS dead-letter queues keep messages longer than their sources",
    description:
        "Every SQS queue named as a dead-letter or on-failure destination keeps messages at least minimumRetentionSeconds, and no shorter than any SQS queue that redrives into it (SQS keeps a message's original enqueue time when it moves it to a dead-letter queue).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Set messageRetentionSeconds: 1209600 (14 days, the maximum) on dead-letter queues.",
    configSchema: {
        properties: {
            minimumRetentionSeconds: { type: "integer", minimum: 60, maximum: 1209600, default: 604800, description: "Shortest retention allowed on a dead-letter queue." },
        },
    },
    validateStack: (args, report) => {
        const { minimumRetentionSeconds } = config(args, { minimumRetentionSeconds: 604_800 });
        const dlqs = deadLetterQueues(args.resources);
        if (dlqs.size === 0) args.notApplicable("no SQS queue serves as a dead-letter or failure destination");
        for (const [queue, referrers] of dlqs) {
            const retention = retentionOf(queue.props);
            if (retention === UNKNOWN) continue;
            if (retention < minimumRetentionSeconds) {
                report(`SQS dead-letter queue ${label(queue)} keeps messages ${retention} s, less than ${minimumRetentionSeconds} s: failed events would expire before anyone redrives them.`, queue.urn);
            }
            for (const source of referrers.filter((r) => r.type === T.sqsQueue)) {
                const sourceRetention = retentionOf(source.props);
                if (sourceRetention !== UNKNOWN && retention < sourceRetention) {
                    report(`SQS dead-letter queue ${label(queue)} keeps messages ${retention} s, less than its source ${label(source)} (${sourceRetention} s).`, queue.urn);
                }
            }
        }
    },
};

