import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { alarmAbove } from "./alarms";
import { alarmedQueue } from "./alarmed-queue";
import { fail, requireInteger } from "../validate";
import type { BusinessHandler } from "../../runtime/consumer";
import { IDEMPOTENCY_TABLE } from "../../runtime/dynamodb-idempotency-store";
import * as sqsConsumerLambda from "../../runtime/sqs-consumer-lambda";

/** The only npm packages the consumer loads at run time; every other dependency stays out of its archive. */
export const CONSUMER_RUNTIME_PACKAGES: readonly string[] = ["@aws-sdk/client-dynamodb", "@aws-sdk/client-sqs"];

/**
 * The queue's visibility timeout for a function timeout: six times the timeout plus the batching
 * window (Lambda Developer Guide, "Using Lambda with Amazon SQS", configuring the queue: "set the
 * source queue's visibility timeout to at least six times the timeout that you configure on your
 * function", and add MaximumBatchingWindowInSeconds). The consumer's lease is at most the function
 * timeout, so it has ended long before a message held by a stopped invocation reappears.
 */
export function visibilityTimeoutFor(functionTimeoutSeconds: number, batchWindowSeconds: number): number {
    return 6 * functionTimeoutSeconds + batchWindowSeconds;
}

/** Packages in package.json `dependencies` the consumer never loads. */
export function consumerExcludedPackages(packageJsonPath = path.join(process.cwd(), "package.json")): string[] {
    const pkg = JSON.parse(fs.readFileSync(packageJsonPath, "utf8")) as { dependencies?: Record<string, string> };
    return Object.keys(pkg.dependencies ?? {}).filter((name) => !CONSUMER_RUNTIME_PACKAGES.includes(name));
}

export interface IngressConsumerSettings {
    /** Memory of the consumer Lambda, MB (128..10240). */
    memoryMb: number;
    /** Timeout of one invocation, seconds (1..900); the idempotency lease never outlives it. */
    timeoutSeconds: number;
    /** Records per invocation (1..10000; above 10 needs a batching window of at least 1 s). */
    batchSize: number;
    /** Seconds the mapping gathers records before invoking (0..300). */
    batchWindowSeconds: number;
    /** Receives of one message before SQS moves it to the dead-letter queue (1..1000). */
    maxReceiveCount: number;
    /** Age, in seconds, of the oldest waiting message that raises the "falling behind" alarm. */
    queueAgeAlarmSeconds: number;
}

export interface IngressConsumerArgs extends IngressConsumerSettings {
    /** Name of the mesh bus the Azure relay publishes into. */
    busName: pulumi.Input<string>;
    /** The Azure-origin `source` values this rule takes off the bus (disjoint from the AWS → Azure rule's). */
    sources: string[];
    /** The business handler, serialized into the function: runs once per event id. */
    handler: BusinessHandler;
    /** How long completed event ids are remembered, days (the table's TTL follows). */
    dedupeWindowDays: number;
    /** EventBridge → SQS retry bounds of the rule target. */
    maximumEventAgeSeconds: number;
    maximumRetryAttempts: number;
    /** SNS topics every alarm notifies. */
    alarmTopicArns: pulumi.Input<pulumi.Input<string>[]>;
    /** Protect the queues and the idempotency table from deletion. */
    deletionProtection: boolean;
    /** Days the function's logs are kept. */
    logRetentionDays: number;
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * AWS delivery of Azure-origin events: a rule on the mesh bus for the Azure-origin sources → an
 * encrypted SQS queue (its own alarmed dead-letter queue; the target has a retry policy and its own
 * alarmed dead-letter queue) → the consumer Lambda (a closure of runtime/sqs-consumer-lambda.ts:
 * the shared consumer core over the DynamoDB idempotency store) with ReportBatchItemFailures. Its
 * role may read and delete from that queue, send to its dead-letter queue, write and update items of
 * its idempotency table, and write its log group: nothing else.
 */
export class IngressConsumer extends pulumi.ComponentResource {
    public readonly ruleArn: pulumi.Output<string>;
    public readonly queueArn: pulumi.Output<string>;
    public readonly queueUrl: pulumi.Output<string>;
    public readonly deadLetterQueueArn: pulumi.Output<string>;
    public readonly deadLetterQueueUrl: pulumi.Output<string>;
    public readonly targetDeadLetterQueueUrl: pulumi.Output<string>;
    public readonly targetDeadLetterQueueArn: pulumi.Output<string>;
    public readonly functionName: pulumi.Output<string>;
    public readonly idempotencyTableName: pulumi.Output<string>;
    public readonly eventPattern: string;

    constructor(name: string, args: IngressConsumerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("multicloud-mesh:aws:IngressConsumer", name, {}, opts);
        validateIngressArgs(args);
        const visibilityTimeoutSeconds = visibilityTimeoutFor(args.timeoutSeconds, args.batchWindowSeconds);
        const notify = { alarmTopicArns: args.alarmTopicArns, deletionProtection: args.deletionProtection, tags: args.tags };
        this.eventPattern = JSON.stringify({ source: args.sources });

        const rule = new aws.cloudwatch.EventRule(
            `${name}-rule`,
            { eventBusName: args.busName, description: "Azure-origin mesh events to the AWS consumer queue", eventPattern: this.eventPattern, state: "ENABLED", tags: args.tags },
            { parent: this },
        );

        const deadLetters = alarmedQueue(
            { name: `${name}-dlq`, ...notify, alarmSuffix: "-depth-alarm", alarmDescription: "Azure-origin events the AWS consumer dead-lettered (poison: see the DeadLetterReason attribute) or gave up on (maxReceiveCount): inspect, then redrive" },
            this,
        );
        const queue = alarmedQueue(
            {
                name: `${name}-queue`,
                ...notify,
                alarmSuffix: "-age-alarm",
                alarmMetric: { metricName: "ApproximateAgeOfOldestMessage", threshold: args.queueAgeAlarmSeconds },
                alarmDescription: `The AWS consumer is falling behind: an Azure-origin event has waited more than ${args.queueAgeAlarmSeconds} s`,
                senderRuleArn: rule.arn,
                senderSid: "OnlyTheAzureOriginRuleSends",
                visibilityTimeoutSeconds,
                redrive: { deadLetterQueueArn: deadLetters.queue.arn, maxReceiveCount: args.maxReceiveCount },
            },
            this,
        );
        const targetDeadLetters = alarmedQueue(
            {
                name: `${name}-target-dlq`,
                ...notify,
                alarmSuffix: "-depth-alarm",
                alarmDescription: "EventBridge could not put Azure-origin events into the consumer queue: inspect, then redrive",
                senderRuleArn: rule.arn,
                senderSid: "OnlyTheAzureOriginRuleDeadLetters",
            },
            this,
        );
        new aws.cloudwatch.EventTarget(
            `${name}-target`,
            {
                rule: rule.name,
                eventBusName: args.busName,
                arn: queue.queue.arn,
                retryPolicy: { maximumEventAgeInSeconds: args.maximumEventAgeSeconds, maximumRetryAttempts: args.maximumRetryAttempts },
                deadLetterConfig: { arn: targetDeadLetters.queue.arn },
            },
            // EventBridge needs the queue policy to send; without it every event would be retried, then dead-lettered.
            { parent: this, dependsOn: queue.policy ? [queue.policy] : [] },
        );

        const table = new aws.dynamodb.Table(
            `${name}-idempotency`,
            {
                billingMode: "PAY_PER_REQUEST",
                hashKey: IDEMPOTENCY_TABLE.partitionKey,
                attributes: [{ name: IDEMPOTENCY_TABLE.partitionKey, type: IDEMPOTENCY_TABLE.partitionKeyType }],
                ttl: { attributeName: IDEMPOTENCY_TABLE.ttlAttribute, enabled: true },
                pointInTimeRecovery: { enabled: true },
                serverSideEncryption: { enabled: true },
                deletionProtectionEnabled: args.deletionProtection,
                tags: args.tags,
            },
            { parent: this, protect: args.deletionProtection },
        );

        const logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, { retentionInDays: args.logRetentionDays, tags: args.tags }, { parent: this });
        const role = new aws.iam.Role(
            `${name}-role`,
            {
                description: "AWS consumer: receive from its queue, dead-letter poison, idempotency records, logs",
                assumeRolePolicy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
                }),
                tags: args.tags,
            },
            { parent: this },
        );
        const policy = new aws.iam.RolePolicy(
            `${name}-policy`,
            {
                role: role.id,
                policy: pulumi
                    .all([queue.queue.arn, deadLetters.queue.arn, table.arn, logGroup.arn])
                    .apply(([queueArn, dlqArn, tableArn, logGroupArn]) => consumerRolePolicy(queueArn, dlqArn, tableArn, logGroupArn)),
            },
            { parent: this },
        );

        const dedupeWindowDays = args.dedupeWindowDays;
        const handler = args.handler;
        const fn = new aws.lambda.CallbackFunction(
            `${name}-function`,
            {
                description: "Mesh consumer on AWS: Azure-origin events from SQS, once per event id (DynamoDB idempotency)",
                role,
                runtime: aws.lambda.Runtime.NodeJS22dX,
                architectures: ["arm64"],
                memorySize: args.memoryMb,
                timeout: args.timeoutSeconds,
                environment: {
                    variables: {
                        MESH_IDEMPOTENCY_TABLE: table.name,
                        MESH_DEAD_LETTER_QUEUE_URL: deadLetters.queue.url,
                        MESH_VISIBILITY_TIMEOUT_SECONDS: String(visibilityTimeoutSeconds),
                        MESH_FUNCTION_TIMEOUT_SECONDS: String(args.timeoutSeconds),
                        MESH_BATCH_WINDOW_SECONDS: String(args.batchWindowSeconds),
                    },
                },
                loggingConfig: { logFormat: "JSON", logGroup: logGroup.name, applicationLogLevel: "INFO", systemLogLevel: "WARN" },
                callbackFactory: () => {
                    const env = (key: string) => {
                        const value = process.env[key];
                        if (!value) throw new Error(`mesh consumer: ${key} is not set; the function's environment is misconfigured`);
                        return value;
                    };
                    return sqsConsumerLambda.createSqsConsumerLambdaHandler({
                        tableName: env("MESH_IDEMPOTENCY_TABLE"),
                        deadLetterQueueUrl: env("MESH_DEAD_LETTER_QUEUE_URL"),
                        visibilityTimeoutSeconds: Number(env("MESH_VISIBILITY_TIMEOUT_SECONDS")),
                        functionTimeoutSeconds: Number(env("MESH_FUNCTION_TIMEOUT_SECONDS")),
                        batchWindowSeconds: Number(env("MESH_BATCH_WINDOW_SECONDS")),
                        dedupeWindowDays,
                        handler,
                    });
                },
                codePathOptions: { extraExcludePackages: consumerExcludedPackages() },
                tags: args.tags,
            },
            { parent: this, dependsOn: [policy] },
        );

        new aws.lambda.EventSourceMapping(
            `${name}-mapping`,
            {
                eventSourceArn: queue.queue.arn,
                functionName: fn.arn,
                batchSize: args.batchSize,
                maximumBatchingWindowInSeconds: args.batchWindowSeconds,
                functionResponseTypes: ["ReportBatchItemFailures"],
                tags: args.tags,
            },
            { parent: this, dependsOn: [policy] },
        );

        alarmAbove(
            `${name}-errors-alarm`,
            "The AWS consumer failed invocations: their records come back after the visibility timeout and reach the dead-letter queue if it keeps failing",
            { namespace: "AWS/Lambda", metricName: "Errors", dimensions: { FunctionName: fn.name }, statistic: "Sum" },
            { topicArns: args.alarmTopicArns, tags: args.tags },
            this,
        );
        alarmAbove(
            `${name}-failed-invocations-alarm`,
            "EventBridge is failing to put Azure-origin events into the consumer queue (retried, then dead-lettered to the target DLQ)",
            { namespace: "AWS/Events", metricName: "FailedInvocations", dimensions: { EventBusName: args.busName, RuleName: rule.name }, statistic: "Sum" },
            { topicArns: args.alarmTopicArns, tags: args.tags },
            this,
        );

        this.ruleArn = rule.arn;
        this.queueArn = queue.queue.arn;
        this.queueUrl = queue.queue.url;
        this.deadLetterQueueArn = deadLetters.queue.arn;
        this.deadLetterQueueUrl = deadLetters.queue.url;
        this.targetDeadLetterQueueArn = targetDeadLetters.queue.arn;
        this.targetDeadLetterQueueUrl = targetDeadLetters.queue.url;
        this.functionName = fn.name;
        this.idempotencyTableName = table.name;
        this.registerOutputs({
            ruleArn: this.ruleArn,
            queueUrl: this.queueUrl,
            deadLetterQueueUrl: this.deadLetterQueueUrl,
            targetDeadLetterQueueUrl: this.targetDeadLetterQueueUrl,
            functionName: this.functionName,
            idempotencyTableName: this.idempotencyTableName,
        });
    }
}

/**
 * The consumer's permissions. The event source mapping polls with the function's role
 * (ReceiveMessage, DeleteMessage, GetQueueAttributes: Lambda Developer Guide, "Using Lambda with
 * Amazon SQS", execution role permissions); the DynamoDB store writes with PutItem and UpdateItem
 * only (runtime/dynamodb-idempotency-store.ts: conditional writes, answers from
 * ReturnValuesOnConditionCheckFailure, never a read).
 */
export function consumerRolePolicy(queueArn: string, deadLetterQueueArn: string, tableArn: string, logGroupArn: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            { Sid: "ReceiveFromConsumerQueue", Effect: "Allow", Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], Resource: queueArn },
            { Sid: "DeadLetterPoison", Effect: "Allow", Action: "sqs:SendMessage", Resource: deadLetterQueueArn },
            { Sid: "IdempotencyRecords", Effect: "Allow", Action: ["dynamodb:PutItem", "dynamodb:UpdateItem"], Resource: tableArn },
            { Sid: "WriteOwnLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${logGroupArn}:*` },
        ],
    });
}

function validateIngressArgs(args: IngressConsumerArgs): void {
    const C = "IngressConsumer";
    if (!Array.isArray(args.sources) || args.sources.length === 0) fail(C, "sources", "must name at least one Azure-origin event source");
    if (typeof args.handler !== "function") fail(C, "handler", "must be the business handler function");
    requireInteger(C, "memoryMb", args.memoryMb, 128, 10240);
    requireInteger(C, "timeoutSeconds", args.timeoutSeconds, 1, 900);
    requireInteger(C, "batchSize", args.batchSize, 1, 10000);
    requireInteger(C, "batchWindowSeconds", args.batchWindowSeconds, 0, 300);
    // Lambda CreateEventSourceMapping: a BatchSize above 10 needs MaximumBatchingWindowInSeconds ≥ 1.
    if (args.batchSize > 10 && args.batchWindowSeconds < 1) fail(C, "batchWindowSeconds", `must be at least 1 when batchSize (${args.batchSize}) is above 10`);
    // SQS RedrivePolicy maxReceiveCount: 1..1000 (SQS API reference, SetQueueAttributes).
    requireInteger(C, "maxReceiveCount", args.maxReceiveCount, 1, 1000);
    requireInteger(C, "queueAgeAlarmSeconds", args.queueAgeAlarmSeconds, 1, 1209600);
    requireInteger(C, "dedupeWindowDays", args.dedupeWindowDays, 1, 3650);
    requireInteger(C, "maximumEventAgeSeconds", args.maximumEventAgeSeconds, 60, 86400);
    requireInteger(C, "maximumRetryAttempts", args.maximumRetryAttempts, 0, 185);
    requireInteger(C, "logRetentionDays", args.logRetentionDays, 1, 3653);
}
