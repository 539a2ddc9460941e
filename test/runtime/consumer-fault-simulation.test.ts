import { strict as assert } from "assert";
import { createHash, randomUUID } from "crypto";
import Redis from "ioredis";
import { BusinessHandler, createConsumer, Settlement } from "../../runtime/consumer";
import { createRedisIdempotencyStore } from "../../runtime/idempotency-store";
import { createNaiveSetNxConsumer } from "../../runtime/naive-setnx-consumer";
import { silentLogger } from "../../runtime/logger";
import { RedisServer, startRedisServer } from "../../tools/local-servers/redis-server";
import { connectRedis } from "../../tools/local-servers/redis-client";
import { Delivery, SimulatedQueue } from "../support/simulated-queue";
import { envelopeOf, makeEvent } from "../support/events";

/**
 * Seeded fault simulation (design doctrine): the real consumer and a real Redis, driven through
 * duplicate publications, handler failures, crashes before and after the effect, handlers that
 * overrun into their deadline, and lock expiry on settlement. Counts lost and duplicated effects.
 * Faults are a pure function of (seed, message, delivery number), so a seed reproduces the same
 * faults whatever the interleaving. Re-run one with SIM_SEED=<seed>.
 */

type Fault = "none" | "throw-before-effect" | "crash-before-effect" | "crash-after-effect" | "overrun-deadline" | "lock-lost-on-complete";

function draw(seed: number, key: string): number {
  return createHash("sha256").update(`${seed}:${key}`).digest().readUInt32BE(0) / 2 ** 32;
}

function faultFor(seed: number, messageIndex: number, delivery: number): Fault {
  const r = draw(seed, `fault:${messageIndex}:${delivery}`);
  if (r < 0.12) return "throw-before-effect";
  if (r < 0.16) return "crash-before-effect";
  if (r < 0.18) return "crash-after-effect";
  if (r < 0.22) return "overrun-deadline";
  if (r < 0.25) return "lock-lost-on-complete";
  return "none";
}

const LOCK_MS = 250;
const MAX_DELIVERY_COUNT = 10;
const WORKERS = 6;
const EVENTS = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const never = new Promise<never>(() => {});

interface SimulationResult {
  seed: number;
  messages: number;
  lost: string[];
  duplicated: string[];
  crashedAfterEffect: Set<string>;
  /**
   * Events with an effect applied after its delivery's message lock had run out (measured on the
   * queue's lock, wall clock): the lease is never longer than the lock, so another worker could
   * legitimately claim it. On a loaded machine a stalled event loop puts a run there.
   */
  appliedAfterLock: Set<string>;
  deadLettered: number;
  faults: Record<Fault, number>;
}

type Handle = (message: { body: unknown; messageId: string; deliveryCount: number; lockedUntilUtc: Date }, settle: Settlement) => Promise<unknown>;

async function simulate(seed: number, makeHandle: (handler: BusinessHandler) => Handle): Promise<SimulationResult> {
  // Each event is published 1–3 times (at-least-once upstream), in a seeded order.
  const events = Array.from({ length: EVENTS }, () => makeEvent());
  const bodies = events.flatMap((e, i) => {
    const copies = 1 + Math.floor(draw(seed, `copies:${i}`) * 3);
    return Array.from({ length: copies }, (_, c) => ({ eventId: e.metadata.event_id, body: JSON.stringify(envelopeOf(e)), order: draw(seed, `order:${i}:${c}`) }));
  });
  bodies.sort((a, b) => a.order - b.order);
  const queue = new SimulatedQueue(bodies, LOCK_MS, MAX_DELIVERY_COUNT);

  const effects = new Map<string, number>();
  const crashedAfterEffect = new Set<string>();
  const appliedAfterLock = new Set<string>();
  const faults = { none: 0, "throw-before-effect": 0, "crash-before-effect": 0, "crash-after-effect": 0, "overrun-deadline": 0, "lock-lost-on-complete": 0 };
  // The delivery's fault travels to the handler through this map (keyed by messageId).
  const faultOf = new Map<string, { fault: Fault; crashed: () => void; lockedUntil: number }>();
  const applyEffect = (eventId: string, lockedUntil: number) => {
    effects.set(eventId, (effects.get(eventId) ?? 0) + 1);
    if (Date.now() > lockedUntil) appliedAfterLock.add(eventId);
  };

  const handler: BusinessHandler = async (event, ctx) => {
    const plan = faultOf.get(ctx.messageId!)!;
    await sleep(Math.floor(draw(seed, `latency:${ctx.messageId}`) * 8));
    switch (plan.fault) {
      case "throw-before-effect":
        throw new Error("injected: downstream refused");
      case "crash-before-effect":
        plan.crashed();
        return never;
      case "crash-after-effect":
        applyEffect(event.metadata.event_id, plan.lockedUntil);
        crashedAfterEffect.add(event.metadata.event_id);
        plan.crashed();
        return never;
      case "overrun-deadline":
        // A slow dependency that honours the AbortSignal: no effect once aborted.
        await new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
        return;
      default:
        applyEffect(event.metadata.event_id, plan.lockedUntil);
    }
  };
  const handle = makeHandle(handler);

  const worker = async () => {
    while (!queue.settledAll) {
      const delivery: Delivery | undefined = queue.receive();
      if (!delivery) {
        await sleep(5);
        continue;
      }
      const m = delivery.message;
      const fault = faultFor(seed, m.index, m.deliveryCount);
      faults[fault]++;
      const messageId = `${m.index}#${m.deliveryCount}`;
      let crashed!: () => void;
      const crash = new Promise<void>((r) => (crashed = r));
      faultOf.set(messageId, { fault, crashed, lockedUntil: delivery.lockedUntil.getTime() });
      const settle: Settlement = {
        complete: async () => {
          if (fault === "lock-lost-on-complete") throw new Error("MessageLockLost (injected)");
          queue.complete(delivery);
        },
        abandon: async () => queue.abandon(delivery),
        deadLetter: async (reason) => queue.deadLetter(delivery, reason),
      };
      // A crashed worker never settles: its lock runs out and the message comes back.
      await Promise.race([
        // A host that sees the call throw leaves the message to its lock, as here.
        handle({ body: m.body, messageId, deliveryCount: m.deliveryCount, lockedUntilUtc: delivery.lockedUntil }, settle).catch(() => undefined),
        crash,
      ]);
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, worker));

  const ids = [...new Set(bodies.map((b) => b.eventId))];
  return {
    seed,
    messages: bodies.length,
    lost: ids.filter((id) => (effects.get(id) ?? 0) === 0),
    duplicated: ids.filter((id) => (effects.get(id) ?? 0) > 1),
    crashedAfterEffect,
    appliedAfterLock,
    deadLettered: queue.messages.filter((m) => m.state === "dead").length,
    faults,
  };
}

describe("runtime/consumer fault simulation (seeded, real redis-server)", function () {
  this.timeout(60_000);
  let server: RedisServer;
  let redis: Redis;
  const seeds = process.env.SIM_SEED ? [Number(process.env.SIM_SEED)] : [1, 2];

  before(async () => {
    server = await startRedisServer();
    redis = await connectRedis(server);
  });
  after(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  for (const seed of seeds) {
    it(`claim/complete consumer, seed ${seed}: no event lost; an effect repeats only after a crash between effect and completion`, async () => {
      const result = await simulate(seed, (handler) => {
        const consumer = createConsumer({
          store: createRedisIdempotencyStore(redis, { keyPrefix: `sim:${seed}:${randomUUID()}:` }),
          handler,
          logger: silentLogger,
          messageLockMs: LOCK_MS,
          safetyMarginMs: 60,
        });
        return (m, s) => consumer.handle(m, s);
      });
      const summary = `seed ${seed} (re-run with SIM_SEED=${seed}): ${JSON.stringify({ ...result, crashedAfterEffect: result.crashedAfterEffect.size, appliedAfterLock: [...result.appliedAfterLock] })}`;
      assert.ok(result.faults["throw-before-effect"] > 0 && result.faults["crash-before-effect"] > 0 && result.faults["overrun-deadline"] > 0, `faults were injected; ${summary}`);
      assert.deepEqual(result.lost, [], `lost events; ${summary}`);
      if (process.env.SIM_VERBOSE) console.log(summary);
      // Excused: a crash between effect and completion, or a run that applied its effect after its
      // message lock (so its lease) had run out, measured; both are the consumer's documented windows.
      const unexplained = result.duplicated.filter((id) => !result.crashedAfterEffect.has(id) && !result.appliedAfterLock.has(id));
      assert.deepEqual(unexplained, [], `duplicated effects without a crash between effect and completion or an effect after the lock ran out; ${summary}`);
    });
  }

  it(`the SET NX baseline under the same faults loses events (seed ${seeds[0]})`, async () => {
    const result = await simulate(seeds[0], (handler) => {
      const naive = createNaiveSetNxConsumer({ redis, handler, keyPrefix: `naive-sim:${randomUUID()}:` });
      return (m, s) => naive.handle(m, s);
    });
    assert.ok(result.lost.length > 0, `expected losses from the naive consumer; got ${JSON.stringify(result.lost.length)}`);
  });
});
