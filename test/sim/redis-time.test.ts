import { strict as assert } from "assert";
import type Redis from "ioredis";
import { createRedisIdempotencyStore, recordState } from "../../runtime/idempotency-store";
import { RedisServer, startRedisServer } from "../../tools/local-servers/redis-server";
import { connectRedis } from "../../tools/local-servers/redis-client";
import { SimClock } from "../../tools/sim/clock";
import { ageKeys, followClock, trackCommands } from "../../tools/sim/redis-time";

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

  it("a jump ages leases (Redis TIME vs lease end) and TTLs, expires what is past, and leaves other keys alone", async () => {
    const store = createRedisIdempotencyStore(redis, { keyPrefix: "t1:", dedupeWindowMs: WINDOW });
    assert.equal((await store.claim("live", 10_000, "a")).status, "claimed");
    assert.equal((await store.claim("done", 10_000, "a")).status, "claimed");
    assert.equal(await store.complete("done", "a"), "completed");
    await redis.set("other:k", "v", "PX", 5_000);

    await ageKeys(redis, ["t1:*"], 9_000);
    const blocked = await store.claim("live", 10_000, "b");
    assert.equal(blocked.status, "in-progress");
    assert.ok(blocked.status === "in-progress" && blocked.retryAfterMs <= 1_000 && blocked.retryAfterMs > 500, JSON.stringify(blocked));
    const donePttl = await redis.pttl("t1:done");
    assert.ok(donePttl <= WINDOW - 9_000 && donePttl > WINDOW - 10_000, String(donePttl));
    assert.ok((await redis.pttl("other:k")) > 4_000, "a key outside the patterns is not aged");

    await ageKeys(redis, ["t1:*"], 1_500);
    const takeover = await store.claim("live", 10_000, "b");
    assert.deepEqual(takeover.status === "claimed" && takeover.generation, 2, "the lease ran out after the jumps: a takeover");

    const [, expired] = await ageKeys(redis, ["t1:*"], WINDOW);
    assert.ok(expired >= 1);
    assert.equal(recordState(await redis.get("t1:done")), "absent", "a completed record past the dedupe window is gone");
    assert.equal((await store.claim("done", 10_000, "c")).status, "claimed");
  });

  it("the clock ages Redis by each jump before the timer fires, and stops jumping when a command would race the jump", async () => {
    const clock = new SimClock();
    const tracker = trackCommands(redis, clock);
    const follow = followClock(redis, clock, ["t2:*"], tracker);
    const leaseEnd = clock.now() + 60_000;
    await redis.set("t2:k", `held:1:${leaseEnd}:x`, "PX", 120_000);
    clock.start();
    await clock.sleep(100_000);
    assert.ok(follow.agedMs() >= 99_000, `aged ${follow.agedMs()}`);
    const pttl = await redis.pttl("t2:k");
    assert.ok(pttl > 0 && pttl <= 21_000, `PTTL ${pttl}`);
    const [, , until] = (await redis.get("t2:k"))!.split(":");
    assert.equal(Number(until), leaseEnd - follow.agedMs(), "the lease end moved back by the jumps");
    await clock.sleep(30_000);
    assert.equal(await redis.exists("t2:k"), 0, "past its TTL in simulated time: gone");
    clock.stop();
    tracker.stop();

    const racing = new SimClock();
    followClock(redis, racing, ["t2:*"], { inFlight: () => 1, stop: () => {} });
    racing.start();
    let fired = false;
    void racing.sleep(5_000).then(() => (fired = true));
    await new Promise((r) => setTimeout(r, 100));
    racing.stop();
    assert.match(String(racing.error), /jumped 5000 ms while 1 idempotency Redis commands were in flight/);
    assert.equal(fired, false);
  });
});
