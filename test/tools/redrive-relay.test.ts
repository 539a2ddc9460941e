import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { createOutboxWriter } from "../../runtime/outbox-writer";
import type { DomainEvent } from "../../runtime/event";
import type { DynamoDBStreamRecord } from "../../runtime/relay";
import { parseRedriveArgs } from "../../tools/redrive";
import { redriveRelayFailures, RelayRedriveSummary } from "../../tools/redrive/relay";
import { parseOnFailureRecord } from "../../tools/redrive/relay-range";
import { DynamoDbLocal, startDynamoDbLocal } from "../../tools/local-servers/dynamodb-local";
import { readStreamAsLambdaEvent } from "../../tools/local-servers/dynamodb-streams";
import { PutEventsEndpoint, startPutEventsEndpoint } from "../../tools/local-servers/put-events-endpoint";
import { SqsEndpoint, startSqsEndpoint } from "../../tools/local-servers/sqs-endpoint";
import { makeEvent } from "../support/events";

const BUS = "mesh-dev-egress-bus";

/** Lambda's on-failure record for a discarded stream batch (Lambda Developer Guide, "Retaining discarded records for a DynamoDB event source"). */
function onFailureRecord(records: DynamoDBStreamRecord[], streamArn: string, extra: Record<string, unknown> = {}): string {
    const arrival = (r: DynamoDBStreamRecord) => new Date(r.dynamodb!.ApproximateCreationDateTime! * 1000).toISOString().replace(/\.\d+Z$/, "Z");
    return JSON.stringify({
        requestContext: { requestId: randomUUID(), functionArn: "arn:aws:lambda:eu-west-1:123456789012:function:relay", condition: "RetryAttemptsExhausted", approximateInvokeCount: 11 },
        responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
        version: "1.0",
        timestamp: new Date().toISOString(),
        DDBStreamBatchInfo: {
            shardId: "shardId-will-be-set",
            startSequenceNumber: records[0].dynamodb!.SequenceNumber,
            endSequenceNumber: records[records.length - 1].dynamodb!.SequenceNumber,
            approximateArrivalOfFirstRecord: arrival(records[0]),
            approximateArrivalOfLastRecord: arrival(records[records.length - 1]),
            batchSize: records.length,
            streamArn,
            ...extra,
        },
    });
}

const idOf = (detail: string | undefined) => (JSON.parse(detail ?? "{}") as DomainEvent).metadata.event_id;

describe("redrive relay: the relay's on-failure destination (DynamoDB Local stream, local PutEvents and SQS)", function () {
    this.timeout(120_000);
    let ddb: DynamoDbLocal;
    let client: DynamoDBClient;
    let streams: DynamoDBStreamsClient;
    let events: PutEventsEndpoint;
    let sqs: SqsEndpoint;
    let table: string;
    let streamArn: string;
    let shardId: string;
    let records: DynamoDBStreamRecord[];
    let written: DomainEvent[];
    let lines: string[];

    const run = (extra: Partial<Parameters<typeof redriveRelayFailures>[0]> = {}): Promise<RelayRedriveSummary> =>
        redriveRelayFailures({
            sqs: sqs.client(),
            queueUrl: sqs.queueUrl,
            streams,
            dynamodb: client,
            outboxTableName: table,
            eventBridge: events.client(),
            busName: BUS,
            dryRun: false,
            roundDelayMs: 1,
            entryRetryBaseDelayMs: 1,
            print: (l) => lines.push(l),
            ...extra,
        });
    const park = (from: number, to: number, extra: Record<string, unknown> = {}) =>
        sqs.send(onFailureRecord(records.slice(from, to + 1), streamArn, { shardId, ...extra }));

    before(async () => {
        [ddb, events] = await Promise.all([startDynamoDbLocal(), startPutEventsEndpoint()]);
        client = ddb.client();
        streams = ddb.streamsClient();
        table = `outbox-${randomUUID().slice(0, 8)}`;
        const created = await client.send(
            new CreateTableCommand({
                TableName: table,
                AttributeDefinitions: [{ AttributeName: "event_id", AttributeType: "S" }],
                KeySchema: [{ AttributeName: "event_id", KeyType: "HASH" }],
                BillingMode: "PAY_PER_REQUEST",
                StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_IMAGE" },
            }),
        );
        streamArn = created.TableDescription!.LatestStreamArn!;
        const writer = createOutboxWriter({ dynamodb: client, outboxTableName: table });
        written = [];
        for (let i = 0; i < 8; i++) {
            const batch = Array.from({ length: 3 }, (_, k) => makeEvent({ data: { orderId: `o-${i}`, line: k } }));
            await writer.commit([], batch);
            written.push(...batch);
        }
        records = (await readStreamAsLambdaEvent(streams, streamArn)).Records;
        assert.equal(records.length, 24);
        const { DescribeStreamCommand } = await import("@aws-sdk/client-dynamodb-streams");
        shardId = (await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }))).StreamDescription!.Shards![0].ShardId!;
    });
    after(async () => {
        client?.destroy();
        streams?.destroy();
        await Promise.all([ddb?.stop(), events?.stop()]);
    });
    beforeEach(async () => {
        sqs = await startSqsEndpoint("mesh-dev-relay-failures");
        events.reset();
        lines = [];
    });
    afterEach(async () => {
        await sqs.stop();
    });

    it("re-reads the parked range from the stream, republishes exactly its events as the relay builds them, then deletes the message", async () => {
        park(5, 19);
        const summary = await run();

        const expected = records.slice(5, 20).map((r) => r.dynamodb!.Keys!.event_id.S!);
        assert.deepEqual(events.accepted.map((e) => idOf(e.Detail)).sort(), [...expected].sort(), "the range's events, no more, no less");
        const first = events.accepted.find((e) => idOf(e.Detail) === expected[0])!;
        const original = written.find((e) => e.metadata.event_id === expected[0])!;
        assert.equal(first.EventBusName, BUS);
        assert.equal(first.Source, original.metadata.source);
        assert.equal(first.DetailType, original.metadata.type);
        assert.deepEqual(JSON.parse(first.Detail!), original);
        assert.ok(events.requests.every((r) => r.entries.length <= 10));
        assert.equal(sqs.messages.length, 0, "deleted once every event was accepted");
        assert.ok(sqs.operations.lastIndexOf("DeleteMessageBatch") > 0);
        assert.deepEqual(
            { received: summary.received, fromStream: summary.fromStream, republished: summary.republished, deleted: summary.deleted, kept: summary.kept },
            { received: 1, fromStream: 1, republished: 15, deleted: 1, kept: 0 },
        );
        assert.ok(lines.some((l) => /15 record\(s\) read from the stream/.test(l)), lines.join("\n"));
        assert.match(lines[lines.length - 1], /^summary: 1 received, 1 from the stream, 0 from PENDING items, 15 event\(s\) republished, 1 deleted$/);
    });

    it("keeps the message when an event of the range stays refused, names it, and a later run finishes the range", async () => {
        park(0, 9);
        const stubborn = records[4].dynamodb!.Keys!.event_id.S!;
        events.setBehaviour(() => ({ kind: "respond", entry: (e) => (idOf(e.Detail) === stubborn ? { ok: false, errorCode: "AccessDeniedException", errorMessage: "not authorized" } : { ok: true }) }));

        const first = await run();
        assert.equal(first.deleted, 0);
        assert.equal(first.kept, 1);
        assert.deepEqual(first.failed, { AccessDeniedException: 1 });
        assert.equal(sqs.messages.length, 1, "the range is still parked");
        assert.equal(sqs.visibleCount(), 1, "and visible again for the next run");
        assert.ok(lines.some((l) => l.includes(stubborn) && l.includes("AccessDeniedException")), lines.join("\n"));
        assert.equal(events.accepted.length, 9, "the other events were published");

        events.setBehaviour(() => ({ kind: "respond" }));
        const second = await run();
        assert.equal(second.deleted, 1);
        assert.equal(sqs.messages.length, 0);
        assert.ok(events.accepted.some((e) => idOf(e.Detail) === stubborn));
    });

    it("retries entries PutEvents failed transiently before it gives up on the range", async () => {
        park(0, 4);
        const flaky = records[2].dynamodb!.Keys!.event_id.S!;
        let refusals = 0;
        // Refused for the relay's three sends of the first round, accepted in the second round.
        events.setBehaviour(() => ({ kind: "respond", entry: (e) => (idOf(e.Detail) === flaky && refusals++ < 3 ? { ok: false, errorCode: "ThrottlingException" } : { ok: true }) }));
        const summary = await run();
        assert.equal(refusals, 4);
        assert.equal(summary.deleted, 1);
        assert.equal(sqs.messages.length, 0);
    });

    it("falls back to the outbox items still PENDING when the stream no longer holds the range", async () => {
        park(6, 11);
        // 25 hours later: past DynamoDB Streams' 24-hour retention.
        const summary = await run({ now: () => Date.now() + 25 * 3600_000 });
        assert.equal(summary.fromStream, 0);
        assert.equal(summary.fromPending, 1);
        assert.equal(summary.deleted, 1);
        const republished = new Set(events.accepted.map((e) => idOf(e.Detail)));
        for (const r of records.slice(6, 12)) assert.ok(republished.has(r.dynamodb!.Keys!.event_id.S!), "every event of the range is republished");
        // The approximation: a time window cannot tell the range from its neighbours (duplicates for the consumer).
        assert.ok(republished.size >= 6);
        assert.ok(lines.some((l) => /stand in for it/.test(l)), lines.join("\n"));
    });

    it("falls back when the stream does not know the shard any more", async () => {
        park(0, 2, { shardId: "shardId-00000000000000000000-gone0000" });
        const summary = await run();
        assert.equal(summary.fromPending, 1, lines.join("\n"));
        assert.equal(summary.deleted, 1);
        for (const r of records.slice(0, 3)) assert.ok(events.accepted.some((e) => idOf(e.Detail) === r.dynamodb!.Keys!.event_id.S!));
    });

    it("misses, in the PENDING fallback, an event whose own time lies further back than the margin (the precision it loses)", async () => {
        const writer = createOutboxWriter({ dynamodb: client, outboxTableName: `${table}` });
        const late = makeEvent({ metadata: { timestamp: new Date(Date.now() - 2 * 3600_000).toISOString() } });
        await writer.commit([], [late]);
        const all = (await readStreamAsLambdaEvent(streams, streamArn)).Records;
        const lateRecord = all.find((r) => r.dynamodb!.Keys!.event_id.S === late.metadata.event_id)!;
        sqs.send(onFailureRecord([lateRecord], streamArn, { shardId }));

        const fromStream = await run();
        assert.equal(fromStream.fromStream, 1);
        assert.ok(events.accepted.some((e) => idOf(e.Detail) === late.metadata.event_id), "the stream has it");

        events.reset();
        sqs.send(onFailureRecord([lateRecord], streamArn, { shardId }));
        const fallback = await run({ now: () => Date.now() + 25 * 3600_000 });
        assert.equal(fallback.fromPending, 1);
        assert.ok(!events.accepted.some((e) => idOf(e.Detail) === late.metadata.event_id), "committed 2 h after its own time: outside a 15-minute margin");
        const wider = await (async () => {
            events.reset();
            sqs.send(onFailureRecord([lateRecord], streamArn, { shardId }));
            return run({ now: () => Date.now() + 25 * 3600_000, pendingMarginMs: 3 * 3600_000 });
        })();
        assert.equal(wider.fromPending, 1);
        assert.ok(events.accepted.some((e) => idOf(e.Detail) === late.metadata.event_id), "a wider margin finds it");
    });

    it("changes nothing in a dry run", async () => {
        park(0, 3);
        const summary = await run({ dryRun: true });
        assert.equal(events.requests.length, 0, "nothing published");
        assert.equal(sqs.messages.length, 1);
        assert.equal(sqs.visibleCount(), 1, "visible again at once");
        assert.ok(!sqs.operations.includes("DeleteMessageBatch"));
        assert.equal(summary.fromStream, 1);
        for (const r of records.slice(0, 4)) assert.ok(lines.some((l) => l.includes(`would republish ${r.dynamodb!.Keys!.event_id.S}`)), lines.join("\n"));
        assert.match(lines[lines.length - 1], /^\[dry run\] summary: 1 received/);
    });

    it("names a message that is not an on-failure record of the outbox stream, and leaves it", async () => {
        const notJson = sqs.send("not json");
        const noShard = sqs.send(JSON.stringify({ DDBStreamBatchInfo: { startSequenceNumber: "1", endSequenceNumber: "2", streamArn } }));
        const otherTable = sqs.send(onFailureRecord(records.slice(0, 1), streamArn.replace(`table/${table}/`, "table/orders/"), { shardId }));
        const summary = await run();
        assert.equal(summary.unreadable, 3);
        assert.equal(sqs.messages.length, 3);
        assert.equal(events.requests.length, 0);
        assert.ok(lines.some((l) => l.includes(notJson.MessageId) && l.includes("not JSON")), lines.join("\n"));
        assert.ok(lines.some((l) => l.includes(noShard.MessageId) && l.includes("DDBStreamBatchInfo.shardId")), lines.join("\n"));
        assert.ok(lines.some((l) => l.includes(otherTable.MessageId) && l.includes("not of the outbox table")), lines.join("\n"));
    });

    it("parses the documented record and refuses a reversed range", () => {
        const ok = parseOnFailureRecord(onFailureRecord(records.slice(0, 2), streamArn, { shardId }));
        assert.ok(ok.ok);
        const reversed = parseOnFailureRecord(onFailureRecord([records[3], records[1]], streamArn, { shardId }));
        assert.deepEqual(reversed, { ok: false, reason: "DDBStreamBatchInfo.startSequenceNumber is after endSequenceNumber" });
    });

    it("takes its targets from the stack outputs (relayFailureQueueUrl, outboxTableName, busName)", () => {
        const outputs = { relayFailureQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/relay-fail", awsDeadLetterQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/egress-dlq", outboxTableName: "outbox-1", busName: BUS, awsRegion: "eu-west-1" };
        const args = parseRedriveArgs(["relay", "--outputs", "o.json", "--pending-margin-minutes", "30"], () => JSON.stringify(outputs));
        assert.equal(args.queueUrl, outputs.relayFailureQueueUrl);
        assert.equal(args.table, "outbox-1");
        assert.equal(args.pendingMarginMinutes, 30);
        assert.throws(() => parseRedriveArgs(["relay", "--queue-url", "q", "--bus-name", "b"]), /missing --table/);
    });
});
