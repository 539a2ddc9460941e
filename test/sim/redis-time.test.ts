import { strict as assert } from "assert";
import type Redis from "ioredis";
import { createRedisIdempotencyStore, recordState } from "../../runtime/idempotency-store";
import { RedisServer, startRedisServer } from "../../tools/local-servers/redis-server";
import { connectRedis } from "../../tools/local-servers/redis-client";
import { SimClock } from "../../tools/sim/clock";
import { followClock } from "../../tools/sim/redis-time";

/** One clock: the idempotency Redis ages with the simulated clock's jumps (tools/sim/redis-time.ts), on a real redis-server. */
describe("the idempotency Redis follows the simulated clock (tools/sim/redis-time.ts)", function () {
  this.timeout(20_000);
  let server: RedisServer;
  let redis: Redis;
  const WINDOW = 7 * 86_400_000;

  before(async () => {
    server = await startRedisServer();
    redis = await connectRedis(server);
  });
  after(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it("a jump ages leases (Redis TIME vs lease end) and TTLs as the store sees them, expires what is past, and leaves other keys alone", async () => {
    const clock = new SimClock();
    const follower = followClock(redis, clock, ["t1:"], "t1-offsets");
    const store = createRedisIdempotencyStore(redis, { keyPrefix: "t1:", dedupeWindowMs: WINDOW });
    clock.start();
    try {
      assert.equal((await store.claim("live", 10_000, "a")).status, "claimed");
      assert.equal((await store.claim("done", 10_000, "a")).status, "claimed");
      assert.equal(await store.complete("done", "a"), "completed");
      await redis.set("other:k", "v", "PX", 5_000);

      await clock.sleep(9_000);
      assert.ok(follower.agedMs() >= 8_900, `aged ${follower.agedMs()}`);
      const blocked = await store.claim("live", 10_000, "b");
      assert.ok(blocked.status === "in-progress" && blocked.retryAfterMs <= 1_100 && blocked.retryAfterMs > 500, JSON.stringify(blocked));
      assert.ok((await redis.pttl("other:k")) > 4_000, "a key outside the prefixes is not aged");

      await clock.sleep(1_500);
      const takeover = await store.claim("live", 10_000, "b");
      assert.deepEqual(takeover.status === "claimed" && takeover.generation, 2, "the lease ran out after the jumps: a takeover");

      // The completed record was not touched since: the full pass ages it as a read would.
      await follower.catchUp();
      const donePttl = await redis.pttl("t1:done");
      assert.ok(donePttl <= WINDOW - 10_400 && donePttl > WINDOW - 12_000, String(donePttl));

      await clock.sleep(WINDOW);
      assert.equal((await store.claim("done", 10_000, "c")).status, "claimed", "a completed record past the dedupe window is gone");
      assert.equal(recordState(await redis.get("t1:done")), "held");
    } finally {
      clock.stop();
      await follower.stop();
    }
    assert.equal(await redis.exists("t1-offsets"), 0);
  });

  it("the full pass moves a held record's lease end back and expires what is past its TTL", async () => {
    const clock = new SimClock();
    const follower = followClock(redis, clock, ["t2:"], "t2-offsets");
    clock.start();
    try {
      const leaseEnd = clock.now() + 60_000;
      await redis.set("t2:k", `held:1:${leaseEnd}:x`, "PX", 120_000);
      await redis.set("t2:gone", "done:x", "PX", 50_000);
      await clock.sleep(100_000);
      assert.deepEqual(await follower.catchUp(), { aged: 1, expired: 1 });
      const pttl = await redis.pttl("t2:k");
      assert.ok(pttl > 0 && pttl <= 21_000, `PTTL ${pttl}`);
      const [, , until] = (await redis.get("t2:k"))!.split(":");
      assert.equal(Number(until), leaseEnd - follower.agedMs(), "the lease end moved back by the jumps");
      assert.equal(await redis.exists("t2:gone"), 0);
    } finally {
      clock.stop();
      await follower.stop();
    }
  });

  it("a jump while a command is in flight stops the clock with an error instead of racing it", async () => {
    const clock = new SimClock();
    const follower = followClock(redis, clock, ["t3:"], "t3-offsets");
    // A command the clock does not know about: only the follower's count sees it.
    const slow = redis.blpop("t3:list", 0.3);
    (clock as unknown as { inFlight: number }).inFlight = 0;
    clock.start();
    let fired = false;
    void clock.sleep(5_000).then(() => (fired = true));
    await new Promise((r) => setTimeout(r, 50));
    clock.stop();
    await slow;
    await follower.stop();
    assert.match(String(clock.error), /jumped \d+ ms while 1 idempotency Redis commands were in flight/);
    assert.equal(fired, false);
  });
});
