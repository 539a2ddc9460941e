import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { alarmAbove, AlarmMetric } from "./alarms";
import { fail, requireInteger } from "../validate";
import type { MeshConfig } from "../config";

type RelaySettings = MeshConfig["relay"];
import * as relayLambda from "../../runtime/relay-lambda";
import { OUTBOX_STATUS_ATTRIBUTE, OUTBOX_STATUS_PENDING } from "../../runtime/outbox-schema";

/** The only npm packages the relay loads at run time; every other dependency stays out of its archive. */
export const RELAY_RUNTIME_PACKAGES: readonly string[] = ["@aws-sdk/client-eventbridge"];

/** The function and mapping settings (memory, timeout, batching, retries, record age, alarm), as in the stack config. */
export interface OutboxRelayArgs extends RelaySettings {
    /** ARN of the outbox table's stream (NEW_IMAGE). */
    streamArn: pulumi.Input<string>;
    /** ARN of the outbox table, to scope `dynamodb:ListStreams` to its streams. */
    tableArn: pulumi.Input<string>;
    /** Name of the EventBridge bus the relay publishes to. */
    busName: pulumi.Input<string>;
    /** Tier of the Service Bus namespace behind the bus: the relay holds back events too large for it. */
    serviceBusTier: "Standard" | "Premium";
    /** ARN of that bus: the only resource the relay may `events:PutEvents` to. */
    busArn: pulumi.Input<string>;
    /** EventBridge `source` values of AWS-origin events: the only ones the relay may put (events:source condition). */
    sources: string[];
    /** SNS topics the relay's alarms notify. */
    alarmTopicArns: pulumi.Input<pulumi.Input<string>[]>;
    /** Protect the failure queue from deletion (it points at records not yet published). */
    deletionProtection: boolean;
    /** Days the relay's logs are kept. */
    logRetentionDays: number;
    /** Tags on every taggable resource of this component. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** Packages in package.json `dependencies` that the relay never loads: excluded from its archive. */
export function relayExcludedPackages(packageJsonPath = path.join(process.cwd(), "package.json")): string[] {
    const pkg = JSON.parse(fs.readFileSync(packageJsonPath, "utf8")) as { dependencies?: Record<string, string> };
    return Object.keys(pkg.dependencies ?? {}).filter((name) => !RELAY_RUNTIME_PACKAGES.includes(name));
}

/** The event source mapping's filter: only inserts of pending outbox items invoke the relay. */
export function pendingInsertFilterPattern(): string {
    return JSON.stringify({
        eventName: ["INSERT"],
        dynamodb: { NewImage: { [OUTBOX_STATUS_ATTRIBUTE]: { S: [OUTBOX_STATUS_PENDING] } } },
    });
}

/**
 * The relay Lambda: reads the outbox table's stream and publishes each pending event to the bus
 * (runtime/relay.ts), packaged by Pulumi as a closure. Its role may read that stream, put events on
 * that bus, send to its failure queue and write its log group, nothing else. The mapping reports
 * per-record failures (ReportBatchItemFailures), bisects failing batches, retries a finite number
 * of times and then parks the records in an alarmed SQS queue, so no outbox event is dropped.
 */
export class OutboxRelay extends pulumi.ComponentResource {
    public readonly functionName: pulumi.Output<string>;
    public readonly functionArn: pulumi.Output<string>;
    public readonly roleArn: pulumi.Output<string>;
    public readonly failureQueueArn: pulumi.Output<string>;
    public readonly failureQueueUrl: pulumi.Output<string>;
    public readonly eventSourceMappingId: pulumi.Output<string>;

    constructor(name: string, args: OutboxRelayArgs, opts?: pulumi.ComponentResourceOptions) {
        super("multicloud-mesh:aws:OutboxRelay", name, {}, opts);
        validateRelayArgs(args);

        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-logs`,
            { retentionInDays: args.logRetentionDays, tags: args.tags },
            { parent: this },
        );

        const failureQueue = new aws.sqs.Queue(
            `${name}-failures`,
            { messageRetentionSeconds: 14 * 24 * 3600, sqsManagedSseEnabled: true, tags: args.tags },
            { parent: this, protect: args.deletionProtection },
        );

        const role = new aws.iam.Role(
            `${name}-role`,
            {
                description: "Outbox relay: read the outbox stream, put events on the mesh bus, park failures, write logs",
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
                    .all([args.streamArn, args.tableArn, args.busArn, failureQueue.arn, logGroup.arn])
                    .apply(([streamArn, tableArn, busArn, queueArn, logGroupArn]) =>
                        JSON.stringify({
                            Version: "2012-10-17",
                            Statement: [
                                {
                                    Sid: "ReadOutboxStream",
                                    Effect: "Allow",
                                    Action: ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
                                    Resource: streamArn,
                                },
                                { Sid: "ListOutboxStreams", Effect: "Allow", Action: "dynamodb:ListStreams", Resource: `${tableArn}/stream/*` },
                                // PutEvents supports the events:source condition key; several values grant any one of them
                                // (Service Authorization Reference, "Actions, resources, and condition keys for Amazon
                                // EventBridge", PutEvents; EventBridge User Guide, "Using IAM policy conditions in Amazon
                                // EventBridge"). An outbox row with another source fails loudly (retried, then parked with
                                // an alarm) instead of landing on the bus, where an Azure-origin source would reach the AWS consumer.
                                { Sid: "PublishToMeshBus", Effect: "Allow", Action: "events:PutEvents", Resource: busArn, Condition: { StringEquals: { "events:source": [...args.sources] } } },
                                { Sid: "ParkFailedRecords", Effect: "Allow", Action: "sqs:SendMessage", Resource: queueArn },
                                {
                                    Sid: "WriteOwnLogs",
                                    Effect: "Allow",
                                    Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                                    Resource: `${logGroupArn}:*`,
                                },
                            ],
                        }),
                    ),
            },
            { parent: this },
        );

        const fn = new aws.lambda.CallbackFunction(
            `${name}-function`,
            {
                description: "Outbox relay: DynamoDB stream of the outbox table -> EventBridge PutEvents",
                role,
                runtime: aws.lambda.Runtime.NodeJS22dX,
                architectures: ["arm64"],
                memorySize: args.memoryMb,
                timeout: args.timeoutSeconds,
                environment: { variables: { MESH_EVENT_BUS_NAME: args.busName, MESH_SERVICE_BUS_TIER: args.serviceBusTier } },
                loggingConfig: { logFormat: "JSON", logGroup: logGroup.name, applicationLogLevel: "INFO", systemLogLevel: "WARN" },
                // Runs once per cold start; the returned handler serves every invocation of the container.
                callbackFactory: () => {
                    const eventBusName = process.env.MESH_EVENT_BUS_NAME;
                    if (!eventBusName) {
                        throw new Error("outbox relay: MESH_EVENT_BUS_NAME is not set; the function's environment is misconfigured");
                    }
                    // Unset means Standard, the smaller limit; an unknown value stops the relay, named.
                    const serviceBusTier = process.env.MESH_SERVICE_BUS_TIER as relayLambda.RelayLambdaConfig["serviceBusTier"];
                    return relayLambda.createRelayLambdaHandler({ eventBusName, serviceBusTier });
                },
                codePathOptions: { extraExcludePackages: relayExcludedPackages() },
                tags: args.tags,
            },
            // The role's permissions must exist before the mapping starts invoking the function.
            { parent: this, dependsOn: [policy] },
        );

        const mapping = new aws.lambda.EventSourceMapping(
            `${name}-mapping`,
            {
                eventSourceArn: args.streamArn,
                functionName: fn.arn,
                startingPosition: "TRIM_HORIZON",
                batchSize: args.batchSize,
                maximumBatchingWindowInSeconds: args.batchWindowSeconds,
                bisectBatchOnFunctionError: true,
                functionResponseTypes: ["ReportBatchItemFailures"],
                maximumRetryAttempts: args.maximumRetryAttempts,
                maximumRecordAgeInSeconds: args.maximumRecordAgeSeconds,
                destinationConfig: { onFailure: { destinationArn: failureQueue.arn } },
                filterCriteria: { filters: [{ pattern: pendingInsertFilterPattern() }] },
                tags: args.tags,
            },
            { parent: this, dependsOn: [policy] },
        );

        const alarm = (role: string, description: string, metric: AlarmMetric) =>
            alarmAbove(`${name}-${role}`, description, metric, { topicArns: args.alarmTopicArns, tags: args.tags }, this);

        alarm("errors-alarm", "The outbox relay failed invocations: its records are being retried and will reach the failure queue if it keeps failing", {
            namespace: "AWS/Lambda",
            metricName: "Errors",
            dimensions: { FunctionName: fn.name },
            statistic: "Sum",
        });
        alarm("iterator-age-alarm", `The outbox stream is falling behind: the oldest unrelayed record is older than ${args.iteratorAgeAlarmSeconds} s`, {
            namespace: "AWS/Lambda",
            metricName: "IteratorAge",
            dimensions: { FunctionName: fn.name },
            statistic: "Maximum",
            threshold: args.iteratorAgeAlarmSeconds * 1000,
        });
        alarm("failures-depth-alarm", "Outbox records the relay gave up on: each message names a stream range; republish those records within 24 h of their creation (the stream trims them then; the items stay PENDING in the outbox table until their TTL)", {
            namespace: "AWS/SQS",
            metricName: "ApproximateNumberOfMessagesVisible",
            dimensions: { QueueName: failureQueue.name },
            statistic: "Maximum",
        });

        this.functionName = fn.name;
        this.functionArn = fn.arn;
        this.roleArn = role.arn;
        this.failureQueueArn = failureQueue.arn;
        this.failureQueueUrl = failureQueue.url;
        this.eventSourceMappingId = mapping.id;
        this.registerOutputs({
            functionName: this.functionName,
            functionArn: this.functionArn,
            roleArn: this.roleArn,
            failureQueueArn: this.failureQueueArn,
            failureQueueUrl: this.failureQueueUrl,
        });
    }
}

function validateRelayArgs(args: OutboxRelayArgs): void {
    const C = "OutboxRelay";
    requireInteger(C, "memoryMb", args.memoryMb, 128, 10240);
    requireInteger(C, "timeoutSeconds", args.timeoutSeconds, 1, 900);
    requireInteger(C, "batchSize", args.batchSize, 1, 10000);
    requireInteger(C, "batchWindowSeconds", args.batchWindowSeconds, 0, 300);
    requireInteger(C, "maximumRetryAttempts", args.maximumRetryAttempts, 0, 10000);
    requireInteger(C, "maximumRecordAgeSeconds", args.maximumRecordAgeSeconds, 60, 72000);
    requireInteger(C, "iteratorAgeAlarmSeconds", args.iteratorAgeAlarmSeconds, 1, 604800);
    if (args.serviceBusTier !== "Standard" && args.serviceBusTier !== "Premium") {
        throw new Error(`${C}: args.serviceBusTier must be Standard or Premium, got ${JSON.stringify(args.serviceBusTier)}`);
    }
    requireInteger(C, "logRetentionDays", args.logRetentionDays, 1, 3653);
    if (!Array.isArray(args.sources) || args.sources.length === 0 || args.sources.some((s) => typeof s !== "string" || s === "")) {
        fail(C, "sources", "must name at least one event source (the relay's PutEvents is limited to them)");
    }
}
