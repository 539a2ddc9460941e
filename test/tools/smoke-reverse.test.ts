import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { Pool } from "pg";
import type { DomainEvent } from "../../runtime/event";
import { idempotencyTableDefinition } from "../../runtime/dynamodb-idempotency-store";
import { createPostgresOutboxRelay } from "../../runtime/postgres-outbox/relay";
import { ensureOutboxSchema } from "../../runtime/postgres-outbox/schema";
import { createSqsConsumer } from "../../runtime/sqs-consumer-lambda";
import type { SqsRecord } from "../../runtime/sqs-consumer";
import { DynamoDbLocal, startDynamoDbLocal } from "../../tools/local-servers/dynamodb-local";
import { PutEventsEndpoint, startPutEventsEndpoint } from "../../tools/local-servers/put-events-endpoint";
import { PostgresServer, startPostgres } from "../../tools/local-servers/postgres";
import { SqsEndpoint, startSqsEndpoint } from "../../tools/local-servers/sqs-endpoint";
import { formatReverseVerdict } from "../../tools/smoke";
import { dynamoRecords, sqsDeadLetterQueue } from "../../tools/smoke/reverse-ports";
import { runReverseSmoke, ReverseSmokeReport } from "../../tools/smoke/reverse";
import { sqsQueueDepth } from "../../tools/smoke/ports";
import type { ReverseSmokeTargets } from "../../tools/smoke/targets";
import { memoryLogger } from "../support/memory-logger";

const BUS = "mesh-dev-egress-bus";
const AZURE_SOURCE = "com.example.azure.orders";
const MAX_RECEIVE_COUNT = 2;

/**
 * What stands between the PostgreSQL outbox and the DynamoDB record in the cloud, run here
 * in-process: the REAL relay core (runtime/postgres-outbox/relay.ts) on PostgreSQL 15 publishing to
 * the local PutEvents endpoint; a MODEL of the consumer rule (pattern `{source: [azure sources]}`)
 * and its SQS target (the EventBridge event as the message body, or, when delivery is broken, the
 * event in the target's DLQ with ERROR_CODE / ERROR_MESSAGE); a MODEL of Lambda's SQS event source
 * mapping and of the queue's redrive policy (receive, invoke, delete what is not in
 * batchItemFailures; after MAX_RECEIVE_COUNT receives the message moves to the DLQ without a
 * reason); and the REAL SQS consumer host (runtime/sqs-consumer*.ts) with its DynamoDB Local store.
 */
class LocalReversePath {
    relayRuns = true;
    ruleSources = [AZURE_SOURCE];
    delivery: "deliver" | "dead-letter" = "deliver";
    consumer: "run" | "stopped" | "handler-fails" | "handler-hangs" = "run";
    /** Events the business handler applied, counted by the handler (the oracle of the oracle). */
    readonly applied: string[] = [];
    private seen = 0;
    private stopped = false;
    private releaseHang: () => void = () => undefined;
    private readonly hang = new Promise<void>((resolve) => (this.releaseHang = resolve));
    private loop?: Promise<void>;

    constructor(
        private readonly pool: Pool,
        private readonly events: PutEventsEndpoint,
        private readonly queue: SqsEndpoint,
        private readonly queueClient: SQSClient,
        private readonly dlq: SqsEndpoint,
        private readonly dlqClient: SQSClient,
        private readonly targetDlq: SqsEndpoint,
        private readonly dynamo: DynamoDBClient,
        private readonly tableName: string,
    ) {}

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
        if (this.relayRuns) {
            await createPostgresOutboxRelay({ db: this.pool, eventBridge: this.events.client(), eventBusName: BUS, logger: memoryLogger(), entryRetries: 0, maxEntryFailures: 1 }).drain({
                budgetMs: 1_000,
            });
        }
        for (const entry of this.events.accepted.slice(this.seen)) {
            this.seen++;
            if (entry.EventBusName !== BUS || !this.ruleSources.includes(entry.Source ?? "")) continue;
            // The event EventBridge builds from the entry; an SQS target receives it as the message body.
            const envelope = {
                version: "0",
                id: randomUUID(),
                "detail-type": entry.DetailType,
                source: entry.Source,
                account: "123456789012",
                time: new Date((entry.Time ?? Date.now() / 1000) * 1000).toISOString().replace(/\.\d+Z$/, "Z"),
                region: "eu-west-1",
                resources: entry.Resources ?? [],
                detail: JSON.parse(entry.Detail ?? "{}"),
            };
            if (this.delivery === "deliver") this.queue.send(JSON.stringify(envelope));
            else this.targetDlq.send(JSON.stringify(envelope), { ERROR_CODE: "NO_PERMISSIONS", ERROR_MESSAGE: "EventBridge is not allowed to send to the queue" });
        }
        if (this.consumer !== "stopped") await this.poll();
    }

    /** One poll of the modelled event source mapping, with the queue's redrive policy. */
    private async poll(): Promise<void> {
        const received = await this.queueClient.send(
            new ReceiveMessageCommand({ QueueUrl: this.queue.queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 1, MessageSystemAttributeNames: ["ApproximateReceiveCount"] }),
        );
        const messages = received.Messages ?? [];
        if (messages.length === 0) return;
        const remove = async (list: typeof messages) =>
            list.length > 0 &&
            this.queueClient.send(new DeleteMessageBatchCommand({ QueueUrl: this.queue.queueUrl, Entries: list.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
        // SQS moves a message received more than maxReceiveCount times to the DLQ, keeping no reason.
        const exhausted = messages.filter((m) => Number(m.Attributes?.ApproximateReceiveCount) > MAX_RECEIVE_COUNT);
        for (const m of exhausted) this.dlq.send(m.Body!);
        await remove(exhausted);
        const live = messages.filter((m) => !exhausted.includes(m));
        const handler = createSqsConsumer(
            {
                tableName: this.tableName,
                deadLetterQueueUrl: this.dlq.queueUrl,
                visibilityTimeoutSeconds: 180,
                functionTimeoutSeconds: 30,
                batchWindowSeconds: 0,
                dedupeWindowDays: 28,
                handler: async (event: DomainEvent) => {
                    if (this.consumer === "handler-fails") throw new Error("business handler failed (test)");
                    if (this.consumer === "handler-hangs") await this.hang;
                    this.applied.push(event.metadata.event_id);
                },
            },
            { dynamoDb: this.dynamo, sqs: this.dlqClient, logger: memoryLogger() },
        );
        const records: SqsRecord[] = live.map((m) => ({ messageId: m.MessageId!, body: m.Body!, attributes: { ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount } }));
        const invocation = handler({ Records: records }, { getRemainingTimeInMillis: () => 30_000 }).then(async (response) => {
            const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
            await remove(live.filter((m) => !failed.has(m.MessageId!)));
        });
        // A hanging handler holds its invocation; the poller goes on (as other concurrent invocations would).
        if (this.consumer !== "handler-hangs") await invocation;
        else void invocation.catch(() => undefined);
    }
}

describe("npm run smoke, Azure → AWS, offline (PostgreSQL 15, real relay, DynamoDB Local, local SQS; models of the rule/SQS target and the Lambda poller)", function () {
    this.timeout(60_000);
    let pg: PostgresServer;
    let pool: Pool;
    let ddb: DynamoDbLocal;
    let dynamo: DynamoDBClient;
    let events: PutEventsEndpoint;
    let queue: SqsEndpoint;
    let dlq: SqsEndpoint;
    let targetDlq: SqsEndpoint;
    let clients: SQSClient[];
    let tableName: string;
    let path: LocalReversePath;

    before(async function () {
        this.timeout(180_000);
        [pg, ddb, events] = await Promise.all([startPostgres(), startDynamoDbLocal(), startPutEventsEndpoint()]);
        await pg.createDatabase("shop");
        pool = new Pool({ ...pg.superuserConfig("shop"), max: 6 });
        const c = await pool.connect();
        await ensureOutboxSchema(c);
        c.release();
        dynamo = ddb.client();
        tableName = `idem-${randomUUID()}`;
        await dynamo.send(new CreateTableCommand(idempotencyTableDefinition(tableName)));
    });
    after(async () => {
        await pool?.end();
        dynamo?.destroy();
        await Promise.all([pg?.stop(), ddb?.stop(), events?.stop()]);
    });
    beforeEach(async () => {
        [queue, dlq, targetDlq] = await Promise.all([startSqsEndpoint("mesh-dev-aws-consumer-queue"), startSqsEndpoint("mesh-dev-aws-consumer-dlq"), startSqsEndpoint("mesh-dev-aws-consumer-target-dlq")]);
        clients = [queue.client(), dlq.client(), targetDlq.client()];
        events.reset();
        events.setBehaviour(() => ({ kind: "respond" }));
        path = new LocalReversePath(pool, events, queue, clients[0], dlq, clients[1], targetDlq, dynamo, tableName);
    });
    afterEach(async () => {
        await path.stop();
        clients.forEach((c) => c.destroy());
        await Promise.all([queue.stop(), dlq.stop(), targetDlq.stop()]);
        // Rows a test left pending must not be published into the next test's path.
        await pool.query("TRUNCATE mesh_outbox");
    });

    const targets = (extra: Partial<ReverseSmokeTargets> = {}): ReverseSmokeTargets => ({
        region: "eu-west-1",
        pgHost: pg.host,
        pgPort: pg.port,
        pgDatabase: "shop",
        pgTable: "mesh_outbox",
        source: AZURE_SOURCE,
        consumerQueueUrl: queue.queueUrl,
        consumerDeadLetterQueueUrl: dlq.queueUrl,
        targetDeadLetterQueueUrl: targetDlq.queueUrl,
        idempotencyTableName: tableName,
        keyPrefix: "",
        timeoutMs: 4_000,
        pollMs: 100,
        ...extra,
    });
    const smoke = async (extra: Partial<ReverseSmokeTargets> = {}): Promise<ReverseSmokeReport & { lines: string[] }> => {
        path.start();
        const lines: string[] = [];
        const report = await runReverseSmoke(
            {
                outbox: pool,
                idempotency: dynamoRecords(dynamo, tableName),
                consumerQueue: sqsQueueDepth(clients[0], queue.queueUrl),
                consumerDeadLetters: sqsDeadLetterQueue(clients[1], dlq.queueUrl),
                targetDeadLetters: sqsDeadLetterQueue(clients[2], targetDlq.queueUrl),
            },
            targets(extra),
            { print: (l) => lines.push(l), progress: () => undefined },
        );
        lines.push(formatReverseVerdict(report));
        return { ...report, lines };
    };
    const statusOf = async (id: string) => (await pool.query("SELECT status FROM mesh_outbox WHERE event_id = $1", [id])).rows[0]?.status;

    it("PASS: the event goes through the real writer, relay, SQS host and DynamoDB store, and is applied once", async () => {
        const report = await smoke();
        assert.equal(report.verdict, "PASS", report.lines.join("\n"));
        assert.deepEqual(path.applied, [report.eventId], "the handler applied exactly the smoke event, once");
        assert.equal(await statusOf(report.eventId!), "published");
        assert.match(report.lines.join("\n"), /smoke: PASS: event [0-9a-f-]{36} went Azure → AWS and was applied \(its DynamoDB record reads done\)/);
    });

    it("FAIL at outbox write: the commit is refused (no outbox table), nothing else is looked at", async () => {
        const report = await smoke({ pgTable: "app.no_such_outbox" });
        assert.equal(report.hop, "outbox write", report.reason);
        assert.match(report.reason!, /committing event [0-9a-f-]{36} to .* app\.no_such_outbox failed/);
    });

    it("FAIL at relay: the relay does not run, the row stays pending", async () => {
        path.relayRuns = false;
        const report = await smoke({ timeoutMs: 1_500 });
        assert.equal(report.hop, "relay", report.reason);
        assert.match(report.reason!, /still pending .*the Azure relay has not published it/);
    });

    it("FAIL at relay: the relay parked the row, with its reason, before the timeout", async () => {
        events.setBehaviour(() => ({ kind: "respond", entry: () => ({ ok: false, errorCode: "AccessDeniedException", errorMessage: "not authorized for source" }) }));
        const started = Date.now();
        const report = await smoke({ timeoutMs: 20_000 });
        assert.equal(report.hop, "relay", report.reason);
        assert.match(report.reason!, /parked outbox row .*PutEventsEntryRejected: AccessDeniedException/);
        assert.ok(Date.now() - started < 10_000, "a parked row ends the wait early");
    });

    it("FAIL at bus/rule: published, but the rule's pattern does not match the source", async () => {
        path.ruleSources = ["com.example.azure.billing"];
        const report = await smoke({ timeoutMs: 1_500 });
        assert.equal(report.hop, "bus/rule", report.reason);
        assert.match(report.reason!, /was published .* reached neither the consumer queue nor a dead-letter queue/);
    });

    it("FAIL at delivery: EventBridge put the event in the rule target's dead-letter queue", async () => {
        path.delivery = "dead-letter";
        const report = await smoke({ timeoutMs: 1_500 });
        assert.equal(report.hop, "delivery", report.reason);
        assert.match(report.reason!, /dead-letter queue holds it: NO_PERMISSIONS: EventBridge is not allowed/);
    });

    it("FAIL at consumer: the message waits in the consumer queue (no poller)", async () => {
        path.consumer = "stopped";
        const report = await smoke({ timeoutMs: 1_500 });
        assert.equal(report.hop, "consumer", report.reason);
        assert.match(report.reason!, /consumer queue holds 1 visible, 0 in flight/);
    });

    it("FAIL at consumer: the handler keeps failing and SQS moves the message to the consumer's DLQ (no reason kept)", async () => {
        path.consumer = "handler-fails";
        const report = await smoke({ timeoutMs: 15_000 });
        assert.equal(report.hop, "consumer", report.reason);
        assert.match(report.reason!, /in the consumer's dead-letter queue: no reason attribute \(moved by SQS after maxReceiveCount/);
    });

    it("FAIL at consumer: the handler hangs, the record stays held", async () => {
        path.consumer = "handler-hangs";
        const report = await smoke({ timeoutMs: 1_500 });
        assert.equal(report.hop, "consumer", report.reason);
        assert.match(report.reason!, /has claimed .* but not completed it/);
    });

    it("FAIL at DLQ: the event was applied, but the consumer's dead-letter queue holds an older dead letter", async () => {
        dlq.send("{not json", { DeadLetterReason: "NotJson", DeadLetterErrorDescription: "NotJson: (body) …" });
        const report = await smoke();
        assert.equal(report.hop, "DLQ", report.reason);
        assert.match(report.reason!, /was applied, but the consumer's dead-letter queue holds 1 visible/);
        assert.equal(path.applied.length, 1);
    });
});
