import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import { CreateTableCommand, DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import IORedis from "ioredis";
import type Redis from "ioredis";
import { createConsumer, Settlement } from "../../runtime/consumer";
import type { DomainEvent } from "../../runtime/event";
import { createRedisIdempotencyStore, recordState } from "../../runtime/idempotency-store";
import { compareSequenceNumbers, createRelayHandler, DynamoDBStreamRecord } from "../../runtime/relay";
import { DynamoDbLocal, startDynamoDbLocal } from "../../tools/local-servers/dynamodb-local";
import { readStreamAsLambdaEvent } from "../../tools/local-servers/dynamodb-streams";
import { localConnections, LocalConnections } from "../../tools/local-servers/eventbridge-connections";
import { PutEventsEndpoint, startPutEventsEndpoint } from "../../tools/local-servers/put-events-endpoint";
import { connectRedis } from "../../tools/local-servers/redis-client";
import { RedisServer, startRedisServer } from "../../tools/local-servers/redis-server";
import { SqsEndpoint, startSqsEndpoint } from "../../tools/local-servers/sqs-endpoint";
import { formatVerdict } from "../../tools/smoke";
import { eventBridgeConnection, PeekReceiver, serviceBusPeeks, SmokePorts, sqsQueueDepth } from "../../tools/smoke/ports";
import { runSmoke, SMOKE_EVENT_TYPE, SmokeReport } from "../../tools/smoke/run";
import type { SmokeTargets } from "../../tools/smoke/targets";
import type { ResentMessage } from "../../tools/redrive/service-bus";
import { memoryLogger } from "../support/memory-logger";
import { InProcessServiceBusQueueModel } from "./redrive-service-bus-model";

const BUS = "mesh-dev-egress-bus";
const SOURCE = "com.example.orders";
const CONNECTION = "mesh-dev-egress-connection-1a2b3c4";
const MAX_DELIVERY_COUNT = 3;
const RELAY_RETRIES = 2;

/**
 * What stands between the outbox table and Redis in the cloud, run here in-process: the REAL relay
 * (runtime/relay.ts) fed from the table's DynamoDB Local stream the way the event source mapping
 * feeds it (failed records again, then to the on-failure queue after RELAY_RETRIES), the local
 * PutEvents endpoint as the bus, the API destination's POST of the EventBridge event (or, when
 * delivery is switched off, EventBridge's send to the SQS dead-letter queue), the Service Bus
 * queue MODEL with maxDeliveryCount, and the REAL consumer (runtime/consumer.ts) on redis-server.
 */
class LocalPath {
    relayRuns = true;
    delivery: "deliver" | "dead-letter" = "deliver";
    consumer: "run" | "stopped" | "handler-fails" | "handler-hangs" = "run";
    /** Domain events the business handler applied, counted by the handler itself (the oracle). */
    readonly applied: string[] = [];
    private readonly done = new Set<string>();
    private readonly relayAttempts = new Map<string, number>();
    private acceptedSeen = 0;
    private readonly deliveries = new Map<ResentMessage, number>();
    private stopped = false;
    private releaseHang: () => void = () => undefined;
    private readonly hang = new Promise<void>((resolve) => (this.releaseHang = resolve));
    private loop?: Promise<void>;

    constructor(
        private readonly streams: DynamoDBStreamsClient,
        private readonly streamArn: string,
        private readonly eventBridge: PutEventsEndpoint,
        private readonly awsDlq: SqsEndpoint,
        private readonly relayFailures: SqsEndpoint,
        readonly serviceBus: InProcessServiceBusQueueModel,
        private readonly redis: Redis,
    ) {}

    /** Started by the first smoke run, after the test has chosen the faults: a step already in flight
     *  when a fault is switched on would still run the healthy path (the relay read the new record). */
    start(): void {
        if (this.loop) return;
        this.loop = (async () => {
            while (!this.stopped) {
                await this.step();
                await new Promise((r) => setTimeout(r, 50));
            }
        })();
    }

    async stop(): Promise<void> {
        this.stopped = true;
        this.releaseHang();
        await this.loop;
    }

    private async step(): Promise<void> {
        if (this.relayRuns) await this.relayStep();
        for (const entry of this.eventBridge.accepted.slice(this.acceptedSeen)) {
            this.acceptedSeen++;
            // What EventBridge builds from the entry, and what the API destination POSTs.
            const envelope = {
                version: "0",
                id: randomUUID(),
                "detail-type": entry.DetailType,
                source: entry.Source,
                account: "123456789012",
                time: new Date((entry.Time ?? Date.now() / 1000) * 1000).toISOString().replace(/\.\d+Z$/, "Z"),
                region: "us-east-1",
                resources: entry.Resources ?? [],
                detail: JSON.parse(entry.Detail ?? "{}"),
            };
            if (this.delivery === "deliver") {
                await this.serviceBus.sender().sendMessages([{ body: Buffer.from(JSON.stringify(envelope)), messageId: envelope.id }]);
            } else {
                this.awsDlq.send(JSON.stringify(envelope), { ERROR_CODE: "SDK_CLIENT_ERROR", ERROR_MESSAGE: "Unable to invoke ApiDestination endpoint: 401 Unauthorized" });
            }
        }
        if (this.consumer !== "stopped") await this.consumeStep();
    }

    private async relayStep(): Promise<void> {
        const batch = await readStreamAsLambdaEvent(this.streams, this.streamArn);
        const fresh = batch.Records.filter((r) => !this.done.has(r.dynamodb!.SequenceNumber!));
        if (fresh.length === 0) return;
        const handler = createRelayHandler({ eventBridge: this.eventBridge.client(), eventBusName: BUS, logger: memoryLogger(), entryRetries: 0 });
        const response = await handler({ Records: fresh });
        const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
        const lowestFailed = [...failed].sort(compareSequenceNumbers)[0];
        for (const record of fresh) {
            const seq = record.dynamodb!.SequenceNumber!;
            if (lowestFailed === undefined || compareSequenceNumbers(seq, lowestFailed) < 0) {
                this.done.add(seq);
                continue;
            }
            const attempts = (this.relayAttempts.get(seq) ?? 0) + 1;
            this.relayAttempts.set(seq, attempts);
            if (attempts > RELAY_RETRIES) {
                // The event source mapping's on-failure destination gets the record's metadata.
                this.relayFailures.send(JSON.stringify(onFailureRecord(record, this.streamArn)));
                this.done.add(seq);
            }
        }
    }

    private async consumeStep(): Promise<void> {
        const consumer = createConsumer({
            store: createRedisIdempotencyStore(this.redis),
            logger: memoryLogger(),
            messageLockMs: 30_000,
            handler: async (event: DomainEvent) => {
                if (this.consumer === "handler-fails") throw new Error("business handler failed (test)");
                if (this.consumer === "handler-hangs") {
                    await this.hang;
                    throw new Error("handler released at the end of the test");
                }
                this.applied.push(event.metadata.event_id);
            },
        });
        for (const message of [...this.serviceBus.queue]) {
            const deliveryCount = (this.deliveries.get(message) ?? 0) + 1;
            this.deliveries.set(message, deliveryCount);
            const remove = () => this.serviceBus.queue.splice(this.serviceBus.queue.indexOf(message), 1);
            const settlement: Settlement = {
                complete: async () => void remove(),
                abandon: async () => {
                    // The broker dead-letters a message whose delivery count reaches maxDeliveryCount.
                    if (deliveryCount >= MAX_DELIVERY_COUNT) {
                        remove();
                        this.serviceBus.deadLetter({ ...message, deliveryCount }, "MaxDeliveryCountExceeded", `Message could not be consumed after ${MAX_DELIVERY_COUNT} delivery attempts.`);
                    }
                },
                deadLetter: async (reason, description) => {
                    remove();
                    this.serviceBus.deadLetter({ ...message, deliveryCount }, reason, description);
                },
            };
            await consumer.handle({ body: message.body, messageId: message.messageId, deliveryCount, lockedUntilUtc: new Date(Date.now() + 30_000) }, settlement);
        }
    }
}

function onFailureRecord(record: DynamoDBStreamRecord, streamArn: string) {
    const seq = record.dynamodb!.SequenceNumber!;
    return {
        requestContext: { condition: "RetryAttemptsExhausted", approximateInvokeCount: RELAY_RETRIES + 1 },
        DDBStreamBatchInfo: { shardId: "shard-1", startSequenceNumber: seq, endSequenceNumber: seq, streamArn, batchSize: 1 },
    };
}

describe("npm run smoke, end to end against local servers (relay and consumer real, in-process)", function () {
    this.timeout(60_000);
    let ddb: DynamoDbLocal;
    let redisServer: RedisServer;
    let redis: Redis;
    let eventBridge: PutEventsEndpoint;
    let awsDlq: SqsEndpoint;
    let relayFailures: SqsEndpoint;
    let dynamodb: DynamoDBClient;
    let streams: DynamoDBStreamsClient;
    let connections: LocalConnections;
    let table: string;
    let path: LocalPath;
    let serviceBus: InProcessServiceBusQueueModel;

    before(async () => {
        [ddb, redisServer, eventBridge, awsDlq, relayFailures] = await Promise.all([
            startDynamoDbLocal(),
            startRedisServer(),
            startPutEventsEndpoint(),
            startSqsEndpoint("mesh-dev-egress-dlq"),
            startSqsEndpoint("mesh-dev-relay-failures"),
        ]);
        redis = await connectRedis(redisServer);
        dynamodb = ddb.client();
        streams = ddb.streamsClient();
    });
    after(async () => {
        redis?.disconnect();
        dynamodb?.destroy();
        streams?.destroy();
        await Promise.all([ddb?.stop(), redisServer?.stop(), eventBridge?.stop(), awsDlq?.stop(), relayFailures?.stop()]);
    });

    beforeEach(async () => {
        eventBridge.reset();
        awsDlq.messages.length = 0;
        relayFailures.messages.length = 0;
        connections = localConnections();
        connections.set(CONNECTION, "AUTHORIZED");
        eventBridge.setOperation("DescribeConnection", connections.handler);
        table = `mesh-dev-outbox-${randomUUID().slice(0, 8)}`;
        const created = await dynamodb.send(
            new CreateTableCommand({
                TableName: table,
                AttributeDefinitions: [{ AttributeName: "event_id", AttributeType: "S" }],
                KeySchema: [{ AttributeName: "event_id", KeyType: "HASH" }],
                BillingMode: "PAY_PER_REQUEST",
                StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_IMAGE" },
            }),
        );
        serviceBus = new InProcessServiceBusQueueModel();
        path = new LocalPath(streams, created.TableDescription!.LatestStreamArn!, eventBridge, awsDlq, relayFailures, serviceBus, redis);
    });
    afterEach(async () => {
        await path.stop();
    });

    const targets = (overrides: Partial<SmokeTargets> = {}): SmokeTargets => ({
        region: "us-east-1",
        outboxTableName: table,
        source: SOURCE,
        connectionName: CONNECTION,
        awsDeadLetterQueueUrl: awsDlq.queueUrl,
        relayFailureQueueUrl: relayFailures.queueUrl,
        serviceBusNamespaceFqdn: "mesh-dev-abc.servicebus.windows.net",
        queueName: "mesh-events",
        redisHost: redisServer.host,
        redisPort: redisServer.port,
        keyPrefix: "mesh:idem:",
        timeoutMs: 15_000,
        pollMs: 100,
        ...overrides,
    });

    /** The command's adapters over the local clients: only the clients differ from tools/smoke.ts. */
    const ports = (): SmokePorts => {
        const sqsDlq = awsDlq.client();
        const sqsRelay = relayFailures.client();
        return {
            outbox: dynamodb,
            idempotency: { get: (key) => redis.get(key) },
            connection: eventBridgeConnection(eventBridge.client(), CONNECTION),
            awsDeadLetters: sqsQueueDepth(sqsDlq, awsDlq.queueUrl),
            relayFailures: sqsQueueDepth(sqsRelay, relayFailures.queueUrl),
            serviceBus: serviceBusPeeks((subQueue): PeekReceiver => {
                if (subQueue === "deadLetter") {
                    const receiver = serviceBus.receiver();
                    return { peekMessages: (max) => receiver.peekMessages(max), close: async () => undefined };
                }
                return { peekMessages: async (max) => serviceBus.queue.slice(0, max).map((m) => ({ ...m })), close: async () => undefined };
            }),
        };
    };

    const smoke = async (overrides: Partial<SmokeTargets> = {}) => {
        const printed: string[] = [];
        const progress: string[] = [];
        path.start();
        const report = await runSmoke(ports(), targets(overrides), { print: (l) => printed.push(l), progress: (l) => progress.push(l) });
        return { report, printed, progress, verdict: formatVerdict(report) };
    };
    const outboxItems = async () => (await dynamodb.send(new ScanCommand({ TableName: table }))).Items ?? [];
    const failedAt = (report: SmokeReport, hop: SmokeReport["hop"]) => {
        assert.equal(report.verdict, "FAIL", formatVerdict(report));
        assert.equal(report.hop, hop, formatVerdict(report));
    };

    it("PASS: the event goes outbox → relay → bus → queue → consumer, is applied once, both DLQs empty; latency printed", async () => {
        const { report, printed, progress, verdict } = await smoke();
        assert.equal(report.verdict, "PASS", verdict);
        assert.match(verdict, /^smoke: PASS: event [0-9a-f-]{36} went AWS → Azure and was applied \(its record reads done:\) in \d+\.\d\d s end to end$/);
        // Measured from outside the consumer: the handler's own count and Redis itself.
        assert.deepEqual(path.applied, [report.eventId]);
        assert.equal(recordState(await redis.get(`mesh:idem:${report.eventId}`)), "done");
        const items = await outboxItems();
        assert.equal(items.length, 1);
        assert.equal(JSON.parse(items[0].event.S!).metadata.type, SMOKE_EVENT_TYPE);
        assert.ok(report.latencyMs! > 0 && report.latencyMs! < 15_000);
        assert.ok(progress.some((l) => /^waiting for the consumer to apply [0-9a-f-]{36}: \d+\.\d s of 15 s/.test(l)), progress.join("\n"));
        assert.ok(printed.some((l) => l.includes("AUTHORIZED")));
        assert.ok(printed.some((l) => /DLQ .* empty/.test(l)));
    });

    it("FAIL at connection: a DEAUTHORIZED connection stops the run before anything is written", async () => {
        connections.set(CONNECTION, "DEAUTHORIZED", "Unable to authorize connection: invalid_client");
        const { report } = await smoke();
        failedAt(report, "connection");
        assert.match(report.reason!, /DEAUTHORIZED \(Unable to authorize connection: invalid_client\).*no event was written/);
        assert.equal((await outboxItems()).length, 0);
        // An unknown connection name is a connection failure too, named.
        const unknown = await runSmoke({ ...ports(), connection: eventBridgeConnection(eventBridge.client(), "no-such-connection") }, targets(), { print: () => undefined, progress: () => undefined });
        failedAt(unknown, "connection");
        assert.match(unknown.reason!, /ResourceNotFoundException/);
    });

    it("FAIL at outbox write: a table that does not exist", async () => {
        const { report } = await smoke({ outboxTableName: "mesh-dev-outbox-missing" });
        failedAt(report, "outbox write");
        assert.match(report.reason!, /writing event [0-9a-f-]{36} to mesh-dev-outbox-missing failed: .*ResourceNotFoundException/);
    });

    it("FAIL at relay/bus: PutEvents refuses, the relay gives up, its failure queue grows", async () => {
        eventBridge.setBehaviour(() => ({ kind: "error", status: 400, type: "AccessDeniedException", message: "not authorized to perform events:PutEvents" }));
        const { report } = await smoke({ timeoutMs: 5_000 });
        failedAt(report, "relay/bus");
        assert.match(report.reason!, /relay failure queue grew to 1 visible/);
        assert.deepEqual(path.applied, []);
    });

    it("FAIL at relay/bus: the relay never runs (no stream trigger): the event is only in the outbox", async () => {
        path.relayRuns = false;
        const { report } = await smoke({ timeoutMs: 5_000 });
        failedAt(report, "relay/bus");
        assert.match(report.reason!, /is in the outbox but reached neither Service Bus nor a dead-letter queue in 5 s/);
        assert.equal((await outboxItems()).length, 1);
    });

    it("FAIL at delivery: EventBridge sends the event to the SQS dead-letter queue instead of Service Bus", async () => {
        path.delivery = "dead-letter";
        const { report } = await smoke({ timeoutMs: 5_000 });
        failedAt(report, "delivery");
        assert.match(report.reason!, /SQS dead-letter queue grew to 1 visible/);
        assert.equal(serviceBus.queue.length, 0);
    });

    it("FAIL at consumer: the message waits in the queue and nobody takes it (triggers not synced)", async () => {
        path.consumer = "stopped";
        const { report } = await smoke({ timeoutMs: 5_000 });
        failedAt(report, "consumer");
        assert.match(report.reason!, /reached Service Bus queue mesh-events but no consumer took it/);
        assert.equal(serviceBus.queue.length, 1);
    });

    it("FAIL at consumer: the handler keeps failing and Service Bus dead-letters the event (found by peeking, before the timeout)", async () => {
        path.consumer = "handler-fails";
        const started = Date.now();
        const { report } = await smoke({ timeoutMs: 30_000 });
        failedAt(report, "consumer");
        assert.match(report.reason!, /dead-lettered by Service Bus: MaxDeliveryCountExceeded/);
        assert.ok(Date.now() - started < 20_000, "the dead letter ends the wait early");
    });

    it("FAIL at consumer: the handler hangs, the claim stays held and never turns done", async () => {
        path.consumer = "handler-hangs";
        const { report } = await smoke({ timeoutMs: 5_000 });
        failedAt(report, "consumer");
        assert.match(report.reason!, /has claimed [0-9a-f-]{36} but not completed it/);
        assert.equal(recordState(await redis.get(`mesh:idem:${report.eventId}`)), "held");
    });

    it("FAIL at consumer: Redis refuses the user (no access policy assignment), before anything is written", async () => {
        // The real server's own refusal: a user name it does not know, as Redis answers an object id without access.
        const stranger = new IORedis({ host: redisServer.host, port: redisServer.port, username: randomUUID(), password: "entra-token", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        stranger.on("error", () => undefined);
        const unreadable = { get: (key: string) => stranger.get(key) };
        const report = await runSmoke({ ...ports(), idempotency: unreadable }, targets(), { print: () => undefined, progress: () => undefined });
        stranger.disconnect();
        failedAt(report, "consumer");
        assert.match(report.reason!, /WRONGPASS.*access policy assignment.*no event was written/);
        assert.equal((await outboxItems()).length, 0);
    });

    it("FAIL at DLQ: the event is applied, but dead letters are waiting on either side", async () => {
        awsDlq.send(JSON.stringify({ detail: { metadata: { event_id: randomUUID() } } }), { ERROR_CODE: "SDK_CLIENT_ERROR" });
        const { report: aws } = await smoke();
        failedAt(aws, "DLQ");
        assert.match(aws.reason!, /was applied, but SQS dead-letter queue holds 1 visible, 0 in flight/);
        assert.deepEqual(path.applied, [aws.eventId]);

        awsDlq.messages.length = 0;
        serviceBus.deadLetter({ body: Buffer.from("{}"), messageId: "m-1" }, "EventValidationFailed", "MissingField: metadata.event_id");
        const { report: azure } = await smoke();
        failedAt(azure, "DLQ");
        assert.match(azure.reason!, /mesh-events\/\$DeadLetterQueue holds 1 message\(s\), first: EventValidationFailed: MissingField: metadata.event_id \(message m-1\)/);
    });
});
