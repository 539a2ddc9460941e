/**
 * What the consumer tests on a real redis-server share: the server, clients, the store, a ledger of
 * effects, and a consumer factory with short locks. `useConsumerHarness()` registers the mocha hooks
 * in the calling describe (server per file, flushed before each test).
 */
import Redis from "ioredis";
import { randomUUID } from "crypto";
import { BusinessHandler, ConsumerMessage, ConsumerOptions, createConsumer } from "../../runtime/consumer";
import { createRedisIdempotencyStore, IdempotencyStore } from "../../runtime/idempotency-store";
import { DomainEvent } from "../../runtime/event";
import { RedisServer, startRedisServer } from "../../tools/local-servers/redis-server";
import { connectRedis, waitForReady } from "../../tools/local-servers/redis-client";
import { envelopeOf } from "./events";
import { memoryLogger } from "./memory-logger";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const KEY_PREFIX = "c:";

/** A business effect we can count: the thing that must happen exactly once per event id. */
export class Ledger {
  readonly effects = new Map<string, number>();
  count(id: string) {
    return this.effects.get(id) ?? 0;
  }
  apply(id: string) {
    this.effects.set(id, this.count(id) + 1);
  }
}

export function message(event: DomainEvent | unknown, deliveryCount = 1, extra: Partial<ConsumerMessage> = {}): ConsumerMessage {
  const body = isDomainEvent(event) ? JSON.stringify(envelopeOf(event)) : event;
  return { body, messageId: randomUUID(), deliveryCount, ...extra };
}
/** The lease left on a held record, by Redis' clock (the record itself is kept for the dedupe window). */
export async function leaseLeftMs(admin: Redis, key: string): Promise<number | "released"> {
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

export interface ConsumerHarness {
  server: RedisServer;
  redis: Redis;
  admin: Redis;
  store: IdempotencyStore;
  consumerWith(handler: BusinessHandler, overrides?: Partial<ConsumerOptions>): { consumer: ReturnType<typeof createConsumer>; logger: ReturnType<typeof memoryLogger> };
  recordingHandler(ledger: Ledger): BusinessHandler;
}

export function useConsumerHarness(): ConsumerHarness {
  const h = {
    consumerWith(handler: BusinessHandler, overrides: Partial<ConsumerOptions> = {}) {
      const logger = memoryLogger();
      const consumer = createConsumer({
        store: h.store,
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
    },
    recordingHandler: (ledger: Ledger): BusinessHandler => async (event) => ledger.apply(event.metadata.event_id),
  } as ConsumerHarness;
  before(async () => {
    h.server = await startRedisServer();
    h.redis = await connectRedis(h.server);
    h.admin = await connectRedis(h.server);
    h.store = createRedisIdempotencyStore(h.redis, { keyPrefix: KEY_PREFIX });
  });
  after(async () => {
    h.redis?.disconnect();
    h.admin?.disconnect();
    await h.server?.stop();
  });
  beforeEach(async () => {
    if (!h.server.isRunning()) await h.server.restart();
    await waitForReady(h.redis);
    await waitForReady(h.admin);
    await h.admin.flushall();
  });
  return h;
}
