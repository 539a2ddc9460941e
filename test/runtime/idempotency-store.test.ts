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

  it("fencing: a stale owner whose lease expired can neither complete nor release the new owner's claim", async () => {
    const id = randomUUID();
    const stale = await store.claim(id, 150);
    await sleep(250);
    const fresh = await store.claim(id, 5000);
    assert.equal(fresh.status, "claimed");
    const staleToken = (stale as { token: string }).token;
    assert.equal(await store.complete(id, staleToken), "claimed-by-other");
    assert.equal(await store.release(id, staleToken), "claimed-by-other");
    assert.equal(await admin.get(`t:${id}`), `lease:${(fresh as { token: string }).token}`, "the new claim is untouched");
    assert.equal(await store.complete(id, (fresh as { token: string }).token), "completed");
    assert.equal(await store.complete(id, staleToken), "completed-by-other", "and the stale owner learns its effect was duplicated");
  });

  it("a lease that expired with nobody else claiming can still be completed by its owner (nobody else ran it)", async () => {
    const id = randomUUID();
    const a = await store.claim(id, 100);
    await sleep(200);
    assert.equal(await store.complete(id, (a as { token: string }).token), "completed-after-lease-expiry");
    assert.deepEqual(await store.claim(id, 1000), { status: "completed" });
  });

  it("release after expiry changes nothing; a non-owner cannot release a completed record", async () => {
    const id = randomUUID();
    const a = await store.claim(id, 100);
    await sleep(200);
    assert.equal(await store.release(id, (a as { token: string }).token), "expired");
    const b = await store.claim(id, 5000);
    await store.complete(id, (b as { token: string }).token);
    assert.equal(await store.release(id, "someone-else"), "completed");
    assert.deepEqual(await store.claim(id, 1000), { status: "completed" });
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
      assert.deepEqual(diffCalls(t0, t1), { evalsha: 1, get: 1, set: 1 });
      assert.deepEqual(diffCalls(t1, t2), { evalsha: 1, get: 1, set: 1 });
      assert.deepEqual(diffCalls(t2, t3), { evalsha: 1, get: 1 });
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
