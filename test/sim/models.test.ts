import { strict as assert } from "assert";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { ApiDestinationModel, HttpOutcome } from "../../tools/sim/api-destination-model";
import { SimClock } from "../../tools/sim/clock";
import { checkFinalAnswers, explainDeadLetter, explainParking } from "../../tools/sim/dead-letter-oracle";
import { EventBridgeModel } from "../../tools/sim/eventbridge-model";
import { onFailureMessage } from "../../tools/sim/stream-event-source";
import { parseOnFailureRecord } from "../../tools/redrive/relay-range";
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
      assert.ok(Date.now() - wall < 5_000, `took ${Date.now() - wall} ms`);
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
          return (status === 201 ? { status } : status === "rate-limited" ? { status, reachedQueue: false, retryAfterMs: 400 } : { status, reachedQueue: false }) as HttpOutcome;
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
        assert.deepEqual(bus.deadLetters.map(({ eventId, reason, attempts }) => ({ eventId, reason, attempts })), [{ eventId: "e2", reason: `HTTP ${status} (not retried)`, attempts: 1 }]);
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

      // The defaults (24 h, 185 retries): about a day of retries, simulated in a moment of wall time.
      const wall = Date.now();
      const day = busWith([503]);
      await day.bus.putEvents(new PutEventsCommand({ Entries: [entry("e5")] }));
      await settle(day.bus);
      const last = day.attempts[day.attempts.length - 1] - day.attempts[0];
      assert.ok(last > 12 * 3600_000 && last <= 86_400_000, `last attempt after ${last} ms`);
      // A day in real time would be 86 400 s: seconds prove the clock jumps, with room for a loaded CI machine.
      assert.ok(Date.now() - wall < 10_000, `took ${Date.now() - wall} ms of wall time`);
    });

    it("sends an event whose connection is de-authorized to the DLQ at once, with CONNECTION_FAILURE", async () => {
      const { bus, attempts } = busWith(["connection-deauthorized", 201]);
      await bus.putEvents(new PutEventsCommand({ Entries: [entry("e6")] }));
      await settle(bus);
      assert.equal(attempts.length, 1);
      assert.match(bus.deadLetters[0].reason, /^CONNECTION_FAILURE/);
    });

    it("holds an event back at the invocation rate limit without spending a retry attempt", async () => {
      const { bus, attempts } = busWith(["rate-limited", "rate-limited", "rate-limited", 201], { maximumEventAgeMs: 86_400_000, maximumRetryAttempts: 0 });
      await bus.putEvents(new PutEventsCommand({ Entries: [entry("e7")] }));
      await settle(bus);
      assert.equal(attempts.length, 4);
      assert.deepEqual(bus.deadLetters, []);
      assert.ok(attempts[1] - attempts[0] >= 400, "waits for the slot the limit names");
      // ... but not past MaximumEventAge.
      const old = busWith(["rate-limited"], { maximumEventAgeMs: 60_000, maximumRetryAttempts: 185 });
      await old.bus.putEvents(new PutEventsCommand({ Entries: [entry("e8")] }));
      await settle(old.bus);
      assert.match(old.bus.deadLetters[0].reason, /^MaximumEventAgeExceeded \(last: rate-limited\)/);
    });

    it("refuses every PutEvents request during its outage window, then accepts again", async () => {
      const target = { invoke: async () => ({ status: 201 }) } as unknown as ApiDestinationModel;
      const bus = new EventBridgeModel(
        clock,
        1,
        FAULT_PROFILES.none,
        { eventBusName: "bus", ruleSources: ["com.example.orders"], retryPolicy: { maximumEventAgeMs: 86_400_000, maximumRetryAttempts: 185 }, region: "eu-west-1", account: "123456789012" },
        target,
        () => {},
        (id) => id,
        { putEventsOutage: { afterAccepted: 2, durationMs: 60_000 } },
      );
      await bus.putEvents(new PutEventsCommand({ Entries: [entry("a"), entry("b")] }));
      await assert.rejects(bus.putEvents(new PutEventsCommand({ Entries: [entry("c")] })), { name: "InternalException" });
      await clock.sleep(61_000);
      const after = await bus.putEvents(new PutEventsCommand({ Entries: [entry("c")] }));
      assert.equal(after.FailedEntryCount, 0);
      assert.equal(bus.requestsRefusedByOutage, 1);
    });
  });

  describe("API destination failure modes", () => {
    const body = (id: string, extra = "") => JSON.stringify({ id: `pub-${id}`, detail: { metadata: { event_id: id }, pad: extra } });
    const model = (modes: ConstructorParameters<typeof ApiDestinationModel>[6]) => {
      const queue = new ServiceBusQueueModel(clock, 1_000, 10);
      return { queue, api: new ApiDestinationModel(clock, 1, FAULT_PROFILES.none, queue, () => {}, (id) => id, modes) };
    };

    it("answers 403 QuotaExceeded to every send while the queue is full, systematically, and 201 after", async () => {
      const { api, queue } = model({ queueFull: { afterEnqueued: 1, durationMs: 5_000 } });
      assert.equal((await api.invoke(body("a"), "a")).status, 201);
      for (const id of ["b", "c", "b"]) {
        const outcome = await api.invoke(body(id), id);
        assert.deepEqual([outcome.status, "cause" in outcome && outcome.cause], [403, "queue-full"]);
      }
      await clock.sleep(5_000);
      assert.equal((await api.invoke(body("b"), "b")).status, 201);
      assert.equal(queue.active, 2);
      // The capacity form: full while the queue holds that many messages.
      const small = model({ queueCapacityMessages: 1 });
      assert.equal((await small.api.invoke(body("x"), "x")).status, 201);
      assert.equal((await small.api.invoke(body("y"), "y")).status, 403);
    });

    it("answers 403 to a message above Service Bus's size on every attempt", async () => {
      const { api, queue } = model({ maxMessageBytes: 1_000 });
      for (let i = 0; i < 3; i++) assert.equal((await api.invoke(body("big", "x".repeat(1_000)), "big")).status, 403);
      assert.equal((await api.invoke(body("small"), "small")).status, 201);
      assert.equal(queue.active, 1);
      assert.deepEqual(api.answersByEvent.get("big")!.map((a) => a.cause), ["message-too-large", "message-too-large", "message-too-large"]);
    });

    it("sends nothing through a de-authorized connection", async () => {
      const { api, queue } = model({ connectionDeauthorized: { afterEnqueued: 0, durationMs: 2_000 } });
      assert.equal((await api.invoke(body("a"), "a")).status, "connection-deauthorized");
      assert.equal(queue.active, 0);
      assert.equal(api.requests, 0);
      await clock.sleep(2_000);
      assert.equal((await api.invoke(body("a"), "a")).status, 201);
    });

    it("lets invocationRateLimitPerSecond requests through per second and names the wait for the rest", async () => {
      const { api } = model({ invocationRateLimitPerSecond: 3 });
      const outcomes = await clock.busy(Promise.all(["a", "b", "c", "d"].map((id) => api.invoke(body(id), id))));
      const limited = outcomes.filter((o) => o.status === "rate-limited");
      assert.equal(limited.length, 1);
      const wait = (limited[0] as { retryAfterMs: number }).retryAfterMs;
      assert.ok(wait > 0 && wait <= 1_000, `${wait}`);
    });

    it("gives a held-back attempt the first free slot, first come first served: a later arrival does not take it", async () => {
      const { api } = model({ invocationRateLimitPerSecond: 1 });
      const statusOf = (o: HttpOutcome) => (o.status === "rate-limited" ? `rate-limited ${o.retryAfterMs > 1_000 ? "later" : "next"}` : String(o.status));
      const first = await clock.busy(Promise.all(["a", "b", "c"].map((id) => api.invoke(body(id), id))));
      // a sends now; b is given the next second's slot and c the one after (not: both told "next second").
      assert.deepEqual(first.map(statusOf), ["201", "rate-limited next", "rate-limited later"]);
      await clock.sleep((first[1] as { retryAfterMs: number }).retryAfterMs);
      // d arrives in b's second before b comes back: that slot is b's.
      assert.equal((await api.invoke(body("d"), "d")).status, "rate-limited");
      assert.equal((await api.invoke(body("b"), "b")).status, 201);
      // c coming back early is told to wait for its own slot still.
      assert.equal((await api.invoke(body("c"), "c")).status, "rate-limited");
    });
  });

  describe("dead-letter oracle", () => {
    const evidence = (answers: { status: HttpOutcome["status"]; at: number; publication: string; cause?: "queue-full" | "connection-deauthorized" | "drawn" }[]) => ({
      retryPolicy: { maximumEventAgeMs: 86_400_000, maximumRetryAttempts: 185 },
      maxDeliveryCount: 10,
      relayMaximumRetryAttempts: 10,
      answers: () => answers,
      deliveries: () => [],
      relayFailures: (id: string) => (id === "many" ? 11 : 3),
    });

    it("explains a 403 dead letter by the mode that answered it, and only by the publication's last answer", () => {
      const e = evidence([{ status: 403, at: 1, publication: "p1", cause: "queue-full" }]);
      assert.match(explainDeadLetter("EventBridge DLQ", { eventId: "e", reason: "HTTP 403 (not retried)", publication: "p1" }, e) ?? "", /queue full/);
      assert.equal(explainDeadLetter("EventBridge DLQ", { eventId: "e", reason: "HTTP 403 (not retried)", publication: "p2" }, e), undefined);
      assert.equal(explainDeadLetter("EventBridge DLQ", { eventId: "e", reason: "CONNECTION_FAILURE (connection de-authorized, not retried)", publication: "p1" }, e), undefined);
      const deauth = evidence([{ status: "connection-deauthorized", at: 1, publication: "p1", cause: "connection-deauthorized" }]);
      assert.ok(explainDeadLetter("EventBridge DLQ", { eventId: "e", reason: "CONNECTION_FAILURE (connection de-authorized, not retried)", publication: "p1" }, deauth));
    });

    it("fails a final answer that was retried, or that left no dead letter", () => {
      const answers = new Map([
        ["retried", [{ status: 403 as const, publication: "p1" }, { status: 201 as const, publication: "p1" }]],
        ["dropped", [{ status: 403 as const, publication: "p2" }]],
        ["fine", [{ status: 403 as const, publication: "p3" }]],
        ["deauth", [{ status: "connection-deauthorized" as const, publication: "p4" }]],
        ["retryable", [{ status: 503 as const, publication: "p5" }, { status: 201 as const, publication: "p5" }]],
      ]);
      const problems = checkFinalAnswers(answers, [
        { eventId: "fine", reason: "HTTP 403 (not retried)", publication: "p3" },
        { eventId: "deauth", reason: "CONNECTION_FAILURE (connection de-authorized, not retried)", publication: "p4" },
      ]);
      assert.deepEqual(problems, ["retried: retried after a final 403 (then 201)", "dropped: final 403 did not dead-letter the event (no dead letter)"]);
    });

    it("explains a parked range only when its first record failed past MaximumRetryAttempts", () => {
      const e = evidence([]);
      assert.ok(explainParking("many", e));
      assert.equal(explainParking("few", e), undefined);
    });
  });

  describe("stream mapping's on-failure message", () => {
    it("is Lambda's documented record: ranges only, readable by the relay redrive, no event id", () => {
      const message = onFailureMessage(
        {
          shardId: "shardId-1",
          startSequenceNumber: "100",
          endSequenceNumber: "250",
          approximateArrivalOfFirstRecord: "2026-12-01T10:00:00Z",
          approximateArrivalOfLastRecord: "2026-12-01T10:00:05Z",
          batchSize: 7,
          streamArn: "arn:aws:dynamodb:eu-west-1:123456789012:table/outbox/stream/2026-12-01T00:00:00.000",
          reason: "RetryAttemptsExhausted (partial batch failure)",
        },
        "arn:aws:lambda:eu-west-1:123456789012:function:relay",
        new Date(0),
      );
      const parsed = parseOnFailureRecord(message);
      assert.ok(parsed.ok);
      assert.equal(parsed.info.startSequenceNumber, "100");
      assert.doesNotMatch(message, /event_id|NewImage|Records/);
    });
  });
});
