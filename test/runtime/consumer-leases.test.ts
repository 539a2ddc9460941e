import { strict as assert } from "assert";
import Redis from "ioredis";
import type { IdempotencyStore } from "../../runtime/idempotency-store";
import { recordingSettlement } from "../support/settlement";
import { makeEvent } from "../support/events";
import { KEY_PREFIX, Ledger, leaseLeftMs, message, sleep, useConsumerHarness } from "../support/consumer-harness";

describe("runtime/consumer (real redis-server): leases, expiries and fencing", function () {
  this.timeout(30_000);
  const h = useConsumerHarness();
  let admin: Redis;
  let store: IdempotencyStore;
  before(() => ({ admin, store } = h));
  const { consumerWith, recordingHandler } = h;

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
});
