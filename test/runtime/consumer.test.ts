import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import Redis from "ioredis";
import { BusinessHandler, ConsumerMessage, ConsumerOptions, createConsumer, settlementFromReceiver } from "../../runtime/consumer";
import { createRedisIdempotencyStore, IdempotencyStore } from "../../runtime/idempotency-store";
import { createNaiveSetNxConsumer } from "../../runtime/naive-setnx-consumer";
import { DomainEvent } from "../../runtime/event";
import { RedisServer, startRedisServer } from "../../tools/local-servers/redis-server";
import { connectRedis, waitForReady } from "../../tools/local-servers/redis-client";
import { envelopeOf, makeEvent } from "../support/events";
import { recordingSettlement } from "../support/settlement";
import { memoryLogger } from "../support/memory-logger";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KEY_PREFIX = "c:";

/** A business effect we can count: the thing that must happen exactly once per event id. */
class Ledger {
  readonly effects = new Map<string, number>();
  count(id: string) {
    return this.effects.get(id) ?? 0;
  }
  apply(id: string) {
    this.effects.set(id, this.count(id) + 1);
  }
}

function message(event: DomainEvent | unknown, deliveryCount = 1, extra: Partial<ConsumerMessage> = {}): ConsumerMessage {
  const body = isDomainEvent(event) ? JSON.stringify(envelopeOf(event)) : event;
  return { body, messageId: randomUUID(), deliveryCount, ...extra };
}
/** The lease left on a held record, by Redis' clock (the record itself is kept for the dedupe window). */
async function leaseLeftMs(admin: Redis, key: string): Promise<number | "released"> {
  const value = String(await admin.get(key));
  if (value.startsWith("free:")) return "released";
  const held = /^held:\d+:(\d+):/.exec(value);
  if (!held) throw new Error(`not a lease record: ${value}`);
  const [sec, micro] = await admin.time();
  return Number(held[1]) - (Number(sec) * 1000 + Math.floor(Number(micro) / 1000));
}
function isDomainEvent(value: unknown): value is DomainEvent {
  return typeof value === "object" && value !== null && "metadata" in value && "data" in value;
}

describe("runtime/consumer (real redis-server)", function () {
  this.timeout(30_000);
  let server: RedisServer;
  let redis: Redis;
  let admin: Redis;
  let store: IdempotencyStore;

  before(async () => {
    server = await startRedisServer();
    redis = await connectRedis(server);
    admin = await connectRedis(server);
    store = createRedisIdempotencyStore(redis, { keyPrefix: KEY_PREFIX });
  });
  after(async () => {
    redis?.disconnect();
    admin?.disconnect();
    await server?.stop();
  });
  beforeEach(async () => {
    if (!server.isRunning()) await server.restart();
    await waitForReady(redis);
    await waitForReady(admin);
    await admin.flushall();
  });

  function consumerWith(handler: BusinessHandler, overrides: Partial<ConsumerOptions> = {}) {
    const logger = memoryLogger();
    const consumer = createConsumer({
      store,
      handler,
      logger,
      messageLockMs: 1000,
      leaseMs: 1000,
      safetyMarginMs: 200,
      inProgressMaxWaitMs: 0,
      storeOutageMaxWaitMs: 0,
      ...overrides,
    });
    return { consumer, logger };
  }
  const recordingHandler = (ledger: Ledger): BusinessHandler => async (event) => ledger.apply(event.metadata.event_id);

  it("new event: runs the handler, records completion, acknowledges", async () => {
    const ledger = new Ledger();
    const { consumer } = consumerWith(recordingHandler(ledger));
    const event = makeEvent();
    const settle = recordingSettlement();
    const outcome = await consumer.handle(message(event), settle);
    assert.equal(outcome.kind, "processed");
    assert.deepEqual(settle.records, [{ action: "complete" }]);
    assert.equal(ledger.count(event.metadata.event_id), 1);
    assert.match(String(await admin.get(KEY_PREFIX + event.metadata.event_id)), /^done:/);
  });

  it("duplicate delivery (a second Service Bus message for the same event): one effect, acknowledged without running", async () => {
    const ledger = new Ledger();
    const { consumer } = consumerWith(recordingHandler(ledger));
    const event = makeEvent();
    await consumer.handle(message(event), recordingSettlement());
    const settle = recordingSettlement();
    const outcome = await consumer.handle(message(event), settle); // a bare copy would do the same
    assert.equal(outcome.kind, "duplicate");
    assert.deepEqual(settle.records, [{ action: "complete" }]);
    assert.equal(ledger.count(event.metadata.event_id), 1);
    const bare = await consumer.handle(message(JSON.stringify(event)), recordingSettlement());
    assert.equal(bare.kind, "duplicate");
    assert.equal(ledger.count(event.metadata.event_id), 1);
  });

  it("in progress elsewhere: the copy is abandoned (not acknowledged) and, once the first completes, acknowledged as duplicate", async () => {
    const ledger = new Ledger();
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const slow = consumerWith(async (e) => {
      await gate;
      ledger.apply(e.metadata.event_id);
    }).consumer;
    const other = consumerWith(recordingHandler(ledger)).consumer;
    const event = makeEvent();

    const first = slow.handle(message(event), recordingSettlement());
    await sleep(50);
    const copySettle = recordingSettlement();
    const copy = await other.handle(message(event), copySettle);
    assert.equal(copy.kind, "in-progress-elsewhere");
    assert.deepEqual(copySettle.records, [{ action: "abandon" }]);
    assert.equal(ledger.count(event.metadata.event_id), 0, "the copy did not run the handler");

    open();
    assert.equal((await first).kind, "processed");
    const redelivered = await other.handle(message(event, 2), recordingSettlement());
    assert.equal(redelivered.kind, "duplicate");
    assert.equal(ledger.count(event.metadata.event_id), 1);
  });

  it("in progress elsewhere, with waiting allowed: the copy polls and is acknowledged as duplicate in the same delivery", async () => {
    const ledger = new Ledger();
    const holder = consumerWith(async (e) => {
      await sleep(300);
      ledger.apply(e.metadata.event_id);
    }).consumer;
    const copyConsumer = consumerWith(recordingHandler(ledger), { inProgressMaxWaitMs: 1000 }).consumer;
    const event = makeEvent();
    const first = holder.handle(message(event), recordingSettlement());
    await sleep(30);
    const settle = recordingSettlement();
    const copy = await copyConsumer.handle(message(event), settle);
    assert.equal(copy.kind, "duplicate");
    assert.deepEqual(settle.records, [{ action: "complete" }]);
    assert.equal((await first).kind, "processed");
    assert.equal(ledger.count(event.metadata.event_id), 1);
  });

  it("handler throws: lease released, message abandoned, the redelivery runs it: one effect", async () => {
    const ledger = new Ledger();
    let attempts = 0;
    const { consumer, logger } = consumerWith(async (e) => {
      if (++attempts === 1) throw new Error("downstream 503");
      ledger.apply(e.metadata.event_id);
    });
    const event = makeEvent();
    const settle1 = recordingSettlement();
    const failed = await consumer.handle(message(event, 1), settle1);
    assert.equal(failed.kind, "handler-failed");
    assert.ok(failed.kind === "handler-failed" && failed.released === "released");
    assert.deepEqual(settle1.records, [{ action: "abandon" }]);
    assert.match(String(await admin.get(KEY_PREFIX + event.metadata.event_id)), /^free:1:/, "the lease is released (the record keeps its fence)");
    assert.ok(logger.at("error").some((l) => l.attributes.eventId === event.metadata.event_id));

    const settle2 = recordingSettlement();
    const retried = await consumer.handle(message(event, 2), settle2);
    assert.equal(retried.kind, "processed");
    assert.deepEqual(settle2.records, [{ action: "complete" }]);
    assert.equal(ledger.count(event.metadata.event_id), 1);
  });

  it("regression: the source design's SET NX consumer LOSES that same event (key kept on failure, redelivery acked as duplicate)", async () => {
    const ledger = new Ledger();
    let attempts = 0;
    const naive = createNaiveSetNxConsumer({
      redis,
      handler: async (e) => {
        if (++attempts === 1) throw new Error("downstream 503");
        ledger.apply(e.metadata.event_id);
      },
    });
    const event = makeEvent();
    const first = await naive.handle(message(event, 1), recordingSettlement());
    assert.equal(first.kind, "handler-failed");
    const settle = recordingSettlement();
    const second = await naive.handle(message(event, 2), settle);
    assert.equal(second.kind, "duplicate");
    assert.deepEqual(settle.records, [{ action: "complete" }], "the redelivery is acknowledged …");
    assert.equal(attempts, 1, "… without running the handler again …");
    assert.equal(ledger.count(event.metadata.event_id), 0, "… so the event's effect never happens: lost");
  });

  describe("two workers, the lock (and lease) expiring between them", () => {
    it("a worker that claimed and died: the copy waits while the lease holds, then runs once", async () => {
      const ledger = new Ledger();
      const { consumer } = consumerWith(recordingHandler(ledger));
      const event = makeEvent();
      // Worker A claimed with the same lease the consumer uses, then crashed.
      assert.equal((await store.claim(event.metadata.event_id, 1000)).status, "claimed");

      const early = await consumer.handle(message(event, 2), recordingSettlement());
      assert.equal(early.kind, "in-progress-elsewhere");
      await sleep(1100); // the lock expires; the lease (≤ lock) has expired with it
      const late = await consumer.handle(message(event, 3), recordingSettlement());
      assert.equal(late.kind, "processed");
      assert.equal(ledger.count(event.metadata.event_id), 1);
    });

    it("a worker that claimed and died, with waiting allowed: the copy waits out the lease and runs once, in one delivery", async () => {
      const ledger = new Ledger();
      const { consumer } = consumerWith(recordingHandler(ledger), { inProgressMaxWaitMs: 1000 });
      const event = makeEvent();
      assert.equal((await store.claim(event.metadata.event_id, 400)).status, "claimed"); // A claimed, then crashed
      const settle = recordingSettlement();
      const outcome = await consumer.handle(message(event, 2), settle);
      assert.equal(outcome.kind, "processed");
      assert.deepEqual(settle.records, [{ action: "complete" }]);
      assert.equal(ledger.count(event.metadata.event_id), 1);
    });

    it("a slow handler is aborted before its lease expires, releases, and the next worker applies the effect once", async () => {
      const ledger = new Ledger();
      const key = KEY_PREFIX;
      let leaseLeftAtAbort = -1 as number | "released";
      let abortedAt = 0;
      const started = Date.now();
      const slow = consumerWith(async (e, ctx) => {
        await new Promise<void>((_, reject) =>
          ctx.signal.addEventListener("abort", () => {
            abortedAt = Date.now();
            reject(ctx.signal.reason);
          }),
        );
        ledger.apply(e.metadata.event_id); // never reached: the effect is abandoned on abort
      }).consumer;
      const next = consumerWith(recordingHandler(ledger)).consumer;
      const event = makeEvent();
      const slowHandle = slow.handle(message(event), recordingSettlement());
      // Observe the lease at the moment of abort from outside.
      const probe = (async () => {
        while (abortedAt === 0) await sleep(5);
        leaseLeftAtAbort = await leaseLeftMs(admin, key + event.metadata.event_id);
      })();
      const outcome = await slowHandle;
      await probe;
      assert.equal(outcome.kind, "handler-failed");
      assert.ok(abortedAt - started < 1000 - 100, `aborted after ${abortedAt - started} ms, before the 1000 ms lease`);
      assert.ok(leaseLeftAtAbort === "released" || leaseLeftAtAbort > 0, `abort fired while the lease was still ours (or already released): ${leaseLeftAtAbort}`);
      const retried = await next.handle(message(event, 2), recordingSettlement());
      assert.equal(retried.kind, "processed");
      assert.equal(ledger.count(event.metadata.event_id), 1);
    });

    it("a stale worker that overran its lease cannot complete over the new owner: reported as lease-lost, not acknowledged", async () => {
      const ledger = new Ledger();
      let openB!: () => void;
      const gateB = new Promise<void>((r) => (openB = r));
      const a = consumerWith(async (e) => {
        await sleep(1300); // ignores its AbortSignal: the documented residual risk
        ledger.apply(e.metadata.event_id);
      });
      const b = consumerWith(async (e) => {
        await gateB;
        ledger.apply(e.metadata.event_id);
      });
      const event = makeEvent();
      const settleA = recordingSettlement();
      const aHandle = a.consumer.handle(message(event, 1), settleA);
      await sleep(1100);
      const bHandle = b.consumer.handle(message(event, 2), recordingSettlement());
      const outcomeA = await aHandle;
      assert.equal(outcomeA.kind, "lease-lost");
      assert.ok(outcomeA.kind === "lease-lost" && outcomeA.otherWorker === "in-progress");
      assert.deepEqual(settleA.records, [{ action: "abandon" }], "not acknowledged blindly");
      assert.ok(a.logger.at("error").some((l) => /another worker has claimed/.test(l.message)));
      assert.match(String(await admin.get(KEY_PREFIX + event.metadata.event_id)), /^held:2:/, "B's claim untouched");

      openB();
      assert.equal((await bHandle).kind, "processed");
      // A's abandoned message comes back and is now settled by the record B completed.
      assert.equal((await a.consumer.handle(message(event, 2), recordingSettlement())).kind, "duplicate");
      // Both handlers ran: that is the residual risk when a handler ignores its deadline. It is reported, not hidden.
      assert.equal(ledger.count(event.metadata.event_id), 2);
    });

    it("if the new owner already completed, the stale worker reports the double effect and acknowledges (the event is done)", async () => {
      const ledger = new Ledger();
      const a = consumerWith(async (e) => {
        await sleep(1300);
        ledger.apply(e.metadata.event_id);
      });
      const b = consumerWith(recordingHandler(ledger));
      const event = makeEvent();
      const settleA = recordingSettlement();
      const aHandle = a.consumer.handle(message(event), settleA);
      await sleep(1100);
      assert.equal((await b.consumer.handle(message(event, 2), recordingSettlement())).kind, "processed");
      const outcomeA = await aHandle;
      assert.ok(outcomeA.kind === "lease-lost" && outcomeA.otherWorker === "completed");
      assert.deepEqual(settleA.records, [{ action: "complete" }]);
      assert.ok(a.logger.at("error").some((l) => /applied twice/.test(l.message)));
      assert.equal(a.consumer.counts.effectMayHaveRunTwice, 1);
    });
  });

  describe("fencing after two expiries (found on a real Redis)", () => {
    it("A overruns, B takes over, applies the effect and crashes, B's lease expires, then A completes: reported as a possible double effect, counted, acknowledged", async () => {
      const ledger = new Ledger();
      let openA!: () => void;
      const gateA = new Promise<void>((r) => (openA = r));
      const a = consumerWith(async (e) => {
        await gateA; // ignores its AbortSignal, outlives its own lease and B's
        ledger.apply(e.metadata.event_id);
      });
      const b = consumerWith(async (e) => {
        ledger.apply(e.metadata.event_id);
        await new Promise<never>(() => {}); // B crashes right after its effect: it never completes
      });
      const event = makeEvent();
      const key = KEY_PREFIX + event.metadata.event_id;
      const leaseExpired = async (generation: number) => {
        for (;;) {
          if (String(await admin.get(key)).startsWith(`held:${generation}:`)) {
            const left = await leaseLeftMs(admin, key);
            if (typeof left === "number" && left <= 0) return;
          }
          await sleep(20);
        }
      };
      const settleA = recordingSettlement();
      const aHandle = a.consumer.handle(message(event, 1), settleA);
      await leaseExpired(1); // A's lease is gone, by Redis' clock
      void b.consumer.handle(message(event, 2), recordingSettlement());
      await leaseExpired(2); // B took over, applied its effect, crashed; its lease is gone too
      assert.equal(ledger.count(event.metadata.event_id), 1, "B's effect");
      openA();
      const outcomeA = await aHandle;
      assert.ok(outcomeA.kind === "lease-lost" && outcomeA.otherWorker === "took-over", JSON.stringify(outcomeA));
      assert.deepEqual(settleA.records, [{ action: "complete" }], "the event is done: recording it prevents a third run");
      assert.match(String(await admin.get(key)), /^done:/);
      assert.ok(a.logger.at("error").some((l) => /may have been applied twice/.test(l.message) && l.attributes.eventId === event.metadata.event_id));
      assert.equal(a.consumer.counts.effectMayHaveRunTwice, 1);
      assert.equal(a.consumer.counts["lease-lost"], 1);
      assert.equal(ledger.count(event.metadata.event_id), 2, "the double effect the report is about");
      assert.equal((await a.consumer.handle(message(event, 3), recordingSettlement())).kind, "duplicate");
    });

    it("A overruns, nobody takes over: A's late completion is a clean 'processed' (nobody else ran it)", async () => {
      const ledger = new Ledger();
      const a = consumerWith(async (e) => {
        await sleep(1200);
        ledger.apply(e.metadata.event_id);
      });
      const outcome = await a.consumer.handle(message(makeEvent()), recordingSettlement());
      assert.ok(outcome.kind === "processed" && outcome.leaseExpiredBeforeComplete && !outcome.recordMissing, JSON.stringify(outcome));
      assert.equal(a.consumer.counts.effectMayHaveRunTwice, 0);
      assert.equal(a.logger.at("error").length, 0);
    });

    it("the record lost between claim and complete (Redis data loss): acknowledged, reported as an error and counted", async () => {
      const a = consumerWith(async (e) => {
        await admin.del(KEY_PREFIX + e.metadata.event_id);
      });
      const outcome = await a.consumer.handle(message(makeEvent()), recordingSettlement());
      assert.ok(outcome.kind === "processed" && outcome.recordMissing, JSON.stringify(outcome));
      assert.equal(a.consumer.counts.recordMissing, 1);
      assert.ok(a.logger.at("error").some((l) => /record was missing/.test(l.message)));
    });
  });

  describe("lockedUntilUtc that is not a valid date", () => {
    for (const [name, value] of [
      ["an invalid Date", new Date("not a date")],
      ["a string", "2026-12-01T10:00:00Z"],
    ] as const) {
      it(`${name}: treated as absent with a warning, the event processed (never a store outage)`, async () => {
        const ledger = new Ledger();
        const { consumer, logger } = consumerWith(recordingHandler(ledger));
        const event = makeEvent();
        const settle = recordingSettlement();
        const outcome = await consumer.handle(message(event, 1, { lockedUntilUtc: value as Date }), settle);
        assert.equal(outcome.kind, "processed", JSON.stringify(outcome));
        assert.deepEqual(settle.records, [{ action: "complete" }]);
        assert.equal(ledger.count(event.metadata.event_id), 1);
        assert.ok(logger.at("warn").some((l) => /lockedUntilUtc is not a valid date/.test(l.message) && l.attributes.eventId === event.metadata.event_id));
      });
    }
  });

  it("a body with a UTF-8 byte-order mark is processed, not dead-lettered", async () => {
    const ledger = new Ledger();
    const { consumer } = consumerWith(recordingHandler(ledger));
    const event = makeEvent();
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(envelopeOf(event)))]);
    const outcome = await consumer.handle(message(body), recordingSettlement());
    assert.equal(outcome.kind, "processed");
    assert.equal(ledger.count(event.metadata.event_id), 1);
  });

  describe("Redis unavailable", () => {
    it("a Redis outage shorter than the delivery's lock: the claim is retried and the event processed in the same delivery", async () => {
      const ledger = new Ledger();
      const { consumer, logger } = consumerWith(recordingHandler(ledger), { messageLockMs: 8000, leaseMs: 8000, safetyMarginMs: 500, storeOutageMaxWaitMs: 6000 });
      await server.stop();
      const event = makeEvent();
      const settle = recordingSettlement();
      const handling = consumer.handle(message(event, 1), settle);
      await new Promise((r) => setTimeout(r, 400));
      await server.restart();
      const outcome = await handling;
      assert.equal(outcome.kind, "processed", JSON.stringify(outcome));
      assert.deepEqual(settle.records, [{ action: "complete" }], "no delivery attempt was spent on the outage");
      assert.equal(ledger.count(event.metadata.event_id), 1);
      assert.ok(logger.at("warn").some((l) => /retrying the claim/.test(l.message)));
    });

    it("an outage longer than the wait: abandoned after retrying, handler not run", async () => {
      const ledger = new Ledger();
      const { consumer } = consumerWith(recordingHandler(ledger), { storeOutageMaxWaitMs: 300 });
      await server.stop();
      const event = makeEvent();
      const settle = recordingSettlement();
      const t0 = Date.now();
      const outcome = await consumer.handle(message(event, 1), settle);
      assert.ok(outcome.kind === "store-unavailable" && outcome.stage === "claim" && !outcome.handlerRan, JSON.stringify(outcome));
      assert.ok(Date.now() - t0 >= 100, "it retried for a while before giving the message back");
      assert.deepEqual(settle.records, [{ action: "abandon" }]);
      assert.equal(ledger.count(event.metadata.event_id), 0);
      await server.restart();
    });

    it("Redis stopped mid-run: no ack and no handler run; after restart the event is processed once", async () => {
      const ledger = new Ledger();
      const { consumer } = consumerWith(recordingHandler(ledger));
      const before = makeEvent();
      assert.equal((await consumer.handle(message(before), recordingSettlement())).kind, "processed");

      await server.stop();
      const event = makeEvent();
      const settle = recordingSettlement();
      const t0 = Date.now();
      const outcome = await consumer.handle(message(event, 1), settle);
      assert.equal(outcome.kind, "store-unavailable");
      assert.ok(outcome.kind === "store-unavailable" && outcome.stage === "claim" && !outcome.handlerRan);
      assert.deepEqual(settle.records, [{ action: "abandon" }]);
      assert.equal(ledger.count(event.metadata.event_id), 0, "handler not run without a claim");
      assert.ok(Date.now() - t0 < 3000, "fails fast instead of queueing while Redis is away");

      await server.restart();
      await waitForReady(redis);
      const settle2 = recordingSettlement();
      assert.equal((await consumer.handle(message(event, 2), settle2)).kind, "processed");
      assert.deepEqual(settle2.records, [{ action: "complete" }]);
      assert.equal((await consumer.handle(message(event, 3), recordingSettlement())).kind, "duplicate");
      assert.equal(ledger.count(event.metadata.event_id), 1);
    });

    it("Redis lost between claim and complete: the handler ran, the message is NOT acknowledged, the risk is logged", async () => {
      const ledger = new Ledger();
      const { consumer, logger } = consumerWith(async (e) => {
        ledger.apply(e.metadata.event_id);
        await server.stop();
      });
      const event = makeEvent();
      const settle = recordingSettlement();
      const outcome = await consumer.handle(message(event), settle);
      assert.ok(outcome.kind === "store-unavailable" && outcome.stage === "complete" && outcome.handlerRan);
      assert.deepEqual(settle.records, [{ action: "abandon" }]);
      assert.ok(logger.at("error").some((l) => /completion could not be recorded/.test(l.message)));
    });
  });

  describe("poison messages are dead-lettered on the first delivery, with a reason naming the fault", () => {
    const valid = () => makeEvent();
    const cases: [string, () => unknown, string, RegExp][] = [
      ["unparseable body", () => "{not json", "NotJson", /not valid JSON/],
      ["JSON that is not an object", () => "[1,2,3]", "UnsupportedShape", /EventBridge event or a domain event/],
      ["an object of another shape", () => JSON.stringify({ orderId: 1 }), "UnsupportedShape", /neither an EventBridge event/],
      ["no event_id", () => { const e: any = valid(); delete e.metadata.event_id; return JSON.stringify(envelopeOf(e)); }, "MissingEventId", /detail\.metadata\.event_id/],
      ["a bad event_id", () => { const e: any = valid(); e.metadata.event_id = "42"; return JSON.stringify(envelopeOf(e)); }, "InvalidEventId", /detail\.metadata\.event_id/],
      ["an unsupported schema version", () => JSON.stringify(envelopeOf(makeEvent({ metadata: { schema_version: "3.1" } }))), "UnsupportedSchemaVersion", /major 3/],
      ["a missing data field", () => { const e: any = valid(); delete e.data; return JSON.stringify(e); }, "MissingField", /data is missing/],
      ["a bad timestamp", () => JSON.stringify(envelopeOf(makeEvent({ metadata: { timestamp: "soon" } }))), "InvalidField", /metadata\.timestamp/],
      ["an envelope that disagrees with its event", () => JSON.stringify(envelopeOf(valid(), { "detail-type": "Other" })), "EnvelopeMismatch", /detail-type/],
      ["an envelope without its account field", () => { const env: any = envelopeOf(valid()); delete env.account; return JSON.stringify(env); }, "MissingField", /account/],
    ];
    for (const [name, body, reason, description] of cases) {
      it(name, async () => {
        let ran = false;
        const { consumer } = consumerWith(async () => void (ran = true));
        const settle = recordingSettlement();
        const outcome = await consumer.handle({ body: body(), messageId: "m-1", deliveryCount: 1 }, settle);
        assert.equal(outcome.kind, "poison");
        assert.equal(settle.records.length, 1);
        const record = settle.records[0];
        assert.ok(record.action === "deadLetter", JSON.stringify(settle.records));
        assert.equal(record.reason, reason);
        assert.match(record.description, description);
        assert.equal(ran, false);
        assert.equal(await admin.dbsize(), 0, "no idempotency record for a poison message");
      });
    }
  });

  describe("deadline ≤ lease ≤ lock", () => {
    it("refuses a lease longer than the message lock, and a margin that leaves no deadline inside the lease", () => {
      const handler: BusinessHandler = async () => {};
      assert.throws(() => createConsumer({ store, handler, logger: memoryLogger(), messageLockMs: 30_000, leaseMs: 60_000 }), /must not exceed messageLockMs/);
      assert.throws(
        () => createConsumer({ store, handler, logger: memoryLogger(), messageLockMs: 30_000, leaseMs: 1000, safetyMarginMs: 1000 }),
        /safetyMarginMs/,
      );
    });

    it("gives the handler a deadline before the lease ends, and shortens the lease to this delivery's remaining lock", async () => {
      let seen: { deadline: number; pttl: number } | undefined;
      const { consumer } = consumerWith(
        async (e, ctx) => {
          const left = await leaseLeftMs(admin, KEY_PREFIX + e.metadata.event_id);
          seen = { deadline: ctx.deadline.getTime(), pttl: typeof left === "number" ? left : -1 };
        },
        { messageLockMs: 60_000, leaseMs: 60_000, safetyMarginMs: 1000 },
      );
      const start = Date.now();
      const outcome = await consumer.handle(message(makeEvent(), 1, { lockedUntilUtc: new Date(start + 5000) }), recordingSettlement());
      assert.equal(outcome.kind, "processed");
      assert.ok(seen!.pttl > 0 && seen!.pttl <= 5000, `lease ${seen!.pttl} ms fits in the 5 s of lock left`);
      assert.ok(seen!.deadline <= start + 5000 - 1000 + 50, "deadline = lease end − margin");
    });

    it("abandons without claiming when the delivery's lock is nearly gone", async () => {
      let ran = false;
      const { consumer } = consumerWith(async () => void (ran = true));
      const settle = recordingSettlement();
      const outcome = await consumer.handle(message(makeEvent(), 1, { lockedUntilUtc: new Date(Date.now() + 300) }), settle);
      assert.equal(outcome.kind, "lock-too-short");
      assert.deepEqual(settle.records, [{ action: "abandon" }]);
      assert.equal(ran, false);
      assert.equal(await admin.dbsize(), 0);
    });
  });

  it("is host-agnostic: a @azure/service-bus style receiver settles through settlementFromReceiver", async () => {
    const calls: string[] = [];
    const received = { body: JSON.stringify(envelopeOf(makeEvent())), messageId: "sb-1", deliveryCount: 1 };
    const receiver = {
      completeMessage: async (m: typeof received) => void calls.push(`complete:${m.messageId}`),
      abandonMessage: async (m: typeof received) => void calls.push(`abandon:${m.messageId}`),
      deadLetterMessage: async (m: typeof received, o: { deadLetterReason: string }) => void calls.push(`dlq:${m.messageId}:${o.deadLetterReason}`),
    };
    const { consumer } = consumerWith(async () => {});
    await consumer.handle(received, settlementFromReceiver(receiver, received));
    const poison = { ...received, body: "nope", messageId: "sb-2" };
    await consumer.handle(poison, settlementFromReceiver(receiver, poison));
    assert.deepEqual(calls, ["complete:sb-1", "dlq:sb-2:NotJson"]);
  });
});
