import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import Redis from "ioredis";
import { createRedisIdempotencyStore, DEFAULT_DEDUPE_WINDOW_MS, IdempotencyStore } from "../../runtime/idempotency-store";
import { RedisServer, startRedisServer } from "../../tools/local-servers/redis-server";
import { commandCalls, connectRedis, diffCalls, recordCommands } from "../../tools/local-servers/redis-client";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("runtime/idempotency-store (real redis-server)", function () {
  this.timeout(30_000);
  let server: RedisServer;
  let redis: Redis;
  let admin: Redis;
  let store: IdempotencyStore;

  before(async () => {
    server = await startRedisServer();
    redis = await connectRedis(server);
    admin = await connectRedis(server);
    store = createRedisIdempotencyStore(redis, { keyPrefix: "t:" });
  });
  after(async () => {
    redis?.disconnect();
    admin?.disconnect();
    await server?.stop();
  });

  it("claim → in-progress for others → complete → completed for everyone, kept for the dedupe window", async () => {
    const id = randomUUID();
    const first = await store.claim(id, 5000);
    assert.equal(first.status, "claimed");
    const again = await store.claim(id, 5000);
    assert.equal(again.status, "in-progress");
    assert.ok(again.status === "in-progress" && again.retryAfterMs > 4000 && again.retryAfterMs <= 5000);
    assert.equal(await store.complete(id, (first as { token: string }).token), "completed");
    assert.deepEqual(await store.claim(id, 5000), { status: "completed" });
    const ttl = await admin.pttl(`t:${id}`);
    assert.ok(ttl > DEFAULT_DEDUPE_WINDOW_MS - 10_000 && ttl <= DEFAULT_DEDUPE_WINDOW_MS, `ttl ${ttl}`);
  });

  it("release by the owner lets the next claim run", async () => {
    const id = randomUUID();
    const a = await store.claim(id, 5000);
    assert.equal(await store.release(id, (a as { token: string }).token), "released");
    assert.equal((await store.claim(id, 5000)).status, "claimed");
  });

  it("fencing: a stale owner whose lease expired can neither complete nor release the new owner's live claim", async () => {
    const id = randomUUID();
    const stale = await store.claim(id, 150);
    await sleep(250);
    const fresh = await store.claim(id, 5000);
    assert.ok(fresh.status === "claimed" && fresh.generation === 2, JSON.stringify(fresh));
    const staleToken = (stale as { token: string }).token;
    assert.equal(await store.complete(id, staleToken), "claimed-by-other");
    assert.equal(await store.release(id, staleToken), "claimed-by-other");
    assert.match(String(await admin.get(`t:${id}`)), new RegExp(`^held:2:\\d+:${fresh.token}$`), "the new claim is untouched");
    assert.equal(await store.complete(id, fresh.token), "completed");
    assert.equal(await store.complete(id, staleToken), "completed-by-other", "and the stale owner learns its effect was duplicated");
  });

  it("fencing after two expiries: A expires, B takes over and dies, B expires, then A completes: reported as a takeover, not as 'nobody else ran it'", async () => {
    const id = randomUUID();
    const a = await store.claim(id, 150);
    await sleep(250); // A overruns
    const b = await store.claim(id, 150);
    assert.ok(b.status === "claimed" && b.generation === 2);
    await sleep(250); // B applied its effect and crashed; its lease runs out too
    assert.equal(await admin.exists(`t:${id}`), 1, "the record outlives both leases");
    assert.equal(await store.complete(id, (a as { token: string }).token), "completed-after-takeover");
    assert.match(String(await admin.get(`t:${id}`)), /^done:/, "the event is completed: no third run");
    assert.deepEqual(await store.claim(id, 1000), { status: "completed" });
    assert.equal(await store.complete(id, b.token), "completed-by-other", "B, if it was only stalled, learns of the double effect too");
  });

  it("a takeover whose holder released (its handler failed) still tells the stale owner that someone else ran the handler", async () => {
    const id = randomUUID();
    const a = await store.claim(id, 100);
    await sleep(200);
    const b = await store.claim(id, 5000);
    assert.equal(await store.release(id, (b as { token: string }).token), "released");
    assert.equal(await store.complete(id, (a as { token: string }).token), "completed-after-takeover");
  });

  it("a lease that expired with nobody else claiming can still be completed by its owner (nobody else ran it)", async () => {
    const id = randomUUID();
    const a = await store.claim(id, 100);
    await sleep(200);
    assert.equal(await store.complete(id, (a as { token: string }).token), "completed-after-lease-expiry");
    assert.deepEqual(await store.claim(id, 1000), { status: "completed" });
  });

  it("a record the store lost (Redis data loss) is reported as such at completion, not as a clean completion", async () => {
    const id = randomUUID();
    const a = await store.claim(id, 5000);
    await admin.del(`t:${id}`);
    assert.equal(await store.complete(id, (a as { token: string }).token), "completed-record-missing");
    assert.deepEqual(await store.claim(id, 1000), { status: "completed" });
  });

  it("a retried complete whose first reply was lost answers 'completed' again", async () => {
    const id = randomUUID();
    const a = await store.claim(id, 5000);
    assert.equal(await store.complete(id, (a as { token: string }).token), "completed");
    assert.equal(await store.complete(id, (a as { token: string }).token), "completed");
  });

  it("the same token claiming again (a retry after a lost reply) gets the lease back, same generation, renewed; another token does not", async () => {
    const id = randomUUID();
    const token = randomUUID();
    const first = await store.claim(id, 300, token);
    assert.ok(first.status === "claimed" && first.token === token && first.generation === 1);
    await sleep(100);
    const retry = await store.claim(id, 300, token);
    assert.deepEqual(retry, { status: "claimed", token, leaseMs: 300, generation: 1 });
    const until = Number(/^held:1:(\d+):/.exec(String(await admin.get(`t:${id}`)))![1]);
    const [sec, micro] = await admin.time();
    const serverNow = Number(sec) * 1000 + Math.floor(Number(micro) / 1000);
    assert.ok(until - serverNow > 250, `the retry renewed the lease from its own time (${until - serverNow} ms left)`);
    assert.equal((await store.claim(id, 300)).status, "in-progress", "a different token still waits");
    await sleep(400);
    const again = await store.claim(id, 300, token);
    assert.ok(again.status === "claimed" && again.generation === 1, "its own expired lease, untouched by others: the same claim");
    assert.equal(await store.complete(id, token), "completed");
  });

  it("release after expiry frees the record if nobody took over; a non-owner cannot release a completed record", async () => {
    const id = randomUUID();
    const a = await store.claim(id, 100);
    await sleep(200);
    assert.equal(await store.release(id, (a as { token: string }).token), "expired");
    const b = await store.claim(id, 5000);
    assert.ok(b.status === "claimed" && b.generation === 2);
    await store.complete(id, b.token);
    assert.equal(await store.release(id, "someone-else"), "completed");
    assert.deepEqual(await store.claim(id, 1000), { status: "completed" });
    assert.equal(await store.release(randomUUID(), "anyone"), "record-missing");
  });

  it("refuses a lease as long as the dedupe window (the record would vanish while held), and an empty token", async () => {
    const short = createRedisIdempotencyStore(redis, { keyPrefix: "t:", dedupeWindowMs: 1000 });
    await assert.rejects(short.claim(randomUUID(), 1000), /leaseMs \(1000\) must be shorter than dedupeWindowMs \(1000\)/);
    await assert.rejects(store.claim(randomUUID(), 1000, ""), /token must be a non-empty string/);
  });

  it("lease records are kept for the dedupe window (the fence), not for the lease", async () => {
    const id = randomUUID();
    await store.claim(id, 1000);
    const ttl = await admin.pttl(`t:${id}`);
    assert.ok(ttl > DEFAULT_DEDUPE_WINDOW_MS - 10_000, `ttl ${ttl}`);
  });

  it("reads records written by the previous script version: a done record stays done, a legacy lease is a live lease", async () => {
    const done = randomUUID();
    await admin.set(`t:${done}`, `done:${randomUUID()}`, "PX", 60_000);
    assert.deepEqual(await store.claim(done, 1000), { status: "completed" });
    const leased = randomUUID();
    const legacyToken = randomUUID();
    await admin.set(`t:${leased}`, `lease:${legacyToken}`, "PX", 300);
    const waiting = await store.claim(leased, 1000);
    assert.ok(waiting.status === "in-progress" && waiting.retryAfterMs > 100 && waiting.retryAfterMs <= 300, JSON.stringify(waiting));
    assert.equal(await store.complete(leased, legacyToken), "completed", "its holder (an old worker) can still complete it");
  });

  it("an unreadable record is an error naming the key, never taken for absent", async () => {
    const id = randomUUID();
    await admin.set(`t:${id}`, "garbage");
    await assert.rejects(store.claim(id, 1000), /unrecognised idempotency record at t:/);
  });

  it("each operation is one round trip: one EVALSHA sent, one script run by the server", async () => {
    const id = randomUUID();
    await store.claim(randomUUID(), 1000); // script cache warm
    const sent: string[] = [];
    const unwrap = recordCommands(redis, sent);
    try {
      const t0 = await commandCalls(admin);
      const claim = await store.claim(id, 1000);
      const t1 = await commandCalls(admin);
      await store.complete(id, (claim as { token: string }).token);
      const t2 = await commandCalls(admin);
      await store.claim(id, 1000);
      const t3 = await commandCalls(admin);
      assert.deepEqual(sent, ["evalsha", "evalsha", "evalsha"]);
      // Server side: one EVALSHA each; commandstats also counts the commands run inside the script.
      assert.deepEqual(diffCalls(t0, t1), { evalsha: 1, time: 1, get: 1, set: 1 });
      assert.deepEqual(diffCalls(t1, t2), { evalsha: 1, time: 1, get: 1, set: 1 });
      assert.deepEqual(diffCalls(t2, t3), { evalsha: 1, time: 1, get: 1 });
    } finally {
      unwrap();
    }
  });

  it("keeps working after Redis restarts with an empty script cache", async () => {
    await server.restart();
    await sleep(300);
    const id = randomUUID();
    let claim;
    for (let i = 0; ; i++) {
      try {
        claim = await store.claim(id, 1000);
        break;
      } catch (error) {
        if (i > 50) throw error;
        await sleep(100);
      }
    }
    assert.equal(claim.status, "claimed");
  });
});
