import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { SNS_TOPIC_ARN } from "../config";
import { fail } from "../validate";

export interface AlarmTopicArgs {
    /** E-mail address subscribed to the topic; no subscription when undefined. */
    email?: pulumi.Input<string>;
    /**
     * An existing SNS standard topic (same region) that every alarm also notifies, for teams that
     * page through another tool. SNS cannot subscribe a topic to a topic, so each alarm, rule and
     * schedule of the mesh notifies both (see `notifyTopicArns`).
     */
    externalTopicArn?: string;
    /** Tags on every taggable resource of this component. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * The SNS topic every AWS-side alarm of the mesh notifies. Encrypted with its own KMS key, because
 * CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed `aws/sns` key: the key
 * policy below lets the CloudWatch service use this key, which is the documented way to alarm into
 * an encrypted topic.
 */
export class AlarmTopic extends pulumi.ComponentResource {
    /** The mesh's own topic. */
    public readonly topicArn: pulumi.Output<string>;
    public readonly keyArn: pulumi.Output<string>;
    /** Every topic an alarm must notify: the mesh's own, then the external one when configured. */
    public readonly notifyTopicArns: pulumi.Output<string[]>;

    constructor(name: string, args: AlarmTopicArgs, opts?: pulumi.ComponentResourceOptions) {
        super("multicloud-mesh:aws:AlarmTopic", name, {}, opts);
        if (args.externalTopicArn !== undefined && !SNS_TOPIC_ARN.test(args.externalTopicArn)) {
            fail("AlarmTopic", "externalTopicArn", `must be an SNS standard topic ARN (not .fifo), got ${JSON.stringify(args.externalTopicArn)}`);
        }

        const identity = aws.getCallerIdentityOutput({}, { parent: this });
        const partition = aws.getPartitionOutput({}, { parent: this });

        const key = new aws.kms.Key(
            `${name}-key`,
            {
                description: "Encrypts the multicloud-mesh alarm topic",
                enableKeyRotation: true,
                deletionWindowInDays: 30,
                policy: pulumi.all([identity.accountId, partition.partition]).apply(([account, part]) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            {
                                Sid: "AccountAdministration",
                                Effect: "Allow",
                                Principal: { AWS: `arn:${part}:iam::${account}:root` },
                                Action: "kms:*",
                                Resource: "*",
                            },
                            {
                                Sid: "CloudWatchAlarmsPublish",
                                Effect: "Allow",
                                Principal: { Service: "cloudwatch.amazonaws.com" },
                                Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
                                Resource: "*",
                            },
                            // The connection-state rule (credential-alarms.ts) publishes as the
                            // EventBridge service, which needs the same two actions on the key.
                            {
                                Sid: "EventBridgeRulesPublish",
                                Effect: "Allow",
                                Principal: { Service: "events.amazonaws.com" },
                                Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
                                Resource: "*",
                                Condition: { StringEquals: { "aws:SourceAccount": account } },
                            },
                        ],
                    }),
                ),
                tags: args.tags,
            },
            { parent: this },
        );

        const topic = new aws.sns.Topic(`${name}-topic`, { kmsMasterKeyId: key.arn, tags: args.tags }, { parent: this });

        if (args.email !== undefined) {
            new aws.sns.TopicSubscription(
                `${name}-email`,
                { topic: topic.arn, protocol: "email", endpoint: args.email },
                { parent: this },
            );
        }

        this.topicArn = topic.arn;
        this.keyArn = key.arn;
        const external = args.externalTopicArn;
        this.notifyTopicArns = topic.arn.apply((own) => (external === undefined ? [own] : [own, external]));
        this.registerOutputs({ topicArn: this.topicArn, keyArn: this.keyArn, notifyTopicArns: this.notifyTopicArns });
    }
}

/**
 * The topic's resource policy. Setting one replaces SNS's default policy, so it grants each
 * publisher the mesh uses: CloudWatch alarms of this account, and the one EventBridge rule that
 * forwards connection-state events (by its ARN). The Scheduler publishes through an IAM role of
 * this account, which its own identity policy allows (same-account access needs only one of the
 * two), so it needs no statement here.
 */
export function alarmTopicPolicy(topicArn: string, accountId: string, connectionRuleArn: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "CloudWatchAlarmsOfThisAccount",
                Effect: "Allow",
                Principal: { Service: "cloudwatch.amazonaws.com" },
                Action: "sns:Publish",
                Resource: topicArn,
                Condition: { StringEquals: { "aws:SourceAccount": accountId } },
            },
            {
                Sid: "ConnectionStateRuleOnly",
                Effect: "Allow",
                Principal: { Service: "events.amazonaws.com" },
                Action: "sns:Publish",
                Resource: topicArn,
                Condition: { ArnEquals: { "aws:SourceArn": connectionRuleArn } },
            },
        ],
    });
}
