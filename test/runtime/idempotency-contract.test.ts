import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import Redis from "ioredis";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ClaimResult, createRedisIdempotencyStore, IdempotencyStore } from "../../runtime/idempotency-store";
import { createDynamoDbIdempotencyStore, idempotencyTableDefinition } from "../../runtime/dynamodb-idempotency-store";
import { RedisServer, startRedisServer } from "../../tools/local-servers/redis-server";
import { connectRedis } from "../../tools/local-servers/redis-client";
import { DynamoDbLocal, startDynamoDbLocal } from "../../tools/local-servers/dynamodb-local";

/**
 * The lease/fence contract of `IdempotencyStore`, written once and run against every store on its
 * real server. `advance(ms)` makes time pass for the store: real sleeping for Redis (its clock is the
 * server's), moving the injected caller clock for DynamoDB (its clock is the caller's, by design).
 */
interface ContractHarness {
  store(options?: { dedupeWindowMs?: number }): IdempotencyStore;
  advance(ms: number): Promise<void>;
}

const LONG = 10_000; // a lease that does not run out during a test
const SHORT = 150; // a lease the test lets run out
const PAST_SHORT = 300; // time to let a SHORT lease run out

function claimedToken(r: ClaimResult): string {
  assert.equal(r.status, "claimed", JSON.stringify(r));
  return (r as { token: string }).token;
}

function idempotencyContract(name: string, setup: () => Promise<{ harness: ContractHarness; teardown: () => Promise<void> }>): void {
  describe(`IdempotencyStore contract: ${name}`, function () {
    this.timeout(30_000);
    let h: ContractHarness;
    let store: IdempotencyStore;
    let teardown: (() => Promise<void>) | undefined;

    before(async function () {
      this.timeout(180_000); // DynamoDB Local's JVM starts slowly on a loaded machine
      const s = await setup();
      h = s.harness;
      teardown = s.teardown;
      store = h.store();
    });
    after(async () => {
      await teardown?.();
    });

    it("first claim: claimed, generation 1, the caller's token kept", async () => {
      const id = randomUUID();
      assert.deepEqual(await store.claim(id, LONG, "tok-a"), { status: "claimed", token: "tok-a", leaseMs: LONG, generation: 1 });
      const fresh = await store.claim(randomUUID(), LONG);
      assert.ok(fresh.status === "claimed" && fresh.generation === 1 && fresh.token.length > 0);
    });

    it("duplicate after complete: completed for everyone; a retried complete is 'completed', another token's is 'completed-by-other'", async () => {
      const id = randomUUID();
      const a = claimedToken(await store.claim(id, LONG));
      assert.equal(await store.complete(id, a), "completed");
      assert.deepEqual(await store.claim(id, LONG), { status: "completed" });
      assert.deepEqual(await store.claim(id, LONG, a), { status: "completed" });
      assert.equal(await store.complete(id, a), "completed");
      assert.equal(await store.complete(id, "someone-else"), "completed-by-other");
      assert.equal(await store.release(id, a), "completed");
    });

    it("in-progress while another token's lease is live, with retryAfterMs up to the lease end", async () => {
      const id = randomUUID();
      claimedToken(await store.claim(id, LONG));
      const other = await store.claim(id, LONG);
      assert.equal(other.status, "in-progress");
      assert.ok(other.status === "in-progress" && other.retryAfterMs > LONG - 5000 && other.retryAfterMs <= LONG, JSON.stringify(other));
    });

    it("takeover after expiry: generation+1; the stale holder can neither complete nor release, and later learns of the double run", async () => {
      const id = randomUUID();
      const a = claimedToken(await store.claim(id, SHORT));
      await h.advance(PAST_SHORT);
      const b = await store.claim(id, LONG);
      assert.ok(b.status === "claimed" && b.generation === 2, JSON.stringify(b));
      assert.equal(await store.complete(id, a), "claimed-by-other");
      assert.equal(await store.release(id, a), "claimed-by-other");
      assert.equal((await store.claim(id, LONG, a)).status, "in-progress", "the stale token cannot reclaim over a live lease");
      assert.equal(await store.complete(id, b.token), "completed");
      assert.equal(await store.complete(id, a), "completed-by-other");
    });

    it("same-token reclaim keeps the generation, whether the lease is live or has run out", async () => {
      const id = randomUUID();
      claimedToken(await store.claim(id, SHORT, "t1"));
      assert.deepEqual(await store.claim(id, LONG, "t1"), { status: "claimed", token: "t1", leaseMs: LONG, generation: 1 });
      assert.equal((await store.claim(id, LONG)).status, "in-progress", "the reclaim extended the lease");
      const id2 = randomUUID();
      claimedToken(await store.claim(id2, SHORT, "t2"));
      await h.advance(PAST_SHORT);
      assert.deepEqual(await store.claim(id2, LONG, "t2"), { status: "claimed", token: "t2", leaseMs: LONG, generation: 1 });
    });

    it("two expiries: A expires, B claims, B expires, A completes → completed-after-takeover; B then gets completed-by-other", async () => {
      const id = randomUUID();
      const a = claimedToken(await store.claim(id, SHORT));
      await h.advance(PAST_SHORT);
      const b = await store.claim(id, SHORT);
      assert.ok(b.status === "claimed" && b.generation === 2);
      await h.advance(PAST_SHORT);
      assert.equal(await store.complete(id, a), "completed-after-takeover");
      assert.deepEqual(await store.claim(id, LONG), { status: "completed" });
      assert.equal(await store.complete(id, b.token), "completed-by-other");
    });

    it("completed-after-lease-expiry: our lease ran out (or we released) and nobody claimed since", async () => {
      const id = randomUUID();
      const a = claimedToken(await store.claim(id, SHORT));
      await h.advance(PAST_SHORT);
      assert.equal(await store.complete(id, a), "completed-after-lease-expiry");
      assert.deepEqual(await store.claim(id, LONG), { status: "completed" });
      const id2 = randomUUID();
      const c = claimedToken(await store.claim(id2, LONG));
      assert.equal(await store.release(id2, c), "released");
      assert.equal(await store.complete(id2, c), "completed-after-lease-expiry");
    });

    it("a takeover whose holder released still reports completed-after-takeover to the stale holder", async () => {
      const id = randomUUID();
      const a = claimedToken(await store.claim(id, SHORT));
      await h.advance(PAST_SHORT);
      const b = claimedToken(await store.claim(id, LONG));
      assert.equal(await store.release(id, b), "released");
      assert.equal(await store.complete(id, a), "completed-after-takeover");
    });

    it("release: released (twice), then the next claim runs at generation+1; expired; completed; claimed-by-other; record-missing", async () => {
      const id = randomUUID();
      const a = claimedToken(await store.claim(id, LONG));
      assert.equal(await store.release(id, a), "released");
      assert.equal(await store.release(id, a), "released", "a retried release");
      assert.equal(await store.release(id, "other"), "claimed-by-other", "a free record last held by someone else");
      const next = await store.claim(id, LONG);
      assert.ok(next.status === "claimed" && next.generation === 2, JSON.stringify(next));

      const id2 = randomUUID();
      const b = claimedToken(await store.claim(id2, SHORT));
      await h.advance(PAST_SHORT);
      assert.equal(await store.release(id2, b), "expired");
      assert.equal((await store.claim(id2, LONG)).status, "claimed");
      assert.equal(await store.release(id2, b), "claimed-by-other");

      const id3 = randomUUID();
      const c = claimedToken(await store.claim(id3, LONG));
      assert.equal(await store.complete(id3, c), "completed");
      assert.equal(await store.release(id3, c), "completed");
      assert.equal(await store.release(id3, "other"), "completed");

      assert.equal(await store.release(randomUUID(), "nobody"), "record-missing");
    });

    it("record missing: complete with no record → completed-record-missing, and the event is then completed", async () => {
      const id = randomUUID();
      assert.equal(await store.complete(id, "lonely"), "completed-record-missing");
      assert.deepEqual(await store.claim(id, LONG), { status: "completed" });
      assert.equal(await store.complete(id, "lonely"), "completed");
    });

    it("past the dedupe window the record counts as absent: new claim at generation 1, complete → record-missing, release → record-missing", async () => {
      const windowed = h.store({ dedupeWindowMs: 1000 });
      const id = randomUUID();
      const a = claimedToken(await windowed.claim(id, SHORT));
      assert.equal(await windowed.complete(id, a), "completed");
      await h.advance(1300);
      const again = await windowed.claim(id, SHORT, "again");
      assert.deepEqual(again, { status: "claimed", token: "again", leaseMs: SHORT, generation: 1 });
      await h.advance(1300);
      assert.equal(await windowed.release(id, "again"), "record-missing");
      assert.equal(await windowed.complete(id, "again"), "completed-record-missing");
      await assert.rejects(windowed.claim(id, 1000), /leaseMs \(1000\) must be shorter than dedupeWindowMs/);
    });

    it("concurrent claims of a new event id: exactly one claimed, the rest in-progress", async () => {
      const id = randomUUID();
      const results = await Promise.all(Array.from({ length: 16 }, () => store.claim(id, LONG)));
      assert.equal(results.filter((r) => r.status === "claimed").length, 1, JSON.stringify(results));
      assert.equal(results.filter((r) => r.status === "in-progress").length, 15);
    });

    it("concurrent takeovers of an expired lease: exactly one claimed, at generation 2", async () => {
      const id = randomUUID();
      claimedToken(await store.claim(id, SHORT));
      await h.advance(PAST_SHORT);
      const results = await Promise.all(Array.from({ length: 16 }, () => store.claim(id, LONG)));
      const won = results.filter((r) => r.status === "claimed");
      assert.equal(won.length, 1, JSON.stringify(results));
      assert.equal((won[0] as { generation: number }).generation, 2);
    });

    it("concurrent completes by the live holder and a stale one: exactly one 'completed' wins, the other learns it was fenced", async () => {
      const id = randomUUID();
      const a = claimedToken(await store.claim(id, SHORT));
      await h.advance(PAST_SHORT);
      const b = claimedToken(await store.claim(id, LONG));
      const [ra, rb] = await Promise.all([store.complete(id, a), store.complete(id, b)]);
      assert.equal(rb, "completed");
      assert.ok(ra === "claimed-by-other" || ra === "completed-by-other", ra);
    });

    it("bad input is refused with an error naming the event id", async () => {
      const id = randomUUID();
      await assert.rejects(store.claim(id, LONG, ""), new RegExp(`claim of event ${id}: token`));
      await assert.rejects(store.claim(id, 0), new RegExp(`claim of event ${id}: leaseMs`));
      await assert.rejects(store.complete(id, "x".repeat(201)), new RegExp(`complete of event ${id}: token`));
      await assert.rejects(store.release(id, ""), new RegExp(`release of event ${id}: token`));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

idempotencyContract("Redis (real redis-server, server clock, real time)", async () => {
  const server: RedisServer = await startRedisServer();
  const redis: Redis = await connectRedis(server);
  return {
    harness: {
      store: (o = {}) => createRedisIdempotencyStore(redis, { keyPrefix: `contract:${randomUUID()}:`, ...o }),
      advance: sleep,
    },
    teardown: async () => {
      redis.disconnect();
      await server.stop();
    },
  };
});

async function createIdempotencyTable(client: DynamoDBClient, tableName = `idem-${randomUUID()}`): Promise<string> {
  await client.send(new CreateTableCommand(idempotencyTableDefinition(tableName)));
  return tableName;
}

idempotencyContract("DynamoDB (real DynamoDB Local, caller clock advanced by the test)", async () => {
  const ddb: DynamoDbLocal = await startDynamoDbLocal();
  const client = ddb.client();
  const tableName = await createIdempotencyTable(client);
  let offset = 0;
  const now = () => Date.now() + offset;
  return {
    harness: {
      store: (o = {}) => createDynamoDbIdempotencyStore(client, { tableName, now, ...o }),
      advance: async (ms) => {
        offset += ms;
        await Promise.resolve();
      },
    },
    teardown: async () => {
      client.destroy();
      await ddb.stop();
    },
  };
});
