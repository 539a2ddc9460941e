import { strict as assert } from "assert";
import { waitForReady } from "../../tools/local-servers/redis-client";
import Redis from "ioredis";
import type { RedisServer } from "../../tools/local-servers/redis-server";
import { recordingSettlement } from "../support/settlement";
import { makeEvent } from "../support/events";
import { Ledger, message, useConsumerHarness } from "../support/consumer-harness";

describe("runtime/consumer (real redis-server): Redis unavailable", function () {
  this.timeout(30_000);
  const h = useConsumerHarness();
  let server: RedisServer;
  let redis: Redis;
  before(() => ({ server, redis } = h));
  const { consumerWith, recordingHandler } = h;

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
});
