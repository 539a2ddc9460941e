/**
 * Amazon SQS and SNS as pulumi-aws 7.48.0 manages them: limits from the SQS and SNS API references.
 * pulumi-aws appends ".fifo" to an auto-name when fifoQueue/fifoTopic is set.
 */
import { API, arnOf, nameChars, policyDocument } from "./aws-shared";
import { matches, range, required, resourceRule, TypeConstraints } from "./rules";

const SQS = (page: string) => API("AWSSimpleQueueService", page);
const SNS = (page: string) => API("sns", page);

export const messagingConstraints: TypeConstraints[] = [
    {
        type: "aws:sqs/queue:Queue",
        api: "SQS CreateQueue",
        name: { path: "name", autoname: "aws", rules: nameChars("letters, digits, hyphens and underscores (a FIFO queue ends in .fifo)", SQS("API_CreateQueue.html QueueName (up to 80 characters)"), /^[A-Za-z0-9_-]+(\.fifo)?$/, 1, 80) },
        rules: [
            range("messageRetentionSeconds", 60, 1209600, SQS("API_SetQueueAttributes.html MessageRetentionPeriod (60 s - 14 days)"), "seconds"),
            range("visibilityTimeoutSeconds", 0, 43200, SQS("API_SetQueueAttributes.html VisibilityTimeout (0 - 12 h)"), "seconds"),
            range("delaySeconds", 0, 900, SQS("API_SetQueueAttributes.html DelaySeconds"), "seconds"),
            range("receiveWaitTimeSeconds", 0, 20, SQS("API_SetQueueAttributes.html ReceiveMessageWaitTimeSeconds"), "seconds"),
            range("maxMessageSize", 1024, 1048576, SQS("API_SetQueueAttributes.html MaximumMessageSize (1 KiB - 1 MiB)"), "bytes"),
            range("kmsDataKeyReusePeriodSeconds", 60, 86400, SQS("API_SetQueueAttributes.html KmsDataKeyReusePeriodSeconds"), "seconds"),
            resourceRule("SQS-managed SSE and a KMS key are mutually exclusive", SQS("API_SetQueueAttributes.html SqsManagedSseEnabled / KmsMasterKeyId"), (r) =>
                r.inputs.sqsManagedSseEnabled === true && r.inputs.kmsMasterKeyId !== undefined ? [{ path: "sqsManagedSseEnabled", value: true }, { path: "kmsMasterKeyId", value: r.inputs.kmsMasterKeyId }] : [],
            ),
            resourceRule("a FIFO queue's name ends in .fifo, and only a FIFO queue's", SQS("API_CreateQueue.html QueueName"), (r) => {
                const name = r.inputs.name;
                if (typeof name !== "string") return [];
                return name.endsWith(".fifo") !== (r.inputs.fifoQueue === true) ? [{ path: "name", value: name }] : [];
            }),
            resourceRule("redrivePolicy: deadLetterTargetArn is an SQS ARN and maxReceiveCount 1-1000", SQS("API_SetQueueAttributes.html RedrivePolicy"), (r) => {
                if (typeof r.inputs.redrivePolicy !== "string") return [];
                try {
                    const p = JSON.parse(r.inputs.redrivePolicy) as { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
                    const count = Number(p.maxReceiveCount);
                    return typeof p.deadLetterTargetArn === "string" && arnOf("sqs").test(p.deadLetterTargetArn) && count >= 1 && count <= 1000 ? [] : [{ path: "redrivePolicy", value: r.inputs.redrivePolicy }];
                } catch {
                    return [{ path: "redrivePolicy", value: r.inputs.redrivePolicy }];
                }
            }),
        ],
    },
    {
        type: "aws:sqs/queuePolicy:QueuePolicy",
        api: "SQS SetQueueAttributes Policy",
        rules: [required(["queueUrl", "policy"], SQS("API_SetQueueAttributes.html Policy")), policyDocument("policy", 20480, SQS("API_SetQueueAttributes.html Policy; sqs quotas (policy up to 20 KB)"))],
    },
    {
        type: "aws:sns/topic:Topic",
        api: "SNS CreateTopic",
        name: { path: "name", autoname: "aws", rules: nameChars("letters, digits, hyphens and underscores (a FIFO topic ends in .fifo)", SNS("API_CreateTopic.html Name (up to 256 characters)"), /^[A-Za-z0-9_-]+(\.fifo)?$/, 1, 256) },
        rules: [
            resourceRule("a FIFO topic's name ends in .fifo, and only a FIFO topic's", SNS("API_CreateTopic.html Name"), (r) =>
                typeof r.inputs.name === "string" && r.inputs.name.endsWith(".fifo") !== (r.inputs.fifoTopic === true) ? [{ path: "name", value: r.inputs.name }] : [],
            ),
            matches("kmsMasterKeyId", /^(arn:aws[a-z-]*:kms:|alias\/|[0-9a-f-]{36}$)/, "a KMS key id, key ARN or alias", SNS("API_SetTopicAttributes.html KmsMasterKeyId")),
        ],
    },
    {
        type: "aws:sns/topicPolicy:TopicPolicy",
        api: "SNS SetTopicAttributes Policy",
        rules: [
            required(["arn", "policy"], SNS("API_SetTopicAttributes.html TopicArn, AttributeValue")),
            matches("arn", arnOf("sns"), "an SNS topic ARN", SNS("API_SetTopicAttributes.html TopicArn")),
            policyDocument("policy", 30720, SNS("API_SetTopicAttributes.html Policy; sns quotas (policy up to 30 KB)")),
        ],
    },
];
