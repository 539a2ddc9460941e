import { strict as assert } from "assert";
import Redis from "ioredis";
import { createConsumer } from "../../runtime/consumer";
import { AbandonByThrow, createThrowModeTriggerHandler, createTriggerHandler, messageFromTriggerMetadata, readConsumerSettings, ThrowModeInvocation } from "../../runtime/functions-host";
import { createRedisIdempotencyStore } from "../../runtime/idempotency-store";
import type { DomainEvent } from "../../runtime/event";
import { silentLogger } from "../../runtime/logger";
import { connectRedis, waitForReady } from "../../tools/local-servers/redis-client";
import { RedisServer, startRedisServer } from "../../tools/local-servers/redis-server";
import { envelopeOf, makeEvent } from "../support/events";
import { Delivery, SimulatedQueue } from "../support/simulated-queue";

const LOCK_MS = 30_000;
const MAX_DELIVERY_COUNT = 5;

/**
 * Settlement mode `throw` against a real redis-server. The Functions host with
 * `autoCompleteMessages: true` is modelled (named as a model): it completes a message when the
 * function returns and abandons it when the function throws; the queue (test/support/simulated-queue.ts)
 * dead-letters a message delivered more than maxDeliveryCount times. What happened is read from
 * outside the consumer: the handler's ledger and the queue's final state.
 */
describe("settlement mode throw (runtime/functions-host.ts, real redis-server)", function () {
    this.timeout(30_000);
    let server: RedisServer;
    let redis: Redis;
    let ledger: Map<string, number>;
    let failFirst: Set<string>;
    let handle: (invocation: ThrowModeInvocation) => Promise<unknown>;

    before(async () => {
        server = await startRedisServer();
        redis = await connectRedis(server, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
        redis.on("error", () => undefined);
    });
    after(async () => {
        redis?.disconnect();
        await server?.stop();
    });
    beforeEach(async () => {
        if (!server.isRunning()) await server.restart();
        await waitForReady(redis);
        await redis.flushall();
        ledger = new Map();
        failFirst = new Set();
        const consumer = createConsumer({
            store: createRedisIdempotencyStore(redis),
            logger: silentLogger,
            messageLockMs: LOCK_MS,
            storeOutageMaxWaitMs: 0,
            handler: async (event: DomainEvent) => {
                const id = event.metadata.event_id;
                if (failFirst.delete(id)) throw new Error(`transient failure of ${id}`);
                ledger.set(id, (ledger.get(id) ?? 0) + 1);
            },
        });
        handle = createThrowModeTriggerHandler(consumer);
    });

    /** The host model: deliver until the queue is drained; return → complete, throw → abandon. */
    async function drain(queue: SimulatedQueue): Promise<unknown[]> {
        const errors: unknown[] = [];
        let delivery: Delivery | undefined;
        while ((delivery = queue.receive())) {
            const invocation: ThrowModeInvocation = {
                settlementMode: "throw",
                body: delivery.message.body,
                triggerMetadata: {
                    messageId: `m-${delivery.message.index}`,
                    deliveryCount: delivery.message.deliveryCount,
                    // The host passes dates as ISO strings in trigger metadata.
                    lockedUntilUtc: delivery.lockedUntil.toISOString(),
                },
            };
            try {
                await handle(invocation);
                queue.complete(delivery);
            } catch (error) {
                errors.push(error);
                queue.abandon(delivery);
            }
        }
        return errors;
    }

    const bodyOf = (event: DomainEvent) => JSON.stringify(envelopeOf(event));

    it("applies each event once: the first message is completed by the host, a duplicate message too, without running the handler", async () => {
        const event = makeEvent();
        const queue = new SimulatedQueue(
            [
                { eventId: event.metadata.event_id, body: bodyOf(event) },
                { eventId: event.metadata.event_id, body: bodyOf(event) },
            ],
            LOCK_MS,
            MAX_DELIVERY_COUNT,
        );
        const errors = await drain(queue);
        assert.deepEqual(errors, []);
        assert.equal(ledger.get(event.metadata.event_id), 1);
        assert.deepEqual(queue.messages.map((m) => [m.state, m.deliveryCount]), [["completed", 1], ["completed", 1]]);
    });

    it("a failing handler throws, the host abandons, and the redelivery applies the event once", async () => {
        const event = makeEvent();
        failFirst.add(event.metadata.event_id);
        const queue = new SimulatedQueue([{ eventId: event.metadata.event_id, body: bodyOf(event) }], LOCK_MS, MAX_DELIVERY_COUNT);
        const errors = await drain(queue);
        assert.equal(errors.length, 1);
        assert.ok(errors[0] instanceof AbandonByThrow);
        assert.match(String(errors[0]), new RegExp(`event ${event.metadata.event_id} .*handler-failed; abandoned`));
        assert.equal(ledger.get(event.metadata.event_id), 1);
        assert.deepEqual([queue.messages[0].state, queue.messages[0].deliveryCount], ["completed", 2]);
    });

    it("poison is abandoned on every delivery and reaches the dead-letter queue only after maxDeliveryCount, without our reason", async () => {
        const queue = new SimulatedQueue([{ eventId: "?", body: "{not json" }], LOCK_MS, MAX_DELIVERY_COUNT);
        const errors = await drain(queue);
        assert.equal(errors.length, MAX_DELIVERY_COUNT, "one abandoned delivery per allowed delivery");
        for (const error of errors) {
            assert.ok(error instanceof AbandonByThrow && error.requested === "deadLetter");
            assert.match(String(error), /cannot dead-letter it.*maxDeliveryCount/);
        }
        assert.equal(queue.messages[0].state, "dead");
        assert.equal(queue.messages[0].deadLetterReason, "MaxDeliveryCountExceeded", "the fault's own reason is lost in this mode");
        assert.equal(ledger.size, 0);
    });

    it("Redis down: nothing is completed and nothing applied; after Redis returns the event is applied once", async () => {
        const event = makeEvent();
        const queue = new SimulatedQueue([{ eventId: event.metadata.event_id, body: bodyOf(event) }], LOCK_MS, MAX_DELIVERY_COUNT);
        await server.stop();
        const delivery = queue.receive()!;
        await assert.rejects(
            handle({ settlementMode: "throw", body: delivery.message.body, triggerMetadata: { messageId: "m-0", deliveryCount: 1 } }),
            (error: unknown) => error instanceof AbandonByThrow && /store-unavailable/.test(String(error)),
        );
        queue.abandon(delivery);
        assert.equal(ledger.size, 0);
        await server.restart();
        await waitForReady(redis);
        assert.deepEqual(await drain(queue), []);
        assert.equal(ledger.get(event.metadata.event_id), 1);
        assert.equal(queue.messages[0].state, "completed");
    });

    it("one handler serves both modes: the SDK context keeps explicit settlement", async () => {
        const consumer = createConsumer({ store: createRedisIdempotencyStore(redis), logger: silentLogger, messageLockMs: LOCK_MS, handler: async () => undefined });
        const both = createTriggerHandler(consumer);
        const actions: string[] = [];
        const record = (name: string) => async () => void actions.push(name);
        await both({ messages: [{ body: "{not json", messageId: "p" }], actions: { complete: record("complete"), abandon: record("abandon"), deadletter: record("deadletter") } });
        assert.deepEqual(actions, ["deadletter"], "mode sdk dead-letters poison at once");
        await assert.rejects(both({ settlementMode: "throw", body: "{not json" }), AbandonByThrow);
    });

    it("reads the trigger metadata: message id, delivery count, lock expiry as an ISO string", () => {
        const until = new Date(Date.now() + 10_000);
        const message = messageFromTriggerMetadata({ settlementMode: "throw", body: "b", triggerMetadata: { messageId: "m", deliveryCount: 3, lockedUntilUtc: until.toISOString() } });
        assert.deepEqual(message, { body: "b", messageId: "m", deliveryCount: 3, lockedUntilUtc: until });
        const bare = messageFromTriggerMetadata({ settlementMode: "throw", body: "b", triggerMetadata: { lockedUntilUtc: "not a date", deliveryCount: "x" } });
        assert.equal(bare.lockedUntilUtc, undefined);
        assert.equal(bare.deliveryCount, undefined);
    });

    it("MESH_SETTLEMENT_MODE is read and checked, sdk by default", () => {
        const base = { MESH_MESSAGE_LOCK_MS: "1000", MESH_REDIS_HOST: "h", MESH_REDIS_PORT: "1", MESH_REDIS_AUTH: "none", MESH_REDIS_TLS: "false" };
        assert.equal(readConsumerSettings(base).settlementMode, "sdk");
        assert.equal(readConsumerSettings({ ...base, MESH_SETTLEMENT_MODE: "throw" }).settlementMode, "throw");
        assert.throws(() => readConsumerSettings({ ...base, MESH_SETTLEMENT_MODE: "auto" }), /MESH_SETTLEMENT_MODE="auto" must be sdk or throw/);
    });
});
