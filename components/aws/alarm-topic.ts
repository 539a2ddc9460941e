import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

export interface AlarmTopicArgs {
    /** E-mail address subscribed to the topic; no subscription when undefined. */
    email?: pulumi.Input<string>;
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
    public readonly topicArn: pulumi.Output<string>;
    public readonly keyArn: pulumi.Output<string>;

    constructor(name: string, args: AlarmTopicArgs, opts?: pulumi.ComponentResourceOptions) {
        super("multicloud-mesh:aws:AlarmTopic", name, {}, opts);

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
        this.registerOutputs({ topicArn: this.topicArn, keyArn: this.keyArn });
    }
}
