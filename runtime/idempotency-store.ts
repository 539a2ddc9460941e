/**
 * Idempotency records in Redis: claim → (complete | release), each one Lua script, so each is
 * atomic and one round trip (EVALSHA through ioredis `defineCommand`; ioredis falls back to EVAL
 * once after a Redis restart empties the script cache).
 *
 * A key holds either `lease:<token>` (someone is processing; expires with the lease) or
 * `done:<token>` (processed; kept for the dedupe window). The token is the fence: only the worker
 * holding the current lease can turn it into `done` or delete it, so a stale worker whose lease
 * expired and was taken by another can neither complete nor release the other worker's claim.
 *
 * Redis must not evict these keys before they expire (use `maxmemory-policy noeviction`): every
 * key has a TTL, so the volatile-* policies would silently forget completed events.
 */
import { randomUUID } from "crypto";
import type Redis from "ioredis";

export const DEFAULT_DEDUPE_WINDOW_MS = 7 * 24 * 3600 * 1000;
export const DEFAULT_KEY_PREFIX = "mesh:idem:";

export type ClaimResult =
  | { status: "claimed"; token: string; leaseMs: number }
  | { status: "completed" }
  | { status: "in-progress"; retryAfterMs: number };

/**
 * - `completed`: the caller's lease turned into a completed record.
 * - `completed-after-lease-expiry`: the lease had expired but nobody else claimed it, so nobody
 *   else can have run the handler; recorded as completed.
 * - `completed-by-other`: the lease expired, another worker claimed AND completed: the effect ran twice.
 * - `claimed-by-other`: the lease expired and another worker holds it now; nothing was written.
 */
export type CompleteResult = "completed" | "completed-after-lease-expiry" | "completed-by-other" | "claimed-by-other";

/** `expired`: nothing to release (the lease ran out); the others are refusals, nothing was changed. */
export type ReleaseResult = "released" | "expired" | "completed" | "claimed-by-other";

export interface IdempotencyStore {
  claim(eventId: string, leaseMs: number): Promise<ClaimResult>;
  complete(eventId: string, token: string): Promise<CompleteResult>;
  release(eventId: string, token: string): Promise<ReleaseResult>;
}

export interface RedisIdempotencyStoreOptions {
  /** Default `mesh:idem:`. */
  keyPrefix?: string;
  /**
   * How long a completed record is kept. Default 7 days: EventBridge retries deliveries for up to
   * 24 h, and an archive replay can bring an event back much later.
   */
  dedupeWindowMs?: number;
  /** Lease owner tokens. Default `crypto.randomUUID`. */
  newToken?: () => string;
}

const CLAIM = `
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], 'lease:' .. ARGV[1], 'PX', ARGV[2])
  return {'claimed', tonumber(ARGV[2])}
end
if string.sub(v, 1, 5) == 'done:' then
  return {'completed', 0}
end
return {'in-progress', redis.call('PTTL', KEYS[1])}
`;

const COMPLETE = `
local v = redis.call('GET', KEYS[1])
if v == 'lease:' .. ARGV[1] then
  redis.call('SET', KEYS[1], 'done:' .. ARGV[1], 'PX', ARGV[2])
  return 'completed'
end
if not v then
  redis.call('SET', KEYS[1], 'done:' .. ARGV[1], 'PX', ARGV[2])
  return 'completed-after-lease-expiry'
end
if v == 'done:' .. ARGV[1] then
  return 'completed'
end
if string.sub(v, 1, 5) == 'done:' then
  return 'completed-by-other'
end
return 'claimed-by-other'
`;

const RELEASE = `
local v = redis.call('GET', KEYS[1])
if v == 'lease:' .. ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 'released'
end
if not v then
  return 'expired'
end
if string.sub(v, 1, 5) == 'done:' then
  return 'completed'
end
return 'claimed-by-other'
`;

// Versioned names: a changed script under the same name would be a different command.
const CLAIM_COMMAND = "meshIdempotencyClaimV1";
const COMPLETE_COMMAND = "meshIdempotencyCompleteV1";
const RELEASE_COMMAND = "meshIdempotencyReleaseV1";

type ScriptCommands = {
  [CLAIM_COMMAND]: (key: string, token: string, leaseMs: number) => Promise<[string, number]>;
  [COMPLETE_COMMAND]: (key: string, token: string, windowMs: number) => Promise<string>;
  [RELEASE_COMMAND]: (key: string, token: string) => Promise<string>;
};

function defineScripts(redis: Redis): ScriptCommands {
  const r = redis as unknown as Record<string, unknown>;
  if (typeof r[CLAIM_COMMAND] !== "function") redis.defineCommand(CLAIM_COMMAND, { numberOfKeys: 1, lua: CLAIM });
  if (typeof r[COMPLETE_COMMAND] !== "function") redis.defineCommand(COMPLETE_COMMAND, { numberOfKeys: 1, lua: COMPLETE });
  if (typeof r[RELEASE_COMMAND] !== "function") redis.defineCommand(RELEASE_COMMAND, { numberOfKeys: 1, lua: RELEASE });
  return redis as unknown as ScriptCommands;
}

export function createRedisIdempotencyStore(redis: Redis, options: RedisIdempotencyStoreOptions = {}): IdempotencyStore {
  const prefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  const windowMs = options.dedupeWindowMs ?? DEFAULT_DEDUPE_WINDOW_MS;
  if (!Number.isInteger(windowMs) || windowMs <= 0) throw new Error(`dedupeWindowMs must be a positive integer, got ${windowMs}`);
  const newToken = options.newToken ?? randomUUID;
  const scripts = defineScripts(redis);

  return {
    async claim(eventId, leaseMs) {
      if (!Number.isInteger(leaseMs) || leaseMs <= 0) throw new Error(`claim: leaseMs must be a positive integer, got ${leaseMs}`);
      const token = newToken();
      const [status, ms] = await scripts[CLAIM_COMMAND](prefix + eventId, token, leaseMs);
      if (status === "claimed") return { status: "claimed", token, leaseMs };
      if (status === "completed") return { status: "completed" };
      if (status === "in-progress") return { status: "in-progress", retryAfterMs: Math.max(0, Number(ms)) };
      throw new Error(`claim of event ${eventId}: unexpected reply from Redis script: ${String(status)}`);
    },
    async complete(eventId, token) {
      const result = await scripts[COMPLETE_COMMAND](prefix + eventId, token, windowMs);
      switch (result) {
        case "completed":
        case "completed-after-lease-expiry":
        case "completed-by-other":
        case "claimed-by-other":
          return result;
        default:
          throw new Error(`complete of event ${eventId}: unexpected reply from Redis script: ${String(result)}`);
      }
    },
    async release(eventId, token) {
      const result = await scripts[RELEASE_COMMAND](prefix + eventId, token);
      switch (result) {
        case "released":
        case "expired":
        case "completed":
        case "claimed-by-other":
          return result;
        default:
          throw new Error(`release of event ${eventId}: unexpected reply from Redis script: ${String(result)}`);
      }
    },
  };
}

/**
 * ioredis options that suit the consumer: fail fast instead of queueing commands while Redis is
 * unreachable (the consumer then leaves the message unacknowledged), no auto-pipelining (one
 * command, one round trip), and a command timeout well inside the message lock.
 */
export const CONSUMER_REDIS_OPTIONS = {
  maxRetriesPerRequest: 1,
  enableOfflineQueue: false,
  enableAutoPipelining: false,
  commandTimeout: 2000,
} as const;
