import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import {
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { createOutboxWriter, outboxItem } from "../../runtime/outbox-writer";
import { compareSequenceNumbers, createRelayHandler, DynamoDBStreamEvent, planPutEventsRequests, StreamBatchResponse } from "../../runtime/relay";
import { DomainEvent, PUT_EVENTS_MAX_REQUEST_BYTES, SERVICE_BUS_MAX_MESSAGE_BYTES, ServiceBusTier } from "../../runtime/event";
import { DynamoDbLocal, startDynamoDbLocal } from "../../tools/local-servers/dynamodb-local";
import { readStreamAsLambdaEvent } from "../../tools/local-servers/dynamodb-streams";
import { PutEventsEndpoint, startPutEventsEndpoint } from "../../tools/local-servers/put-events-endpoint";
import { makeEvent } from "../support/events";
import { memoryLogger } from "../support/memory-logger";

const BUS = "mesh-bus";

describe("runtime/relay (DynamoDB Local stream → PutEvents endpoint)", function () {
  this.timeout(60_000);
  let ddb: DynamoDbLocal;
  let client: DynamoDBClient;
  let streams: DynamoDBStreamsClient;
  let eventBridge: PutEventsEndpoint;
  let table: string;
  let streamArn: string;

  before(async () => {
    [ddb, eventBridge] = await Promise.all([startDynamoDbLocal(), startPutEventsEndpoint()]);
    client = ddb.client();
    streams = ddb.streamsClient();
  });
  after(async () => {
    client?.destroy();
    streams?.destroy();
    await Promise.all([ddb?.stop(), eventBridge?.stop()]);
  });

  beforeEach(async () => {
    eventBridge.reset();
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
  });

  const writer = (serviceBusTier: ServiceBusTier = "Standard") => createOutboxWriter({ dynamodb: client, outboxTableName: table, serviceBusTier });
  const commitEach = async (events: DomainEvent[]) => {
    for (const e of events) await writer().commit([], [e]);
  };
  const streamEvent = () => readStreamAsLambdaEvent(streams, streamArn);
  const relay = (options: { entryRetries?: number; maxConcurrentRequests?: number; maxAttempts?: number; serviceBusTier?: ServiceBusTier } = {}) => {
    const logger = memoryLogger();
    const handler = createRelayHandler({
      eventBridge: eventBridge.client({ maxAttempts: options.maxAttempts }),
      eventBusName: BUS,
      logger,
      entryRetries: options.entryRetries ?? 0,
      entryRetryBaseDelayMs: 5,
      maxConcurrentRequests: options.maxConcurrentRequests,
      serviceBusTier: options.serviceBusTier,
    });
    return { handler, logger };
  };
  const detailId = (detail?: string) => (JSON.parse(detail ?? "{}") as DomainEvent).metadata?.event_id;
  const sequenceOf = (batch: DynamoDBStreamEvent, eventId: string) =>
    batch.Records.find((r) => r.dynamodb?.Keys?.event_id?.S === eventId && r.eventName === "INSERT")!.dynamodb!.SequenceNumber!;
  const failedIds = (response: StreamBatchResponse) => response.batchItemFailures.map((f) => f.itemIdentifier);

  /**
   * What the event source mapping does with ReportBatchItemFailures on a stream: checkpoint just
   * before the LOWEST reported sequence number and deliver everything from there again.
   */
  const redeliveryAfter = (batch: DynamoDBStreamEvent, response: StreamBatchResponse): DynamoDBStreamEvent => {
    if (response.batchItemFailures.length === 0) return { Records: [] };
    const lowest = [...failedIds(response)].sort(compareSequenceNumbers)[0];
    return { Records: batch.Records.filter((r) => compareSequenceNumbers(r.dynamodb!.SequenceNumber!, lowest) >= 0) };
  };

  it("publishes what the outbox writer committed, read back from the real stream; ignores MODIFY, REMOVE and non-PENDING", async () => {
    const events = [makeEvent(), makeEvent({ metadata: { type: "OrderPaid", source: "com.example.billing" } }), makeEvent()];
    await writer().commit([], events.slice(0, 2));
    await writer().commit([], events.slice(2));
    // Later lifecycle of the items must not publish anything again.
    await client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { event_id: { S: events[0].metadata.event_id } },
        UpdateExpression: "SET #s = :sent",
        ExpressionAttributeNames: { "#s": "status" },
        ExpressionAttributeValues: { ":sent": { S: "SENT" } },
      }),
    );
    await client.send(new DeleteItemCommand({ TableName: table, Key: { event_id: { S: events[1].metadata.event_id } } }));
    const notPending = makeEvent();
    await client.send(new PutItemCommand({ TableName: table, Item: { ...outboxItem(notPending), status: { S: "SENT" } } }));

    const batch = await streamEvent();
    assert.deepEqual(
      batch.Records.map((r) => r.eventName),
      ["INSERT", "INSERT", "INSERT", "MODIFY", "REMOVE", "INSERT"],
    );
    assert.equal(batch.Records[0].eventSourceARN, streamArn);
    assert.equal(typeof batch.Records[0].dynamodb?.ApproximateCreationDateTime, "number");

    const { handler } = relay();
    const response = await handler(batch);
    assert.deepEqual(response, { batchItemFailures: [] });
    assert.equal(eventBridge.accepted.length, 3);
    for (const event of events) {
      const entry = eventBridge.accepted.find((e) => detailId(e.Detail) === event.metadata.event_id)!;
      assert.ok(entry, `event ${event.metadata.event_id} published`);
      assert.deepEqual(JSON.parse(entry.Detail!), event, "Detail is the domain event");
      assert.equal(entry.Source, event.metadata.source);
      assert.equal(entry.DetailType, event.metadata.type);
      assert.equal(entry.EventBusName, BUS);
      assert.equal(entry.Time, Date.parse(event.metadata.timestamp) / 1000);
    }
  });

  it("packs at most 10 entries and 256 KB per request, with several requests in flight but no more than the bound", async () => {
    const small = Array.from({ length: 23 }, () => makeEvent());
    const large = Array.from({ length: 9 }, () => makeEvent({ data: { blob: "x".repeat(100 * 1024) } }));
    await commitEach([...small, ...large]);
    eventBridge.setLatencyMs(150);
    const { handler } = relay({ maxConcurrentRequests: 3 });
    const response = await handler(await streamEvent());
    assert.deepEqual(failedIds(response), []);
    assert.equal(eventBridge.accepted.length, 32);
    assert.ok(eventBridge.requests.every((r) => r.entries.length <= 10));
    // Two 100 KB entries fit in a request, three do not: 23 small + 9 large need at least 7 requests.
    assert.ok(eventBridge.requests.length >= 3 + 4, `requests: ${eventBridge.requests.map((r) => r.entries.length)}`);
    assert.equal(eventBridge.maxInFlight(), 3);
  });

  it("plans requests by the documented entry size, never over 10 entries or 256 KB", () => {
    const sizes = [PUT_EVENTS_MAX_REQUEST_BYTES, 1, 1, 100_000, 100_000, 100_000, ...Array(25).fill(10)];
    const plan = planPutEventsRequests(sizes.map((size) => ({ size })));
    assert.deepEqual(plan.flat().map((e) => e.size), sizes, "order kept, nothing lost");
    for (const request of plan) {
      assert.ok(request.length <= 10);
      assert.ok(request.reduce((s, e) => s + e.size, 0) <= PUT_EVENTS_MAX_REQUEST_BYTES);
    }
    assert.deepEqual(plan.map((r) => r.length), [1, 4, 10, 10, 6]);
  });

  it("partial failure: reads FailedEntryCount/ErrorCode and reports exactly the failed records, lowest first", async () => {
    const events = Array.from({ length: 25 }, () => makeEvent());
    await commitEach(events);
    const refused = new Set([events[3], events[17], events[24]].map((e) => e.metadata.event_id));
    eventBridge.setBehaviour(() => ({
      kind: "respond",
      entry: (entry) =>
        refused.has(detailId(entry.Detail)) ? { ok: false, errorCode: "InternalFailure", errorMessage: "try again" } : { ok: true },
    }));
    const { handler, logger } = relay({ entryRetries: 0, maxConcurrentRequests: 3 });
    const batch = await streamEvent();
    const response = await handler(batch);

    const expected = [...refused].map((id) => sequenceOf(batch, id)).sort(compareSequenceNumbers);
    assert.deepEqual(failedIds(response), expected);
    assert.equal(eventBridge.accepted.length, 22);
    for (const id of refused) {
      assert.ok(logger.at("error").some((l) => l.attributes.eventId === id && l.attributes.errorCode === "InternalFailure"), `logged ${id}`);
    }

    // Under the mapping's checkpoint rule nothing is lost: the redelivery from the lowest failure
    // carries every refused record, and publishes them once EventBridge accepts again.
    eventBridge.setBehaviour(() => ({ kind: "respond" }));
    const retry = redeliveryAfter(batch, response);
    for (const id of refused) assert.ok(retry.Records.some((r) => r.dynamodb?.Keys?.event_id?.S === id));
    assert.deepEqual(failedIds(await handler(retry)), []);
    const published = new Set(eventBridge.accepted.map((e) => detailId(e.Detail)));
    for (const e of events) assert.ok(published.has(e.metadata.event_id), `event ${e.metadata.event_id} delivered`);
  });

  it("throttling of a whole request (after the SDK's own retries) marks all of its records failed, the rest succeed", async () => {
    const events = Array.from({ length: 20 }, () => makeEvent());
    await commitEach(events);
    eventBridge.setBehaviour((request) =>
      request.index === 0 ? { kind: "error", status: 400, type: "ThrottlingException", message: "Rate exceeded" } : { kind: "respond" },
    );
    const { handler, logger } = relay({ maxConcurrentRequests: 1 });
    const batch = await streamEvent();
    const response = await handler(batch);
    const firstTen = events.slice(0, 10).map((e) => sequenceOf(batch, e.metadata.event_id));
    assert.deepEqual(failedIds(response), firstTen.sort(compareSequenceNumbers));
    assert.equal(eventBridge.accepted.length, 10);
    assert.ok(logger.at("error").some((l) => /PutEvents request failed/.test(l.message)));
  });

  it("a throttle that the SDK's retry absorbs reports nothing", async () => {
    await commitEach(Array.from({ length: 5 }, () => makeEvent()));
    eventBridge.setBehaviour((request) =>
      request.index === 0 ? { kind: "error", status: 400, type: "ThrottlingException", message: "Rate exceeded" } : { kind: "respond" },
    );
    const { handler } = relay({ maxAttempts: 3 });
    assert.deepEqual(failedIds(await handler(await streamEvent())), []);
    assert.equal(eventBridge.requests.length, 2);
    assert.equal(eventBridge.accepted.length, 5);
  });

  it("a dropped connection marks the request's records failed", async () => {
    const events = Array.from({ length: 3 }, () => makeEvent());
    await commitEach(events);
    eventBridge.setBehaviour(() => ({ kind: "drop" }));
    const { handler } = relay();
    const batch = await streamEvent();
    const response = await handler(batch);
    assert.equal(response.batchItemFailures.length, 3);
  });

  it("retries transiently refused entries within the invocation, and does not retry permanent refusals", async () => {
    const events = Array.from({ length: 4 }, () => makeEvent());
    await commitEach(events);
    const attempts = new Map<string, number>();
    const permanent = events[2].metadata.event_id;
    eventBridge.setBehaviour(() => ({
      kind: "respond",
      entry: (entry) => {
        const id = detailId(entry.Detail);
        const n = (attempts.get(id) ?? 0) + 1;
        attempts.set(id, n);
        if (id === permanent) return { ok: false, errorCode: "NotAuthorizedForSourceException" };
        return n === 1 ? { ok: false, errorCode: "ThrottlingException" } : { ok: true };
      },
    }));
    const { handler } = relay({ entryRetries: 2 });
    const batch = await streamEvent();
    const response = await handler(batch);
    assert.deepEqual(failedIds(response), [sequenceOf(batch, permanent)]);
    assert.equal(attempts.get(permanent), 1);
    assert.equal(eventBridge.accepted.length, 3);
  });

  it("malformed outbox items are reported (so they reach the mapping's failure destination) and logged with their event id", async () => {
    const good = makeEvent();
    await writer().commit([], [good]);
    const put = (item: Record<string, any>) => client.send(new PutItemCommand({ TableName: table, Item: item }));
    const ids = {
      noEvent: randomUUID(),
      notJson: randomUUID(),
      badEvent: randomUUID(),
      mismatch: randomUUID(),
      noStatus: randomUUID(),
      tooLarge: "",
    };
    await put({ event_id: { S: ids.noEvent }, status: { S: "PENDING" } });
    await put({ event_id: { S: ids.notJson }, status: { S: "PENDING" }, event: { S: "{oops" } });
    const invalid: any = makeEvent({ metadata: { event_id: ids.badEvent } });
    delete invalid.metadata.type;
    await put({ event_id: { S: ids.badEvent }, status: { S: "PENDING" }, event: { S: JSON.stringify(invalid) } });
    await put({ ...outboxItem(makeEvent()), event_id: { S: ids.mismatch } });
    await put({ event_id: { S: ids.noStatus }, event: { S: JSON.stringify(makeEvent({ metadata: { event_id: ids.noStatus } })) } });
    // Bypasses the writer's size check, as an older producer or a hand-written item might: fits in
    // DynamoDB (400 KB) and in EventBridge, not in a Standard Service Bus message once wrapped.
    const huge = makeEvent({ data: { blob: "x".repeat(300_000) } });
    ids.tooLarge = huge.metadata.event_id;
    await put(outboxItem(huge));
    const alsoGood = makeEvent();
    await writer().commit([], [alsoGood]);

    const { handler, logger } = relay();
    const batch = await streamEvent();
    const response = await handler(batch);
    const bad = Object.values(ids);
    assert.deepEqual(failedIds(response), bad.map((id) => sequenceOf(batch, id)).sort(compareSequenceNumbers));
    assert.deepEqual(
      eventBridge.accepted.map((e) => detailId(e.Detail)).sort(),
      [good.metadata.event_id, alsoGood.metadata.event_id].sort(),
      "the good ones still go out; the bad ones never reach EventBridge",
    );
    const reasons = Object.fromEntries(logger.at("error").map((l) => [l.attributes.eventId, l.attributes.reason]));
    assert.deepEqual(reasons, {
      [ids.noEvent]: "MissingEvent",
      [ids.notJson]: "NotJson",
      [ids.badEvent]: "MissingField",
      [ids.mismatch]: "KeyMismatch",
      [ids.noStatus]: "MissingStatus",
      [ids.tooLarge]: "MessageTooLarge",
    });
    const tooLarge = logger.at("error").find((l) => l.attributes.eventId === ids.tooLarge)!;
    assert.equal(tooLarge.attributes.limitBytes, SERVICE_BUS_MAX_MESSAGE_BYTES.Standard);
    assert.ok((tooLarge.attributes.sizeBytes as number) > 300_000);
    assert.match(String(tooLarge.attributes.detail), /Service Bus Standard accepts at most 262144 bytes/);
  });

  it("holds back an event too large for the configured Service Bus tier, and forwards it on Premium", async () => {
    // Just over Standard's 256 KB once the envelope and the properties allowance are added.
    const big = makeEvent({ data: { blob: "x".repeat(SERVICE_BUS_MAX_MESSAGE_BYTES.Standard - 8 * 1024) } });
    const small = makeEvent();
    await writer("Premium").commit([], [big]);
    await writer("Premium").commit([], [small]);
    const batch = await streamEvent();

    const standard = relay({ serviceBusTier: "Standard" });
    const held = await standard.handler(batch);
    assert.deepEqual(failedIds(held), [sequenceOf(batch, big.metadata.event_id)]);
    assert.deepEqual(eventBridge.accepted.map((e) => detailId(e.Detail)), [small.metadata.event_id], "the big one never reaches EventBridge");
    const line = standard.logger.at("error").find((l) => l.attributes.eventId === big.metadata.event_id)!;
    assert.equal(line.attributes.reason, "MessageTooLarge");
    assert.equal(line.attributes.serviceBusTier, "Standard");

    const premium = relay({ serviceBusTier: "Premium" });
    assert.deepEqual(await premium.handler(batch), { batchItemFailures: [] });
    assert.ok(eventBridge.accepted.some((e) => detailId(e.Detail) === big.metadata.event_id));
  });

  it("refuses to start with an unknown tier, naming it", () => {
    assert.throws(
      () => createRelayHandler({ eventBridge: eventBridge.client({}), eventBusName: BUS, logger: memoryLogger(), serviceBusTier: "Basic" as never }),
      /serviceBusTier must be Standard or Premium, got "Basic"/,
    );
  });

  it("compares sequence numbers as numbers, not text", () => {
    assert.equal(compareSequenceNumbers("900", "1000"), -1);
    assert.equal(compareSequenceNumbers("000000000000000000002", "000000000000000000010"), -1);
    assert.equal(compareSequenceNumbers("49668042130190734066183470113456238722744786342431899650", "9"), 1);
  });
});
