import { strict as assert } from "assert";
import Redis from "ioredis";
import type { IdempotencyStore } from "../../runtime/idempotency-store";
import { BusinessHandler, createConsumer, settlementFromReceiver } from "../../runtime/consumer";
import { createNaiveSetNxConsumer } from "../../runtime/naive-setnx-consumer";
import { recordingSettlement } from "../support/settlement";
import { memoryLogger } from "../support/memory-logger";
import { envelopeOf, makeEvent } from "../support/events";
import { KEY_PREFIX, Ledger, leaseLeftMs, message, sleep, useConsumerHarness } from "../support/consumer-harness";

describe("runtime/consumer (real redis-server)", function () {
  this.timeout(30_000);
  const h = useConsumerHarness();
  let redis: Redis;
  let admin: Redis;
  let store: IdempotencyStore;
  before(() => ({ redis, admin, store } = h));
  const { consumerWith, recordingHandler } = h;

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

  it("a body with a UTF-8 byte-order mark is processed, not dead-lettered", async () => {
    const ledger = new Ledger();
    const { consumer } = consumerWith(recordingHandler(ledger));
    const event = makeEvent();
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(envelopeOf(event)))]);
    const outcome = await consumer.handle(message(body), recordingSettlement());
    assert.equal(outcome.kind, "processed");
    assert.equal(ledger.count(event.metadata.event_id), 1);
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
