import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { alarmAbove } from "./alarms";

/** SQS's longest retention, 14 days (SQS API reference, SetQueueAttributes: MessageRetentionPeriod 60..1209600 s). */
export const MAX_RETENTION_SECONDS = 14 * 24 * 3600;

export interface AlarmedQueueArgs {
    /** Children are named `${name}`, `${name}-policy` and `${name}${alarmSuffix}`: callers keep their existing names. */
    name: string;
    /** The alarm's description: what waiting messages mean and what to do about them. */
    alarmDescription: string;
    /** Suffix of the depth alarm's name (default `-alarm`). */
    alarmSuffix?: string;
    /**
     * What the alarm watches instead of "any visible message" (a dead-letter queue's rule): a working
     * queue always has messages, so it alarms on the age of its oldest one instead.
     */
    alarmMetric?: { metricName: "ApproximateAgeOfOldestMessage" | "ApproximateNumberOfMessagesVisible"; threshold: number };
    /** SNS topics the depth alarm notifies. */
    alarmTopicArns: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * The EventBridge rules that may send to the queue (a target's dead-letter queue); with none, the
     * queue gets no resource policy (identity policies of its writers grant access).
     */
    senderRuleArn?: pulumi.Input<string>;
    /** Sid of the statement that lets that rule send. */
    senderSid?: string;
    /** Seconds a message is kept (default 14 days, SQS's maximum). */
    messageRetentionSeconds?: number;
    /** Seconds a received message stays invisible (SQS default 30 when unset). */
    visibilityTimeoutSeconds?: number;
    /** A dead-letter queue for this queue, and after how many receives a message moves there. */
    redrive?: { deadLetterQueueArn: pulumi.Input<string>; maxReceiveCount: number };
    /** Protect the queue from deletion (it may hold the only copy of an event). */
    deletionProtection: boolean;
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export interface AlarmedQueue {
    queue: aws.sqs.Queue;
    alarm: aws.cloudwatch.MetricAlarm;
    policy?: aws.sqs.QueuePolicy;
}

/**
 * An SQS queue with SSE (SQS-managed keys), 14-day retention, a depth alarm that fires on the first
 * visible message, and, when an EventBridge rule dead-letters into it, a policy that lets exactly
 * that rule send and refuses plain HTTP. Every dead-letter queue of the mesh is one of these.
 */
export function alarmedQueue(args: AlarmedQueueArgs, parent: pulumi.Resource): AlarmedQueue {
    const queue = new aws.sqs.Queue(
        args.name,
        {
            messageRetentionSeconds: args.messageRetentionSeconds ?? MAX_RETENTION_SECONDS,
            sqsManagedSseEnabled: true,
            ...(args.visibilityTimeoutSeconds === undefined ? {} : { visibilityTimeoutSeconds: args.visibilityTimeoutSeconds }),
            ...(args.redrive === undefined
                ? {}
                : {
                      redrivePolicy: pulumi
                          .output(args.redrive.deadLetterQueueArn)
                          .apply((arn) => JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: args.redrive!.maxReceiveCount })),
                  }),
            tags: args.tags,
        },
        { parent, protect: args.deletionProtection },
    );
    let policy: aws.sqs.QueuePolicy | undefined;
    if (args.senderRuleArn !== undefined) {
        policy = new aws.sqs.QueuePolicy(
            `${args.name}-policy`,
            {
                queueUrl: queue.url,
                policy: pulumi.all([queue.arn, args.senderRuleArn]).apply(([queueArn, ruleArn]) => ruleSenderPolicy(queueArn, ruleArn, args.senderSid ?? "OnlyTheRuleSends")),
            },
            { parent },
        );
    }
    const alarm = alarmAbove(
        `${args.name}${args.alarmSuffix ?? "-alarm"}`,
        args.alarmDescription,
        {
            namespace: "AWS/SQS",
            metricName: args.alarmMetric?.metricName ?? "ApproximateNumberOfMessagesVisible",
            dimensions: { QueueName: queue.name },
            statistic: "Maximum",
            ...(args.alarmMetric === undefined ? {} : { threshold: args.alarmMetric.threshold }),
        },
        { topicArns: args.alarmTopicArns, tags: args.tags },
        parent,
    );
    return { queue, alarm, policy };
}

/** Only EventBridge, on behalf of this rule, may send; nothing over plain HTTP. */
export function ruleSenderPolicy(queueArn: string, ruleArn: string, sid: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: sid,
                Effect: "Allow",
                Principal: { Service: "events.amazonaws.com" },
                Action: "sqs:SendMessage",
                Resource: queueArn,
                Condition: { ArnEquals: { "aws:SourceArn": ruleArn } },
            },
            { Sid: "DenyPlainTransport", Effect: "Deny", Principal: "*", Action: "sqs:*", Resource: queueArn, Condition: { Bool: { "aws:SecureTransport": "false" } } },
        ],
    });
}
