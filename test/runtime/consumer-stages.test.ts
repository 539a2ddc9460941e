import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import Redis from "ioredis";
import type { ConsumerOutcome } from "../../runtime/consumer";
import { CompleteResult, createRedisIdempotencyStore, IdempotencyStore } from "../../runtime/idempotency-store";
import { claimStage } from "../../runtime/consumer/claim";
import { completionVerdict } from "../../runtime/consumer/complete";
import { lockEndOf } from "../../runtime/consumer/lock";
import { parseStage } from "../../runtime/consumer/parse";
import { settleStage } from "../../runtime/consumer/settle";
import { resolveTiming } from "../../runtime/consumer/timing";
import { RedisServer, startRedisServer } from "../../tools/local-servers/redis-server";
import { connectRedis } from "../../tools/local-servers/redis-client";
import { envelopeOf, makeEvent } from "../support/events";
import { recordingSettlement } from "../support/settlement";
import { memoryLogger } from "../support/memory-logger";

/** Each stage of runtime/consumer on its own: the rule it owns, without the others around it. */
describe("runtime/consumer stages", () => {
  describe("timing", () => {
    it("defaults the lease to the lock and the margin to min(5 s, lease / 5); waits default to the lease", () => {
      assert.deepEqual(resolveTiming({ messageLockMs: 60_000 }), {
        lockMs: 60_000,
        leaseMs: 60_000,
        marginMs: 5000,
        inProgressMaxWaitMs: 60_000,
        storeOutageMaxWaitMs: 60_000,
      });
      assert.equal(resolveTiming({ messageLockMs: 1000 }).marginMs, 200);
    });
    it("refuses a lease longer than the lock, a margin ≥ lease / 2, and non-integers, naming the option", () => {
      assert.throws(() => resolveTiming({ messageLockMs: 1000, leaseMs: 2000 }), /leaseMs \(2000\) must not exceed messageLockMs/);
      assert.throws(() => resolveTiming({ messageLockMs: 1000, safetyMarginMs: 500 }), /safetyMarginMs \(500\)/);
      assert.throws(() => resolveTiming({ messageLockMs: 1.5 }), /messageLockMs must be a positive integer/);
    });
  });

  describe("parse", () => {
    it("a valid message yields the event, its id and the message id (bytes as hex)", () => {
      const event = makeEvent();
      const result = parseStage({ body: JSON.stringify(envelopeOf(event)), messageId: Buffer.from([1, 2]) }, undefined, memoryLogger());
      assert.ok(result.ok);
      assert.equal(result.parsed.eventId, event.metadata.event_id);
      assert.equal(result.parsed.messageId, "0102");
    });
    it("an unusable message becomes a poison outcome to dead-letter, logged with its fault", () => {
      const log = memoryLogger();
      const result = parseStage({ body: "{nope", messageId: "m" }, undefined, log);
      assert.ok(!result.ok);
      assert.equal(result.outcome.settled, "deadLetter");
      assert.equal(result.outcome.reason, "NotJson");
      assert.equal(log.at("error")[0].attributes.reason, "NotJson");
    });
  });

  describe("lock", () => {
    const ids = { eventId: "e" };
    it("uses a valid lockedUntilUtc, and receivedAt + lock without one", () => {
      const log = memoryLogger();
      assert.equal(lockEndOf({ body: {}, lockedUntilUtc: new Date(5000) }, 1000, 30_000, log, ids), 5000);
      assert.equal(lockEndOf({ body: {} }, 1000, 30_000, log, ids), 31_000);
      assert.equal(log.lines.length, 0);
    });
    it("treats an invalid Date, or a value that is not a Date, as absent, with a warning", () => {
      for (const bad of [new Date(NaN), "2026-01-01T00:00:00Z", 12345]) {
        const log = memoryLogger();
        assert.equal(lockEndOf({ body: {}, lockedUntilUtc: bad as Date }, 1000, 30_000, log, ids), 31_000, String(bad));
        assert.equal(log.at("warn").length, 1);
      }
    });
  });

  describe("complete: the rule table", () => {
    const ids = { eventId: "e", messageId: "m" };
    // result → [kind, settle action, log level, counted as a possible double effect]
    const table: Record<CompleteResult, [ConsumerOutcome["kind"], string, string | undefined, boolean]> = {
      completed: ["processed", "complete", undefined, false],
      "completed-after-lease-expiry": ["processed", "complete", "warn", false],
      "completed-record-missing": ["processed", "complete", "error", false],
      "completed-after-takeover": ["lease-lost", "complete", "error", true],
      "completed-by-other": ["lease-lost", "complete", "error", true],
      "claimed-by-other": ["lease-lost", "abandon", "error", true],
    };
    for (const [result, [kind, settled, level, twice]] of Object.entries(table) as [CompleteResult, (typeof table)[CompleteResult]][]) {
      it(`${result} → ${kind}, ${settled}${level ? `, logged at ${level}` : ""}`, () => {
        const verdict = completionVerdict(result, ids, false);
        assert.equal(verdict.outcome.kind, kind);
        assert.equal(verdict.outcome.settled, settled);
        assert.equal(verdict.log?.level, level);
        assert.equal(verdict.outcome.kind === "lease-lost", twice);
      });
    }
    it("distinguishes the takeover from a clean late completion (the hole found on a real Redis)", () => {
      const late = completionVerdict("completed-after-lease-expiry", ids, true).outcome;
      const takeover = completionVerdict("completed-after-takeover", ids, true).outcome;
      assert.ok(late.kind === "processed" && late.leaseExpiredBeforeComplete && !late.recordMissing);
      assert.ok(takeover.kind === "lease-lost" && takeover.otherWorker === "took-over");
    });
  });

  describe("settle", () => {
    it("carries out the decided action; dead-letters with the poison reason", async () => {
      const settle = recordingSettlement();
      await settleStage({ kind: "duplicate", settled: "complete" }, settle, memoryLogger());
      await settleStage({ kind: "lock-too-short", remainingLockMs: 1, settled: "abandon" }, settle, memoryLogger());
      await settleStage({ kind: "poison", reason: "NotJson", description: "d", settled: "deadLetter" }, settle, memoryLogger());
      assert.deepEqual(settle.records, [{ action: "complete" }, { action: "abandon" }, { action: "deadLetter", reason: "NotJson", description: "d" }]);
    });
    it("a settle call that fails is recorded on the outcome and logged, never thrown", async () => {
      const log = memoryLogger();
      const lost = new Error("MessageLockLost");
      const duplicate: ConsumerOutcome = { kind: "duplicate", eventId: "e", settled: "complete" };
      const outcome = await settleStage(
        duplicate,
        { complete: () => Promise.reject(lost), abandon: async () => {}, deadLetter: async () => {} },
        log,
      );
      assert.equal(outcome.settleError, lost);
      assert.equal(log.at("warn")[0].attributes.eventId, "e");
    });
  });

  describe("claim (real redis-server)", function () {
    this.timeout(20_000);
    let server: RedisServer;
    let redis: Redis;
    before(async () => {
      server = await startRedisServer();
      redis = await connectRedis(server);
    });
    after(async () => {
      redis?.disconnect();
      await server?.stop();
    });

    it("every retry of one delivery uses one token; giving up after replies were lost releases the claim that ran, so nothing is orphaned", async () => {
      const real = createRedisIdempotencyStore(redis, { keyPrefix: `cs:${randomUUID()}:` });
      const tokens: string[] = [];
      const released: string[] = [];
      // The real store, whose replies are lost: each claim runs on the server, then the caller sees a timeout.
      const lossy: IdempotencyStore = {
        claim: async (id, lease, token) => {
          tokens.push(token!);
          await real.claim(id, lease, token);
          throw new Error("Command timed out");
        },
        complete: (id, token) => real.complete(id, token),
        release: async (id, token) => {
          released.push(token);
          return real.release(id, token);
        },
      };
      const eventId = randomUUID();
      let t = 0;
      const result = await claimStage(
        { store: lossy, log: memoryLogger(), now: () => t, sleep: async (ms) => void (t += ms) },
        { eventId, start: 0, lockEnd: 10_000, timing: resolveTiming({ messageLockMs: 10_000, storeOutageMaxWaitMs: 500 }) },
      );
      assert.ok("outcome" in result && result.outcome.kind === "store-unavailable", JSON.stringify(result));
      assert.ok(tokens.length >= 3, `retried (${tokens.length} attempts)`);
      assert.equal(new Set(tokens).size, 1, "one token for the whole delivery");
      assert.deepEqual(released, [tokens[0]]);
      assert.equal((await real.claim(eventId, 1000)).status, "claimed", "the next delivery does not wait behind an orphaned lease");
    });
  });
});
