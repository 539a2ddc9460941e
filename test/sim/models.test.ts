import { strict as assert } from "assert";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import type { ApiDestinationModel, HttpOutcome } from "../../tools/sim/api-destination-model";
import { SimClock } from "../../tools/sim/clock";
import { EventBridgeModel } from "../../tools/sim/eventbridge-model";
import { FAULT_PROFILES } from "../../tools/sim/faults";
import { MessageLockLostError, ServiceBusQueueModel } from "../../tools/sim/service-bus-model";

/** The models' documented semantics, one by one (the whole path is test/sim/simulation.test.ts). */
describe("simulation models (tools/sim)", () => {
  let clock: SimClock;
  beforeEach(() => {
    clock = new SimClock();
    clock.start();
  });
  afterEach(() => clock.stop());

  describe("SimClock", () => {
    it("jumps over idle time: a 24-hour sleep takes milliseconds of wall time", async () => {
      const wall = Date.now();
      await clock.sleep(24 * 3600_000);
      assert.ok(clock.elapsed() >= 24 * 3600_000);
      assert.ok(Date.now() - wall < 1_000, `took ${Date.now() - wall} ms`);
    });

    it("does not jump while real work is in flight: simulated time then runs at real speed", async () => {
      let woke = false;
      void clock.sleep(3600_000).then(() => (woke = true));
      await clock.busy(new Promise((r) => setTimeout(r, 100)));
      assert.equal(woke, false);
      assert.ok(clock.elapsed() < 1_000, `elapsed ${clock.elapsed()}`);
      await clock.sleep(1);
      await new Promise((r) => setImmediate(r));
      assert.ok(woke);
    });
  });

  describe("Service Bus queue (peek-lock)", () => {
    it("redelivers when the lock expires, with DeliveryCount + 1, and refuses settlement with the old lock", async () => {
      const queue = new ServiceBusQueueModel(clock, 1_000, 10);
      queue.send("a");
      const first = await queue.receive();
      assert.equal(first.message.deliveryCount, 1);
      const second = await queue.receive(); // waits for the lock to run out (simulated)
      assert.equal(second.message.deliveryCount, 2);
      assert.equal(queue.redeliveries, 1);
      assert.throws(() => queue.complete(first), MessageLockLostError);
      queue.complete(second);
      assert.equal(queue.active, 0);
    });

    it("dead-letters with MaxDeliveryCountExceeded after MaxDeliveryCount deliveries, and with the caller's reason on request", async () => {
      const queue = new ServiceBusQueueModel(clock, 60_000, 3);
      queue.send("poison");
      for (let i = 1; i <= 3; i++) {
        const d = await queue.receive();
        assert.equal(d.message.deliveryCount, i);
        queue.abandon(d);
      }
      queue.send("bad");
      const bad = await queue.receive();
      queue.deadLetter(bad, "UnsupportedSchemaVersion", "major 2");
      assert.deepEqual(
        queue.deadLettered.map((m) => [m.body, m.deliveryCount, m.deadLetterReason]),
        [
          ["poison", 3, "MaxDeliveryCountExceeded"],
          ["bad", 1, "UnsupportedSchemaVersion"],
        ],
      );
      assert.equal(queue.active, 0);
    });
  });

  describe("EventBridge target retry policy", () => {
    const entry = (id: string) => ({
      Source: "com.example.orders",
      DetailType: "OrderPlaced",
      Detail: JSON.stringify({ metadata: { event_id: id }, data: {} }),
      EventBusName: "bus",
    });
    function busWith(answers: HttpOutcome["status"][], policy = { maximumEventAgeMs: 86_400_000, maximumRetryAttempts: 185 }) {
      const attempts: number[] = [];
      const target = {
        invoke: async () => {
          attempts.push(clock.elapsed());
          await clock.sleep(10);
          const status = answers.length > 1 ? answers.shift()! : answers[0];
          return (status === 201 ? { status } : { status, reachedQueue: false }) as HttpOutcome;
        },
      } as unknown as ApiDestinationModel;
      const bus = new EventBridgeModel(
        clock,
        1,
        FAULT_PROFILES.none,
        { eventBusName: "bus", ruleSources: ["com.example.orders"], retryPolicy: policy, region: "eu-west-1", account: "123456789012" },
        target,
        () => {},
      );
      return { bus, attempts };
    }
    const settle = async (bus: EventBridgeModel) => {
      while (bus.deliveriesInFlight > 0) await clock.sleep(1_000);
    };

    it("retries 429 and 5xx with backoff until delivered", async () => {
      const { bus, attempts } = busWith([429, 500, 503, 201]);
      await bus.putEvents(new PutEventsCommand({ Entries: [entry("e1")] }));
      await settle(bus);
      assert.equal(attempts.length, 4);
      assert.deepEqual(bus.deadLetters, []);
      assert.ok(attempts[3] - attempts[2] > attempts[1] - attempts[0], "backoff grows");
    });

    it("does not retry 403 or 410: straight to the dead-letter queue", async () => {
      for (const status of [403, 410] as const) {
        const { bus, attempts } = busWith([status]);
        await bus.putEvents(new PutEventsCommand({ Entries: [entry("e2")] }));
        await settle(bus);
        assert.equal(attempts.length, 1);
        assert.deepEqual(bus.deadLetters, [{ eventId: "e2", reason: `HTTP ${status} (not retried)`, attempts: 1 }]);
      }
    });

    it("gives up after MaximumRetryAttempts retries, or at MaximumEventAge, whichever comes first", async () => {
      const few = busWith([503], { maximumEventAgeMs: 86_400_000, maximumRetryAttempts: 3 });
      await few.bus.putEvents(new PutEventsCommand({ Entries: [entry("e3")] }));
      await settle(few.bus);
      assert.equal(few.attempts.length, 4);
      assert.match(few.bus.deadLetters[0].reason, /RetryAttemptsExhausted/);

      const hours = busWith([503], { maximumEventAgeMs: 6 * 3600_000, maximumRetryAttempts: 185 });
      await hours.bus.putEvents(new PutEventsCommand({ Entries: [entry("e4")] }));
      await settle(hours.bus);
      assert.match(hours.bus.deadLetters[0].reason, /MaximumEventAgeExceeded/);
      assert.ok(hours.attempts.length < 186);
      assert.ok(hours.attempts[hours.attempts.length - 1] <= 6 * 3600_000);

      // The defaults (24 h, 185 retries): about a day of retries, simulated in well under a second.
      const wall = Date.now();
      const day = busWith([503]);
      await day.bus.putEvents(new PutEventsCommand({ Entries: [entry("e5")] }));
      await settle(day.bus);
      const last = day.attempts[day.attempts.length - 1] - day.attempts[0];
      assert.ok(last > 12 * 3600_000 && last <= 86_400_000, `last attempt after ${last} ms`);
      assert.ok(Date.now() - wall < 2_000, `took ${Date.now() - wall} ms of wall time`);
    });
  });
});
