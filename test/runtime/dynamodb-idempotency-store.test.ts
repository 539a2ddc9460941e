import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import {
  createDynamoDbIdempotencyStore,
  DynamoDbSender,
  IDEMPOTENCY_TABLE,
  idempotencyTableDefinition,
} from "../../runtime/dynamodb-idempotency-store";
import { DEFAULT_DEDUPE_WINDOW_MS } from "../../runtime/idempotency-store";
import { createConsumer } from "../../runtime/consumer";
import { DynamoDbLocal, startDynamoDbLocal } from "../../tools/local-servers/dynamodb-local";
import { envelopeOf, makeEvent } from "../support/events";
import { recordingSettlement } from "../support/settlement";
import { memoryLogger } from "../support/memory-logger";

/** DynamoDB-specific behaviour; the shared lease/fence answers are in idempotency-contract.test.ts. */
describe("runtime/dynamodb-idempotency-store (real DynamoDB Local)", function () {
  this.timeout(30_000);
  let ddb: DynamoDbLocal;
  let client: DynamoDBClient;
  let tableName: string;

  before(async function () {
    this.timeout(180_000); // DynamoDB Local's JVM starts slowly on a loaded machine
    ddb = await startDynamoDbLocal();
    client = ddb.client();
    tableName = `idem-${randomUUID()}`;
    await client.send(new CreateTableCommand(idempotencyTableDefinition(tableName)));
  });
  after(async () => {
    client?.destroy();
    await ddb?.stop();
  });

  const getRaw = async (pk: string) => (await client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: pk } }, ConsistentRead: true }))).Item;

  it("DynamoDB Local returns the old item on a failed condition (ReturnValuesOnConditionCheckFailure: ALL_OLD), which the store relies on", async () => {
    const pk = randomUUID();
    await client.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: pk }, v: { N: "1" } } }));
    const error = await client
      .send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: pk } }, ConditionExpression: "attribute_not_exists(pk)", ReturnValuesOnConditionCheckFailure: "ALL_OLD" }))
      .then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof ConditionalCheckFailedException);
    assert.deepEqual(error.Item, { pk: { S: pk }, v: { N: "1" } });
  });

  it("the table definition is accepted with TTL on its ttl attribute, and the store writes that attribute in epoch seconds at the end of the window", async () => {
    await client.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { Enabled: true, AttributeName: IDEMPOTENCY_TABLE.ttlAttribute } }));
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    assert.equal(ttl.TimeToLiveDescription?.AttributeName, "ttl");
    const store = createDynamoDbIdempotencyStore(client, { tableName, keyPrefix: "p:" });
    const id = randomUUID();
    const before = Date.now();
    await store.claim(id, 5000);
    const item = await getRaw(`p:${id}`);
    const seconds = Number(item?.ttl?.N);
    assert.ok(seconds >= Math.floor((before + DEFAULT_DEDUPE_WINDOW_MS) / 1000) && seconds <= Math.ceil((Date.now() + DEFAULT_DEDUPE_WINDOW_MS) / 1000), `ttl ${seconds}`);
  });

  it("an item past its window that TTL has not deleted yet (deletion is lazy) is still in the table, and is treated as absent", async () => {
    let offset = 0;
    const store = createDynamoDbIdempotencyStore(client, { tableName, dedupeWindowMs: 60_000, now: () => Date.now() + offset });
    const id = randomUUID();
    const a = await store.claim(id, 1000);
    assert.equal(a.status, "claimed");
    assert.equal(await store.complete(id, (a as { token: string }).token), "completed");
    offset += 61_000;
    assert.equal((await getRaw(id))?.state?.S, "done", "the expired item is physically still there");
    const again = await store.claim(id, 1000);
    assert.ok(again.status === "claimed" && again.generation === 1, JSON.stringify(again));
  });

  it("the common paths take one round trip; a takeover takes two", async () => {
    let sends = 0;
    const counting: DynamoDbSender = {
      send: ((command: never) => {
        sends++;
        return client.send(command);
      }) as DynamoDbSender["send"],
    };
    let offset = 0;
    const store = createDynamoDbIdempotencyStore(counting, { tableName, now: () => Date.now() + offset });
    const count = async <T>(f: () => Promise<T>): Promise<[T, number]> => {
      sends = 0;
      const r = await f();
      return [r, sends];
    };
    const id = randomUUID();
    const [a, n1] = await count(() => store.claim(id, 1000));
    assert.equal(n1, 1, "first claim");
    const [, n2] = await count(() => store.claim(id, 1000));
    assert.equal(n2, 1, "in-progress");
    const [r3, n3] = await count(() => store.complete(id, (a as { token: string }).token));
    assert.deepEqual([r3, n3], ["completed", 1]);
    const [, n4] = await count(() => store.claim(id, 1000));
    assert.equal(n4, 1, "duplicate");
    const id2 = randomUUID();
    const b = await store.claim(id2, 1000);
    const [r5, n5] = await count(() => store.release(id2, (b as { token: string }).token));
    assert.deepEqual([r5, n5], ["released", 1]);
    const id3 = randomUUID();
    await store.claim(id3, 1000);
    offset += 2000;
    const [r6, n6] = await count(() => store.claim(id3, 1000));
    assert.ok(r6.status === "claimed" && r6.generation === 2 && n6 === 2, `${JSON.stringify(r6)} in ${n6}`);
  });

  it("a DynamoDB failure is reported with the event id and the cause kept", async () => {
    const store = createDynamoDbIdempotencyStore(client, { tableName: "no-such-table" });
    const id = randomUUID();
    await assert.rejects(store.claim(id, 1000), (e: Error) => {
      assert.match(e.message, new RegExp(`^claim of event ${id}: DynamoDB ResourceNotFoundException`));
      assert.ok(e.cause instanceof Error);
      return true;
    });
    assert.throws(() => createDynamoDbIdempotencyStore(client, { tableName: "" }), /tableName/);
  });

  it("the consumer core on this store: a new event is processed once, its duplicate acknowledged without running the handler", async () => {
    const store = createDynamoDbIdempotencyStore(client, { tableName, keyPrefix: "consumer:" });
    const runs: string[] = [];
    const consumer = createConsumer({
      store,
      handler: async (event) => {
        runs.push(event.metadata.event_id);
      },
      logger: memoryLogger(),
      messageLockMs: 5000,
      leaseMs: 5000,
      safetyMarginMs: 500,
      inProgressMaxWaitMs: 0,
      storeOutageMaxWaitMs: 0,
    });
    const event = makeEvent();
    const body = JSON.stringify(envelopeOf(event));
    const first = recordingSettlement();
    assert.equal((await consumer.handle({ body, messageId: randomUUID(), deliveryCount: 1 }, first)).kind, "processed");
    assert.deepEqual(first.records, [{ action: "complete" }]);
    const second = recordingSettlement();
    assert.equal((await consumer.handle({ body, messageId: randomUUID(), deliveryCount: 1 }, second)).kind, "duplicate");
    assert.deepEqual(second.records, [{ action: "complete" }]);
    assert.deepEqual(runs, [event.metadata.event_id]);
    assert.equal((await getRaw(`consumer:${event.metadata.event_id}`))?.state?.S, "done");
  });
});
