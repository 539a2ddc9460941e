/**
 * `npm run smoke -- --stack <s>`: proves a deployed stack end to end with one event per direction (USAGE in
 * tools/smoke/targets.ts says what it does and what it needs; docs/smoke.md says more).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SQSClient } from "@aws-sdk/client-sqs";
import { CONSUMER_REDIS_OPTIONS } from "../runtime/idempotency-store";
import { REDIS_TOKEN_SCOPE } from "../runtime/functions-host";
import { eventBridgeConnection, objectIdOfToken, serviceBusPeeks, SmokePorts, sqsQueueDepth } from "./smoke/ports";
import { runSmoke, SmokeOptions, SmokeReport } from "./smoke/run";
import { runReverseSmoke, ReverseSmokeReport } from "./smoke/reverse";
import { dynamoRecords, ReverseSmokePorts, sqsDeadLetterQueue } from "./smoke/reverse-ports";
import { parseSmokeArgs, ReverseSmokeTargets, SmokeArgs, SmokeTargets, UsageError, USAGE } from "./smoke/targets";

export function formatVerdict(report: SmokeReport): string {
    if (report.verdict === "PASS") {
        return `smoke: PASS: event ${report.eventId} went AWS → Azure and was applied (its record reads done:) in ${((report.latencyMs ?? 0) / 1000).toFixed(2)} s end to end`;
    }
    return `smoke: FAIL at ${report.hop}: ${report.reason}`;
}

export function formatReverseVerdict(report: ReverseSmokeReport): string {
    if (report.verdict === "PASS") {
        return `smoke: PASS: event ${report.eventId} went Azure → AWS and was applied (its DynamoDB record reads done) in ${((report.latencyMs ?? 0) / 1000).toFixed(2)} s end to end`;
    }
    return `smoke: FAIL (Azure → AWS) at ${report.hop}: ${report.reason}`;
}

/** The Azure → AWS clients: the outbox database as the user (Entra token), DynamoDB and SQS with the AWS default chain. */
async function reversePorts(targets: ReverseSmokeTargets): Promise<{ ports: ReverseSmokePorts; close(): Promise<void> }> {
    const { entraPostgresPool } = await import("./redrive/entra-postgres");
    const pool = await entraPostgresPool({ host: targets.pgHost, port: targets.pgPort, database: targets.pgDatabase, user: targets.pgUser });
    const dynamodb = new DynamoDBClient({ region: targets.region });
    const sqs = new SQSClient({ region: targets.region });
    return {
        ports: {
            outbox: pool,
            idempotency: dynamoRecords(dynamodb, targets.idempotencyTableName),
            consumerQueue: sqsQueueDepth(sqs, targets.consumerQueueUrl),
            consumerDeadLetters: sqsDeadLetterQueue(sqs, targets.consumerDeadLetterQueueUrl),
            targetDeadLetters: sqsDeadLetterQueue(sqs, targets.targetDeadLetterQueueUrl),
        },
        close: async () => {
            await pool.end();
            dynamodb.destroy();
            sqs.destroy();
        },
    };
}

/** The real clients, each reached with the user's own credentials. */
async function cloudPorts(targets: SmokeTargets): Promise<{ ports: SmokePorts; close(): Promise<void> }> {
    const { DefaultAzureCredential } = await import("@azure/identity");
    const { ServiceBusClient } = await import("@azure/service-bus");
    const { default: Redis } = await import("ioredis");
    const credential = new DefaultAzureCredential();
    const region = targets.region;
    const dynamodb = new DynamoDBClient({ region });
    const sqs = new SQSClient({ region });
    const eventBridge = new EventBridgeClient({ region });
    const serviceBus = new ServiceBusClient(targets.serviceBusNamespaceFqdn, credential);

    // Azure Managed Redis with Entra ID: AUTH <object id> <access token for REDIS_TOKEN_SCOPE>, over TLS
    // only (learn.microsoft.com/azure/redis/entra-for-authentication: "User = object ID of the
    // managed identity or service principal", and the same for a user added under Authentication).
    let token: { token: string } | null;
    try {
        token = await credential.getToken(REDIS_TOKEN_SCOPE);
    } catch (error) {
        throw new Error(`cannot get an Entra token for ${REDIS_TOKEN_SCOPE} with DefaultAzureCredential (az login?): ${(error as Error).message.split("\n")[0]}`);
    }
    if (!token) throw new Error(`DefaultAzureCredential returned no token for ${REDIS_TOKEN_SCOPE}; run az login`);
    const username = targets.redisUsername ?? objectIdOfToken(token.token);
    const redis = new Redis({
        host: targets.redisHost,
        port: targets.redisPort,
        tls: { servername: targets.redisHost },
        username,
        password: token.token,
        ...CONSUMER_REDIS_OPTIONS,
        lazyConnect: true,
        enableOfflineQueue: true,
        // A few quick reconnects ride out a dropped connection during the wait; a refused AUTH fails fast.
        retryStrategy: (times: number) => (times > 3 ? null : 500),
    });
    redis.on("error", () => {
        /* surfaced by the commands that fail */
    });

    const ports: SmokePorts = {
        outbox: dynamodb,
        idempotency: { get: (key) => redis.get(key) },
        connection: eventBridgeConnection(eventBridge, targets.connectionName),
        awsDeadLetters: sqsQueueDepth(sqs, targets.awsDeadLetterQueueUrl),
        relayFailures: targets.relayFailureQueueUrl ? sqsQueueDepth(sqs, targets.relayFailureQueueUrl) : undefined,
        serviceBus: serviceBusPeeks((subQueue) =>
            serviceBus.createReceiver(targets.queueName, { receiveMode: "peekLock", skipParsingBodyAsJson: true, ...(subQueue ? { subQueueType: subQueue } : {}) }),
        ),
    };
    return {
        ports,
        close: async () => {
            redis.disconnect();
            dynamodb.destroy();
            sqs.destroy();
            eventBridge.destroy();
            await serviceBus.close();
        },
    };
}

export async function main(argv: string[]): Promise<number> {
    if (argv.includes("--help") || argv.includes("-h")) {
        console.log(USAGE);
        return 0;
    }
    let args: SmokeArgs;
    try {
        args = parseSmokeArgs(argv, {
            readFile: (p) => fs.readFileSync(p, "utf8"),
            runPulumi: (args) => {
                const r = spawnSync("pulumi", args, { encoding: "utf8" });
                return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", error: r.error };
            },
        });
    } catch (error) {
        if (error instanceof UsageError) {
            console.error(`smoke: ${error.message}\n\n${USAGE}`);
            return 2;
        }
        throw error;
    }
    let lastLineAt = 0;
    const options: SmokeOptions = {
        print: (line) => console.log(line),
        progress: (line) => {
            if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${line}`);
            // Not a terminal (CI log): one line every 10 s is progress enough.
            else if (line && Date.now() - lastLineAt >= 10_000) {
                lastLineAt = Date.now();
                process.stderr.write(`${line}\n`);
            }
        },
    };
    for (const skipped of args.skipped) console.log(`skipped      ${skipped}`);
    let passed = true;
    if (args.targets) {
        console.log("── AWS → Azure");
        passed = (await runForward(args.targets, options)) && passed;
    }
    if (args.reverse) {
        console.log("── Azure → AWS");
        // One direction's failure to connect does not hide the other's verdict.
        try {
            const { ports, close } = await reversePorts(args.reverse);
            try {
                const report = await runReverseSmoke(ports, args.reverse, options);
                console.log(formatReverseVerdict(report));
                passed = report.verdict === "PASS" && passed;
            } finally {
                await close();
            }
        } catch (error) {
            console.log(`smoke: FAIL (Azure → AWS) before the first hop: ${(error as Error).message}`);
            passed = false;
        }
    }
    return passed ? 0 : 1;
}

async function runForward(targets: SmokeTargets, options: SmokeOptions): Promise<boolean> {
    try {
        const { ports, close } = await cloudPorts(targets);
        try {
            const report = await runSmoke(ports, targets, options);
            console.log(formatVerdict(report));
            return report.verdict === "PASS";
        } finally {
            await close();
        }
    } catch (error) {
        console.log(`smoke: FAIL (AWS → Azure) before the first hop: ${(error as Error).message}`);
        return false;
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (error: Error) => {
            console.error(`smoke: FAIL before the first hop: ${error.message}`);
            process.exit(1);
        },
    );
}
