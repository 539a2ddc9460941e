import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  TransactWriteItem,
  TransactWriteItemsCommand,
} from "@aws-sdk/client-dynamodb";
import {
  createOutboxWriter,
  deriveClientRequestToken,
  DYNAMODB_MAX_ITEM_BYTES,
  dynamoDbItemSize,
  outboxItem,
  MAX_TRANSACTION_ITEMS,
  OutboxCommitError,
  TransactWritePort,
} from "../../runtime/outbox-writer";
import { OUTBOX_EVENT_ATTRIBUTE, OUTBOX_STATUS_ATTRIBUTE, OUTBOX_TTL_ATTRIBUTE } from "../../runtime/outbox-schema";
import { PUT_EVENTS_MAX_ENTRY_BYTES } from "../../runtime/event";
import { DynamoDbLocal, startDynamoDbLocal } from "../../tools/local-servers/dynamodb-local";
import { startResponseDroppingProxy } from "../../tools/local-servers/response-dropping-proxy";
import { makeEvent } from "../support/events";

const ORDERS = "orders";

/** A business write: create the order only if it does not exist, and bump a counter. */
function placeOrder(orderId: string): TransactWriteItem[] {
  return [
    {
      Put: {
        TableName: ORDERS,
        Item: { pk: { S: `order#${orderId}` }, status: { S: "PLACED" } },
        ConditionExpression: "attribute_not_exists(pk)",
      },
    },
    {
      Update: {
        TableName: ORDERS,
        Key: { pk: { S: "counter" } },
        UpdateExpression: "ADD placed :one",
        ExpressionAttributeValues: { ":one": { N: "1" } },
      },
    },
  ];
}

async function expectCommitError(promise: Promise<unknown>): Promise<OutboxCommitError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof OutboxCommitError, `expected OutboxCommitError, got ${String(error)}`);
    return error;
  }
  assert.fail("commit should have failed");
}

describe("runtime/outbox-writer (DynamoDB Local)", function () {
  this.timeout(60_000);
  let ddb: DynamoDbLocal;
  let client: DynamoDBClient;
  let outboxTable: string;

  before(async () => {
    ddb = await startDynamoDbLocal();
    client = ddb.client();
    await client.send(
      new CreateTableCommand({
        TableName: ORDERS,
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
  });
  after(async () => {
    client?.destroy();
    await ddb?.stop();
  });

  beforeEach(async () => {
    // A fresh outbox table per test keeps the scans exact.
    outboxTable = `outbox-${randomUUID().slice(0, 8)}`;
    await client.send(
      new CreateTableCommand({
        TableName: outboxTable,
        AttributeDefinitions: [{ AttributeName: "event_id", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "event_id", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
  });

  const outboxItems = async () => (await client.send(new ScanCommand({ TableName: outboxTable }))).Items ?? [];
  const counter = async () =>
    Number((await client.send(new GetItemCommand({ TableName: ORDERS, Key: { pk: { S: "counter" } } }))).Item?.placed?.N ?? "0");

  describe("message size headroom for the Service Bus tier (against DynamoDB Local)", () => {
    // Fits the 256 KB Standard message only without the envelope: 250 KB of payload.
    const standardTooBig = () => makeEvent({ data: { blob: "x".repeat(250 * 1024) } });

    it("Standard (the default): refuses an event that fits EventBridge but not a Standard message once wrapped; nothing is written", async () => {
      const writer = createOutboxWriter({ dynamodb: client, outboxTableName: outboxTable });
      const event = standardTooBig();
      const before = await counter();
      const error = await expectCommitError(writer.commit(placeOrder(randomUUID()), [event]));
      assert.equal(error.code, "EventTooLarge");
      assert.equal(error.retryable, false);
      assert.match(error.message, new RegExp(`MessageTooLarge: .*event ${event.metadata.event_id}`));
      assert.match(error.message, /would reach Service Bus as a \d+-byte message \(a \d+-byte entry inside the EventBridge envelope/);
      assert.match(error.message, /Service Bus Standard accepts at most 262144 bytes/);
      assert.equal((await outboxItems()).length, 0);
      assert.equal(await counter(), before, "the business write did not happen either");
    });

    it("Premium: the same event is committed with its business write, and DynamoDB Local holds it whole", async () => {
      const writer = createOutboxWriter({ dynamodb: client, outboxTableName: outboxTable, serviceBusTier: "Premium" });
      const event = standardTooBig();
      await writer.commit(placeOrder(randomUUID()), [event]);
      const items = await outboxItems();
      assert.equal(items.length, 1);
      assert.equal(items[0][OUTBOX_EVENT_ATTRIBUTE].S, JSON.stringify(event));
    });

    it("Premium: an event past DynamoDB's 400 KB item limit is refused up front, naming the item size and the limit", async () => {
      const writer = createOutboxWriter({ dynamodb: client, outboxTableName: outboxTable, serviceBusTier: "Premium" });
      const event = makeEvent({ data: { blob: "x".repeat(DYNAMODB_MAX_ITEM_BYTES) } });
      const error = await expectCommitError(writer.commit(placeOrder(randomUUID()), [event]));
      assert.equal(error.code, "EventTooLarge");
      assert.match(error.message, new RegExp(`event ${event.metadata.event_id}: its outbox item would be \\d+ bytes; DynamoDB accepts items of at most ${DYNAMODB_MAX_ITEM_BYTES} bytes`));
      assert.equal((await outboxItems()).length, 0);
    });

    it("the item size matches DynamoDB Local's own limit: one byte under is stored, one byte over is refused by DynamoDB itself", async () => {
      const base = outboxItem(makeEvent({ data: { blob: "" } }));
      const room = DYNAMODB_MAX_ITEM_BYTES - dynamoDbItemSize(base);
      const fill = (n: number) => ({ ...base, [OUTBOX_EVENT_ATTRIBUTE]: { S: base[OUTBOX_EVENT_ATTRIBUTE].S!.replace('"blob":""', `"blob":"${"x".repeat(n)}"`) } });
      assert.equal(dynamoDbItemSize(fill(room)), DYNAMODB_MAX_ITEM_BYTES);
      await client.send(new PutItemCommand({ TableName: outboxTable, Item: fill(room) }));
      await assert.rejects(client.send(new PutItemCommand({ TableName: outboxTable, Item: { ...fill(room + 1), event_id: { S: randomUUID() } } })), /Item size has exceeded the maximum allowed size/);
    });

    it("refuses an unknown tier, naming it", () => {
      assert.throws(() => createOutboxWriter({ dynamodb: client, outboxTableName: outboxTable, serviceBusTier: "Basic" as never }), /serviceBusTier must be Standard or Premium, got "Basic"/);
    });
  });

  it("writes the business items and one PENDING outbox item per event holding the whole event, with a TTL", async () => {
    const writer = createOutboxWriter({ dynamodb: client, outboxTableName: outboxTable, ttlSeconds: 3600 });
    const events = [makeEvent(), makeEvent({ metadata: { type: "OrderPaid" } })];
    const before = await counter();
    const result = await writer.commit(placeOrder(randomUUID()), events);

    assert.deepEqual(result.eventIds, events.map((e) => e.metadata.event_id));
    assert.equal(result.clientRequestToken, deriveClientRequestToken(result.eventIds));
    assert.equal(await counter(), before + 1);
    const items = await outboxItems();
    assert.equal(items.length, 2);
    for (const event of events) {
      const item = items.find((i) => i.event_id.S === event.metadata.event_id)!;
      assert.equal(item[OUTBOX_STATUS_ATTRIBUTE].S, "PENDING");
      assert.deepEqual(JSON.parse(item[OUTBOX_EVENT_ATTRIBUTE].S!), event);
      assert.equal(Number(item[OUTBOX_TTL_ATTRIBUTE].N), Math.floor(Date.parse(event.metadata.timestamp) / 1000) + 3600);
    }
  });

  it("atomicity: a failed condition on a business write leaves no outbox item and says which write", async () => {
    const writer = createOutboxWriter({ dynamodb: client, outboxTableName: outboxTable });
    const orderId = randomUUID();
    await writer.commit(placeOrder(orderId), [makeEvent()]);
    const before = await counter();

    const event = makeEvent();
    const error = await expectCommitError(writer.commit(placeOrder(orderId), [event]));
    assert.equal(error.code, "BusinessConditionFailed");
    assert.deepEqual(error.failedStateWrites, [0]);
    assert.deepEqual(error.duplicateEventIds, []);
    assert.equal(error.retryable, false);
    assert.match(error.message, /stateWrites\[0\] \(orders\): ConditionalCheckFailed/);
    assert.match(error.message, new RegExp(event.metadata.event_id));
    assert.equal(await counter(), before, "the other business write was rolled back too");
    assert.equal((await outboxItems()).filter((i) => i.event_id.S === event.metadata.event_id).length, 0);
  });

  it("an event id can never be written twice: a second commit naming it is refused whole", async () => {
    const writer = createOutboxWriter({ dynamodb: client, outboxTableName: outboxTable });
    const event = makeEvent();
    await writer.commit(placeOrder(randomUUID()), [event]);
    const before = await counter();

    // A different commit (other events, so another token) reusing the id: the conditional put refuses it.
    const other = makeEvent();
    const error = await expectCommitError(writer.commit(placeOrder(randomUUID()), [other, event]));
    assert.equal(error.code, "EventAlreadyWritten");
    assert.deepEqual(error.duplicateEventIds, [event.metadata.event_id]);
    assert.equal(await counter(), before);
    assert.deepEqual((await outboxItems()).map((i) => i.event_id.S), [event.metadata.event_id]);
  });

  it("retry after a timeout whose request had landed writes nothing twice (caller-level retry)", async () => {
    // The first TransactWriteItems reaches DynamoDB Local and is applied; its response is lost.
    const proxy = await startResponseDroppingProxy(ddb.endpoint, (target, index) => target.endsWith("TransactWriteItems") && index === 0);
    const viaProxy = ddb.client({ endpoint: proxy.endpoint, maxAttempts: 1 });
    try {
      const writer = createOutboxWriter({ dynamodb: viaProxy, outboxTableName: outboxTable });
      const orderId = randomUUID();
      const events = [makeEvent(), makeEvent()];
      const before = await counter();

      const first = await expectCommitError(writer.commit(placeOrder(orderId), events));
      assert.equal(first.retryable, true, "a lost response must be reported as safe to retry");
      assert.equal((await outboxItems()).length, 2, "the lost request was in fact applied");

      const retried = await writer.commit(placeOrder(orderId), events);
      assert.equal(retried.clientRequestToken, deriveClientRequestToken(events.map((e) => e.metadata.event_id)));
      assert.equal(await counter(), before + 1, "business write applied once");
      assert.equal((await outboxItems()).length, 2, "outbox items written once");
      assert.equal(proxy.forwarded.filter((f) => f.target.endsWith("TransactWriteItems")).length, 2);
    } finally {
      viaProxy.destroy();
      await proxy.stop();
    }
  });

  it("retry after a timeout inside the SDK (its own retry re-sends the same token) writes nothing twice", async () => {
    const proxy = await startResponseDroppingProxy(ddb.endpoint, (target, index) => target.endsWith("TransactWriteItems") && index === 0);
    const viaProxy = ddb.client({ endpoint: proxy.endpoint, maxAttempts: 3 });
    try {
      const writer = createOutboxWriter({ dynamodb: viaProxy, outboxTableName: outboxTable });
      const before = await counter();
      await writer.commit(placeOrder(randomUUID()), [makeEvent()]);
      assert.equal(proxy.forwarded.length, 2, "the SDK retried once");
      assert.equal(await counter(), before + 1);
      assert.equal((await outboxItems()).length, 1);
    } finally {
      viaProxy.destroy();
      await proxy.stop();
    }
  });

  it("a retry with different contents under the same events is IdempotentParameterMismatch, and writes nothing", async () => {
    const writer = createOutboxWriter({ dynamodb: client, outboxTableName: outboxTable });
    const events = [makeEvent()];
    await writer.commit(placeOrder(randomUUID()), events);
    const before = await counter();
    const error = await expectCommitError(writer.commit(placeOrder(randomUUID()), events));
    assert.equal(error.code, "IdempotentParameterMismatch");
    assert.match(error.message, new RegExp(events[0].metadata.event_id));
    assert.equal(await counter(), before);
  });

  describe("refusals before any call to DynamoDB", () => {
    let calls: number;
    const countingPort = (): TransactWritePort => ({
      send: (command: TransactWriteItemsCommand) => {
        calls++;
        return client.send(command);
      },
    });
    beforeEach(() => (calls = 0));

    it(`more than ${MAX_TRANSACTION_ITEMS} items`, async () => {
      const writer = createOutboxWriter({ dynamodb: countingPort(), outboxTableName: outboxTable });
      const writes = Array.from({ length: 95 }, (_, i) => placeOrder(`bulk-${i}`)[0]);
      const error = await expectCommitError(writer.commit(writes, Array.from({ length: 6 }, () => makeEvent())));
      assert.equal(error.code, "TooManyItems");
      assert.match(error.message, /95 state writes \+ 6 events = 101 items/);
      assert.equal(calls, 0);
      // Exactly at the limit is accepted.
      await writer.commit(writes, Array.from({ length: 5 }, () => makeEvent()));
      assert.equal(calls, 1);
    });

    it("an event whose PutEvents entry would exceed EventBridge's limit", async () => {
      const writer = createOutboxWriter({ dynamodb: countingPort(), outboxTableName: outboxTable, serviceBusTier: "Premium" });
      const event = makeEvent({ data: { blob: "x".repeat(PUT_EVENTS_MAX_ENTRY_BYTES) } });
      const error = await expectCommitError(writer.commit(placeOrder(randomUUID()), [event]));
      assert.equal(error.code, "EventTooLarge");
      assert.match(error.message, new RegExp(event.metadata.event_id));
      assert.match(error.message, new RegExp(`EventBridge accepts at most ${PUT_EVENTS_MAX_ENTRY_BYTES} bytes`));
      assert.equal(calls, 0);
    });

    it("an invalid event, a repeated event id, no events, a write aimed at the outbox table", async () => {
      const writer = createOutboxWriter({ dynamodb: countingPort(), outboxTableName: outboxTable });
      const bad: any = makeEvent();
      bad.metadata.timestamp = "not a time";
      const invalid = await expectCommitError(writer.commit([], [bad]));
      assert.equal(invalid.code, "InvalidEvent");
      assert.match(invalid.message, /metadata\.timestamp/);
      assert.match(invalid.message, new RegExp(bad.metadata.event_id));

      const event = makeEvent();
      assert.equal((await expectCommitError(writer.commit([], [event, event]))).code, "DuplicateEventInCommit");
      assert.equal((await expectCommitError(writer.commit(placeOrder("x"), []))).code, "NoEvents");
      const sneaky: TransactWriteItem = { Put: { TableName: outboxTable, Item: { event_id: { S: randomUUID() } } } };
      assert.equal((await expectCommitError(writer.commit([sneaky], [makeEvent()]))).code, "InvalidStateWrite");
      assert.equal(calls, 0);
    });
  });

  it("derives a deterministic, order-independent token of at most 36 characters", () => {
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const token = deriveClientRequestToken(ids);
    assert.ok(token.length <= 36);
    assert.equal(token, deriveClientRequestToken([...ids].reverse()));
    assert.notEqual(token, deriveClientRequestToken(ids.slice(0, 2)));
  });
});
