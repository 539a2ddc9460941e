/**
 * A queue that a Lambda drains is only safe while the Lambda keeps up: when the consumer stalls (a
 * bad deploy, a throttled DynamoDB table, an exhausted concurrency limit), messages wait until the
 * retention period deletes them. The dead-letter policies do not see this (nothing is dead-lettered
 * yet), so the consumed queue itself needs a backlog alarm that reaches someone.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { ciEquals, config, dependsOn, label, number, refersTo, T } from "./common";
import { readsSqs } from "./azure-to-aws";
import { isUnknown, list, read, show, str, UNKNOWN } from "./values";

/**
 * SQS queue metrics that rise while a consumer falls behind, with dimension QueueName (Amazon SQS
 * Developer Guide, "Available CloudWatch metrics for Amazon SQS": ApproximateAgeOfOldestMessage in
 * seconds, ApproximateNumberOfMessagesVisible in messages).
 */
const BACKLOG_METRICS = ["ApproximateAgeOfOldestMessage", "ApproximateNumberOfMessagesVisible"];

export const sqsConsumerQueueBacklogAlarm: StackValidationPolicy = {
    name: "lambda-sqs-source-queue-backlog-alarm",
    displayName: "Queues that Lambdas consume have a backlog alarm",
    description:
        "Every SQS queue of the stack that a Lambda event source mapping reads has a CloudWatch alarm on its ApproximateAgeOfOldestMessage (threshold at most maximumAgeSeconds) or ApproximateNumberOfMessagesVisible, with actions enabled and an alarm action: a stalled consumer is noticed before retention deletes what waits.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Add an aws.cloudwatch.MetricAlarm: namespace AWS/SQS, metricName ApproximateAgeOfOldestMessage, dimensions { QueueName: <consumed queue name> }, " +
        "statistic Maximum, comparisonOperator GreaterThanThreshold, threshold 300, alarmActions [<SNS topic>].",
    configSchema: {
        properties: {
            maximumAgeSeconds: { type: "integer", minimum: 60, default: 3600, description: "Largest threshold an age-of-oldest-message alarm may have, seconds." },
        },
    },
    validateStack: (args, report) => {
        const { maximumAgeSeconds } = config(args, { maximumAgeSeconds: 3600 });
        const mappings = args.resources.filter((r) => r.type === T.eventSourceMapping && readsSqs(r.props));
        const consumed = args.resources.filter((q) => q.type === T.sqsQueue && mappings.some((m) => refersTo(m, "eventSourceArn", read(m.props, "eventSourceArn"), q, [read(q.props, "arn")])));
        if (consumed.length === 0) args.notApplicable("no SQS queue of the stack is read by an event source mapping");
        const alarms = args.resources.filter((r) => r.type === T.metricAlarm);
        for (const queue of consumed) {
            const queueName = str(read(queue.props, "name"));
            const watches = (alarm: PolicyResource) => {
                if (!ciEquals(read(alarm.props, "namespace"), "AWS/SQS") || !BACKLOG_METRICS.includes(String(read(alarm.props, "metricName")))) return false;
                const dimension = read(alarm.props, "dimensions", "QueueName");
                if (isUnknown(dimension) || queueName === UNKNOWN || queueName === undefined) return dependsOn(alarm, queue);
                return dimension === queueName;
            };
            /** Why this alarm does not count, or undefined when it does. */
            const flaw = (alarm: PolicyResource): string | undefined => {
                if (read(alarm.props, "actionsEnabled") === false) return "has actions disabled";
                const actions = list(read(alarm.props, "alarmActions"));
                if (actions !== UNKNOWN && actions.length === 0) return "has no alarm action";
                const threshold = read(alarm.props, "threshold");
                if (read(alarm.props, "metricName") !== "ApproximateAgeOfOldestMessage" || isUnknown(threshold)) return undefined;
                const t = number(threshold);
                return t === undefined || t > maximumAgeSeconds ? `waits for messages ${show(threshold)} s old (more than ${maximumAgeSeconds} s)` : undefined;
            };
            const problems: string[] = [];
            const covering = alarms.filter(watches).filter((alarm) => {
                const why = flaw(alarm);
                if (why !== undefined) problems.push(`${label(alarm)} ${why}`);
                return why === undefined;
            });
            if (covering.length === 0) {
                report(
                    `SQS queue ${show(queueName)} (${label(queue)}) feeds a Lambda but no CloudWatch alarm watches its backlog (${BACKLOG_METRICS.join(" or ")})` +
                        (problems.length ? ` (${problems.join("; ")})` : "") +
                        ": a stalled consumer goes unnoticed until retention deletes the waiting events.",
                    queue.urn,
                );
            }
        }
    },
};
