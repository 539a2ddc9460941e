/**
 * `npm run redrive -- aws|azure [options]`: moves dead letters of the mesh back onto the event path.
 *
 *   aws     SQS dead-letter queue of the EventBridge target → PutEvents on the bus, then delete
 *   aws --replay FROM TO   StartReplay of the archive's events in [FROM, TO) to the mesh's rule
 *   azure   Service Bus `<queue>/$DeadLetterQueue` → send to the queue, then complete
 *   relay   the relay's on-failure destination (SQS; ranges of the outbox stream) → read the range
 *           again (stream, else PENDING outbox items) → PutEvents through the relay's code, then delete
 *   aws-consumer-target   Azure → AWS: the consumer rule's target DLQ (same shape as `aws`) → PutEvents, then delete
 *   aws-consumer   Azure → AWS: the consumer queue's DLQ → SendMessage to the consumer queue, then delete
 *   outbox  Azure → AWS: the PostgreSQL outbox's parked rows → list, or back to pending in one transaction
 *
 * Targets come from flags or from a stack's outputs (`--outputs out.json`, written by
 * `pulumi stack output --json > out.json`); flags win. Nothing is deleted or completed before its
 * resend succeeded; a repeated run may resend, and the consumer's idempotency absorbs that.
 */
import * as fs from "fs";
import { SQSClient } from "@aws-sdk/client-sqs";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { parseTime, redriveSqsDeadLetters, replayFromArchive, Print } from "./redrive/aws";
import { isoDurationMs, redriveServiceBusDeadLetters } from "./redrive/service-bus";
import { redriveRelayFailures } from "./redrive/relay";
import { redriveConsumerDeadLetters } from "./redrive/consumer-dlq";
import { listParkedRows, unparkOutboxRows, describeParked } from "./redrive/outbox-parked";

export class UsageError extends Error {}

export const USAGE = `usage:
  npm run redrive -- aws   [--outputs out.json] [--queue-url URL] [--bus-name NAME] [--region R] [--dry-run] [--max N] [--visibility-timeout S]
  npm run redrive -- aws   --replay FROM TO [--outputs out.json] [--archive-arn ARN] [--bus-arn ARN] [--rule-arn ARN | --api-destination-arn ARN] [--region R] [--dry-run] [--wait]
  npm run redrive -- azure [--outputs out.json] [--namespace FQDN] [--queue NAME] [--dry-run] [--max N] [--duplicate-detection-window MINUTES]
  npm run redrive -- relay [--outputs out.json] [--queue-url URL] [--table OUTBOX] [--bus-name NAME] [--region R] [--dry-run] [--max N] [--visibility-timeout S] [--pending-margin-minutes M] [--service-bus-tier Standard|Premium]
  npm run redrive -- aws-consumer-target [same options as aws; --queue-url from awsConsumerTargetDeadLetterQueueUrl]
  npm run redrive -- aws-consumer [--outputs out.json] [--queue-url DLQ_URL] [--source-queue-url URL] [--region R] [--dry-run] [--max N] [--visibility-timeout S] [--allow-reason REASON]...
  npm run redrive -- outbox [--outputs out.json] [--pg-host FQDN] [--pg-database DB] [--pg-user NAME] [--pg-port N] [--pg-table T] [--event-id ID]... [--reason CLASS]... [--allow-reason CLASS]... [--dry-run] [--max N]
    (outbox without --event-id / --reason lists the parked rows and changes nothing)
FROM and TO are ISO 8601 times (2026-11-27T08:00:00Z). --outputs reads \`pulumi stack output --json\`.
Credentials: the AWS SDK's default chain (AWS_*, profile, SSO); Azure DefaultAzureCredential (az login, ARM_*/AZURE_*, managed identity).`;

export const TARGETS = ["aws", "azure", "relay", "aws-consumer-target", "aws-consumer", "outbox"] as const;
export type RedriveTarget = (typeof TARGETS)[number];

export interface RedriveArgs {
    target: RedriveTarget;
    dryRun: boolean;
    max?: number;
    visibilityTimeoutSeconds?: number;
    replay?: { from: Date; to: Date };
    wait: boolean;
    region?: string;
    queueUrl?: string;
    busName?: string;
    busArn?: string;
    archiveArn?: string;
    ruleArn?: string;
    apiDestinationArn?: string;
    namespace?: string;
    queue?: string;
    /** The queue's duplicate detection window when it cannot be read from the namespace (needs Manage rights). */
    duplicateDetectionWindowMinutes?: number;
    /** relay: the outbox table (its stream, its PENDING items). */
    table?: string;
    /** relay: how far before a range's first arrival an event's own time may lie (PENDING fallback). */
    pendingMarginMinutes?: number;
    /** relay: the tier the relay is configured with (its size check). */
    serviceBusTier?: "Standard" | "Premium";
    /** aws-consumer: the consumer queue the dead letters go back to. */
    sourceQueueUrl?: string;
    /** aws-consumer, outbox: reasons (classes) the operator allows back although they were decided by the body. */
    allowReasons: string[];
    /** outbox: rows by event id. */
    eventIds: string[];
    /** outbox: rows by reason class. */
    reasonClasses: string[];
    pgHost?: string;
    pgDatabase?: string;
    /** outbox: the PostgreSQL role (default: the UPN in the Entra token). */
    pgUser?: string;
    pgPort?: number;
    pgTable?: string;
}

const VALUE_FLAGS: Record<string, keyof RedriveArgs> = {
    "--region": "region",
    "--queue-url": "queueUrl",
    "--bus-name": "busName",
    "--bus-arn": "busArn",
    "--archive-arn": "archiveArn",
    "--rule-arn": "ruleArn",
    "--api-destination-arn": "apiDestinationArn",
    "--namespace": "namespace",
    "--queue": "queue",
    "--table": "table",
    "--source-queue-url": "sourceQueueUrl",
    "--pg-host": "pgHost",
    "--pg-database": "pgDatabase",
    "--pg-user": "pgUser",
    "--pg-table": "pgTable",
};
/** Flags a target accepts beyond the common ones (--outputs, --dry-run, --max, --region). */
const ONLY_FOR: Record<string, readonly RedriveTarget[]> = {
    "--source-queue-url": ["aws-consumer"],
    "--allow-reason": ["aws-consumer", "outbox"],
    "--event-id": ["outbox"],
    "--reason": ["outbox"],
    "--pg-host": ["outbox"],
    "--pg-database": ["outbox"],
    "--pg-user": ["outbox"],
    "--pg-port": ["outbox"],
    "--pg-table": ["outbox"],
};

/** Stack outputs that fill in flags not given (names as in index.ts / MeshOutputs). */
const FROM_OUTPUTS: Array<[keyof RedriveArgs, string]> = [
    ["region", "awsRegion"],
    ["queueUrl", "awsDeadLetterQueueUrl"],
    ["busName", "busName"],
    ["busArn", "busArn"],
    ["archiveArn", "archiveArn"],
    ["apiDestinationArn", "apiDestinationArn"],
    ["namespace", "serviceBusNamespaceFqdn"],
    ["queue", "queueName"],
    ["table", "outboxTableName"],
];
/** The relay's queue is another output than the target's dead-letter queue. */
const RELAY_FROM_OUTPUTS: Array<[keyof RedriveArgs, string]> = FROM_OUTPUTS.map(([field, output]) => [field, field === "queueUrl" ? "relayFailureQueueUrl" : output]);
/** Azure → AWS: the consumer rule's target DLQ has the `aws` shape; only the queue differs. */
const CONSUMER_TARGET_FROM_OUTPUTS: Array<[keyof RedriveArgs, string]> = FROM_OUTPUTS.map(([field, output]) => [field, field === "queueUrl" ? "awsConsumerTargetDeadLetterQueueUrl" : output]);
const CONSUMER_FROM_OUTPUTS: Array<[keyof RedriveArgs, string]> = [
    ["region", "awsRegion"],
    ["queueUrl", "awsConsumerDeadLetterQueueUrl"],
    ["sourceQueueUrl", "awsConsumerQueueUrl"],
];
const OUTBOX_FROM_OUTPUTS: Array<[keyof RedriveArgs, string]> = [
    ["pgHost", "azureOutboxServerFqdn"],
    ["pgDatabase", "azureOutboxDatabaseName"],
];
const OUTPUTS_OF: Record<RedriveTarget, Array<[keyof RedriveArgs, string]>> = {
    aws: FROM_OUTPUTS,
    azure: FROM_OUTPUTS,
    relay: RELAY_FROM_OUTPUTS,
    "aws-consumer-target": CONSUMER_TARGET_FROM_OUTPUTS,
    "aws-consumer": CONSUMER_FROM_OUTPUTS,
    outbox: OUTBOX_FROM_OUTPUTS,
};

function positiveInteger(flag: string, value: string | undefined): number {
    const n = Number(value);
    if (!value || !Number.isInteger(n) || n < 1) throw new UsageError(`${flag} needs a positive integer, got ${JSON.stringify(value ?? "")}`);
    return n;
}

/** Reads the command line and, with `--outputs`, the stack outputs file; checks what the chosen path needs. */
export function parseRedriveArgs(argv: string[], readFile: (path: string) => string = (p) => fs.readFileSync(p, "utf8")): RedriveArgs {
    const [target, ...rest] = argv;
    if (!(TARGETS as readonly string[]).includes(target)) throw new UsageError(`the first argument is one of ${TARGETS.join(", ")}; got ${JSON.stringify(target ?? "")}`);
    const args: RedriveArgs = { target: target as RedriveTarget, dryRun: false, wait: false, allowReasons: [], eventIds: [], reasonClasses: [] };
    let outputsFile: string | undefined;
    for (let i = 0; i < rest.length; i++) {
        const flag = rest[i];
        if (ONLY_FOR[flag] && !ONLY_FOR[flag].includes(args.target)) throw new UsageError(`${flag} is for ${ONLY_FOR[flag].join(", ")}`);
        const listValue = () => {
            const value = rest[++i];
            if (!value || value.startsWith("--")) throw new UsageError(`${flag} needs a value`);
            return value;
        };
        if (flag === "--dry-run") args.dryRun = true;
        else if (flag === "--allow-reason") args.allowReasons.push(listValue());
        else if (flag === "--event-id") args.eventIds.push(listValue());
        else if (flag === "--reason") args.reasonClasses.push(listValue());
        else if (flag === "--pg-port") args.pgPort = positiveInteger(flag, rest[++i]);
        else if (flag === "--wait") args.wait = true;
        else if (flag === "--max") args.max = positiveInteger(flag, rest[++i]);
        else if (flag === "--visibility-timeout") args.visibilityTimeoutSeconds = positiveInteger(flag, rest[++i]);
        else if (flag === "--pending-margin-minutes") {
            if (target !== "relay") throw new UsageError("--pending-margin-minutes is for relay");
            args.pendingMarginMinutes = positiveInteger(flag, rest[++i]);
        } else if (flag === "--service-bus-tier") {
            const tier = rest[++i];
            if (target !== "relay") throw new UsageError("--service-bus-tier is for relay");
            if (tier !== "Standard" && tier !== "Premium") throw new UsageError(`--service-bus-tier is Standard or Premium, got ${JSON.stringify(tier ?? "")}`);
            args.serviceBusTier = tier;
        } else if (flag === "--duplicate-detection-window") {
            if (target !== "azure") throw new UsageError("--duplicate-detection-window is for azure (Service Bus)");
            const value = rest[++i];
            if (value === "0") args.duplicateDetectionWindowMinutes = 0;
            else args.duplicateDetectionWindowMinutes = positiveInteger(flag, value);
        }
        else if (flag === "--outputs") {
            outputsFile = rest[++i];
            if (!outputsFile) throw new UsageError("--outputs needs a file (pulumi stack output --json > out.json)");
        } else if (flag === "--replay") {
            if (target !== "aws") throw new UsageError("--replay is for aws (the EventBridge archive)");
            try {
                args.replay = { from: parseTime(rest[++i], "--replay FROM"), to: parseTime(rest[++i], "--replay TO") };
            } catch (error) {
                throw new UsageError((error as Error).message);
            }
        } else if (flag in VALUE_FLAGS) {
            const value = rest[++i];
            if (!value || value.startsWith("--")) throw new UsageError(`${flag} needs a value`);
            (args as unknown as Record<string, unknown>)[VALUE_FLAGS[flag]] = value;
        } else {
            throw new UsageError(`unknown argument ${JSON.stringify(flag)}`);
        }
    }
    if (outputsFile) {
        let outputs: Record<string, unknown>;
        try {
            outputs = JSON.parse(readFile(outputsFile));
        } catch (error) {
            throw new UsageError(`--outputs ${outputsFile}: cannot read it as JSON (${(error as Error).message})`);
        }
        if (outputs === null || typeof outputs !== "object" || Array.isArray(outputs)) throw new UsageError(`--outputs ${outputsFile}: expected the JSON object printed by pulumi stack output --json`);
        for (const [field, output] of OUTPUTS_OF[args.target]) {
            const value = outputs[output];
            if ((args as unknown as Record<string, unknown>)[field] === undefined && typeof value === "string" && value !== "[secret]") {
                (args as unknown as Record<string, unknown>)[field] = value;
            }
        }
    }
    const need = (field: keyof RedriveArgs, flag: string, output: string) => {
        if (args[field] === undefined) throw new UsageError(`missing ${flag} (or --outputs with ${output})`);
    };
    if (target === "aws" && args.replay) {
        need("archiveArn", "--archive-arn", "archiveArn");
        need("busArn", "--bus-arn", "busArn");
        if (!args.ruleArn && !args.apiDestinationArn) throw new UsageError("missing --rule-arn or --api-destination-arn (or --outputs with apiDestinationArn)");
    } else if (target === "aws") {
        need("queueUrl", "--queue-url", "awsDeadLetterQueueUrl");
        need("busName", "--bus-name", "busName");
    } else if (target === "aws-consumer-target") {
        need("queueUrl", "--queue-url", "awsConsumerTargetDeadLetterQueueUrl");
        need("busName", "--bus-name", "busName");
    } else if (target === "aws-consumer") {
        need("queueUrl", "--queue-url", "awsConsumerDeadLetterQueueUrl");
        need("sourceQueueUrl", "--source-queue-url", "awsConsumerQueueUrl");
    } else if (target === "outbox") {
        need("pgHost", "--pg-host", "azureOutboxServerFqdn");
        need("pgDatabase", "--pg-database", "azureOutboxDatabaseName");
    } else if (target === "relay") {
        need("queueUrl", "--queue-url", "relayFailureQueueUrl");
        need("table", "--table", "outboxTableName");
        need("busName", "--bus-name", "busName");
    } else {
        need("namespace", "--namespace", "serviceBusNamespaceFqdn");
        need("queue", "--queue", "queueName");
        if (!/^[A-Za-z0-9-]+\.servicebus\.(windows\.net|chinacloudapi\.cn|usgovcloudapi\.net)$/.test(args.namespace!)) {
            throw new UsageError(`--namespace must be the fully qualified namespace <name>.servicebus.windows.net, got ${JSON.stringify(args.namespace)}`);
        }
    }
    return args;
}

/** The AWS region: the flag/outputs, else the one in the queue URL or an ARN. */
function regionOf(args: RedriveArgs): string | undefined {
    if (args.region) return args.region;
    const fromUrl = args.queueUrl && /^https:\/\/sqs\.([a-z0-9-]+)\./.exec(args.queueUrl)?.[1];
    const fromArn = (args.archiveArn ?? args.busArn)?.split(":")[3];
    return fromUrl || fromArn || undefined;
}

export async function main(argv: string[], print: Print = (line) => console.log(line)): Promise<number> {
    let args: RedriveArgs;
    try {
        args = parseRedriveArgs(argv);
    } catch (error) {
        if (error instanceof UsageError) {
            console.error(`redrive: ${error.message}\n${USAGE}`);
            return 2;
        }
        throw error;
    }
    if (args.target === "relay") {
        const region = regionOf(args);
        const { DynamoDBClient } = await import("@aws-sdk/client-dynamodb");
        const { DynamoDBStreamsClient } = await import("@aws-sdk/client-dynamodb-streams");
        const summary = await redriveRelayFailures({
            sqs: new SQSClient({ region }),
            queueUrl: args.queueUrl!,
            streams: new DynamoDBStreamsClient({ region }),
            dynamodb: new DynamoDBClient({ region }),
            outboxTableName: args.table!,
            eventBridge: new EventBridgeClient({ region }),
            busName: args.busName!,
            dryRun: args.dryRun,
            max: args.max,
            visibilityTimeoutSeconds: args.visibilityTimeoutSeconds,
            pendingMarginMs: args.pendingMarginMinutes !== undefined ? args.pendingMarginMinutes * 60_000 : undefined,
            serviceBusTier: args.serviceBusTier,
            print,
        });
        return summary.kept > 0 || summary.unreadable > 0 ? 1 : 0;
    }
    if (args.target === "aws-consumer") {
        const sqs = new SQSClient({ region: regionOf(args) });
        try {
            const summary = await redriveConsumerDeadLetters({
                deadLetterSqs: sqs,
                deadLetterQueueUrl: args.queueUrl!,
                sourceSqs: sqs,
                sourceQueueUrl: args.sourceQueueUrl!,
                dryRun: args.dryRun,
                max: args.max,
                allowReasons: args.allowReasons,
                visibilityTimeoutSeconds: args.visibilityTimeoutSeconds,
                print,
            });
            return Object.keys(summary.refused).length > 0 || summary.sendFailed > 0 || summary.sentNotDeleted > 0 ? 1 : 0;
        } finally {
            sqs.destroy();
        }
    }
    if (args.target === "outbox") {
        // Loaded only for this path: the AWS paths need no Azure packages.
        const { entraPostgresPool } = await import("./redrive/entra-postgres");
        const pool = await entraPostgresPool({ host: args.pgHost!, port: args.pgPort, database: args.pgDatabase!, user: args.pgUser });
        try {
            const selection = { eventIds: args.eventIds, reasonClasses: args.reasonClasses };
            if (args.eventIds.length === 0 && args.reasonClasses.length === 0) {
                const rows = await listParkedRows(pool, { table: args.pgTable, max: args.max });
                print(`${args.pgHost}/${args.pgDatabase} ${args.pgTable ?? "mesh_outbox"}: ${rows.length}${args.max !== undefined && rows.length === args.max ? "+" : ""} parked row(s)`);
                for (const row of rows) print(`  ${describeParked(row)}`);
                if (rows.length > 0) print("return rows to pending with --event-id ID or --reason CLASS (add --dry-run to see the choice first)");
                return 0;
            }
            const client = await pool.connect();
            try {
                const summary = await unparkOutboxRows({ client, table: args.pgTable, selection, allowReasons: args.allowReasons, dryRun: args.dryRun, max: args.max, print });
                return summary.refusedBecause ? 1 : 0;
            } finally {
                client.release();
            }
        } finally {
            await pool.end();
        }
    }
    if (args.target === "aws" || args.target === "aws-consumer-target") {
        const region = regionOf(args);
        const eventBridge = new EventBridgeClient({ region });
        if (args.replay) {
            const result = await replayFromArchive({
                eventBridge,
                archiveArn: args.archiveArn!,
                busArn: args.busArn!,
                ruleArn: args.ruleArn,
                apiDestinationArn: args.apiDestinationArn,
                from: args.replay.from,
                to: args.replay.to,
                dryRun: args.dryRun,
                wait: args.wait,
                print,
            });
            return result.state === "FAILED" || result.state === "CANCELLED" ? 1 : 0;
        }
        const summary = await redriveSqsDeadLetters({
            sqs: new SQSClient({ region }),
            eventBridge,
            queueUrl: args.queueUrl!,
            busName: args.busName!,
            dryRun: args.dryRun,
            max: args.max,
            visibilityTimeoutSeconds: args.visibilityTimeoutSeconds,
            print,
        });
        return Object.keys(summary.failed).length > 0 || summary.republishedNotDeleted > 0 || summary.unreadable > 0 ? 1 : 0;
    }

    // Loaded only for this path: the AWS path needs no Azure packages.
    const { ServiceBusClient, ServiceBusAdministrationClient } = await import("@azure/service-bus");
    const { DefaultAzureCredential } = await import("@azure/identity");
    const credential = new DefaultAzureCredential();
    const client = new ServiceBusClient(args.namespace!, credential);
    const receiver = client.createReceiver(args.queue!, { subQueueType: "deadLetter", receiveMode: "peekLock", skipParsingBodyAsJson: true });
    const sender = client.createSender(args.queue!);
    const admin = new ServiceBusAdministrationClient(args.namespace!, credential);
    let windowMs = (args.duplicateDetectionWindowMinutes ?? 0) * 60_000;
    try {
        // Reading the queue needs Manage rights (Azure Service Bus Data Owner).
        const queue = await admin.getQueue(args.queue!);
        if (queue.requiresDuplicateDetection && queue.duplicateDetectionHistoryTimeWindow) {
            windowMs = Math.max(windowMs, isoDurationMs(queue.duplicateDetectionHistoryTimeWindow));
        }
    } catch (error) {
        const why = (error as Error).message.split("\n")[0];
        if (args.duplicateDetectionWindowMinutes === undefined) {
            // Guessing "off" could lose events: if it is on, the broker silently drops a resend with
            // the same MessageId, and completing the dead letter would then discard the only copy.
            print(
                `error: cannot read the queue's duplicate detection setting (${why}). Nothing was changed. ` +
                    "Pass --duplicate-detection-window MINUTES (0 if duplicate detection is off, as the mesh deploys it), or run with Azure Service Bus Data Owner on the queue.",
            );
            await Promise.allSettled([receiver.close(), sender.close(), client.close()]);
            return 2;
        }
        print(`note: cannot read the queue's duplicate detection setting (${why}); using --duplicate-detection-window ${args.duplicateDetectionWindowMinutes}`);
    }
    try {
        const summary = await redriveServiceBusDeadLetters({
            receiver,
            sender,
            queueLabel: `${args.namespace}/${args.queue}`,
            dryRun: args.dryRun,
            max: args.max,
            // Needs Manage rights (Azure Service Bus Data Owner); without them the count is unknown.
            duplicateDetectionWindowMs: windowMs,
            count: async () => (await admin.getQueueRuntimeProperties(args.queue!)).deadLetterMessageCount,
            print,
        });
        return summary.stoppedBecause || summary.resentNotCompleted > 0 || summary.tooRecent > 0 ? 1 : 0;
    } finally {
        await receiver.close();
        await sender.close();
        await client.close();
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (error: Error) => {
            console.error(`redrive failed: ${error.message}`);
            console.error("Nothing was deleted or completed unless its resend had succeeded; run again to continue (resent duplicates are absorbed by the consumer).");
            process.exit(1);
        },
    );
}
