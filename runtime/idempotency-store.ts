/**
 * Idempotency records in Redis: claim → (complete | release), each one Lua script, so each is
 * atomic and one round trip (EVALSHA through ioredis `defineCommand`; ioredis falls back to EVAL
 * once after a Redis restart empties the script cache).
 *
 * One key per event, one string value, in one of three states (the token is the fence):
 *   `held:<generation>:<leaseUntilMs>:<token>`  a worker claimed it; its lease ends at leaseUntilMs
 *                                             (Redis server clock, epoch ms). Kept after the lease
 *                                             ends: that is what lets a stale worker be told that
 *                                             someone took over after it.
 *   `free:<generation>:<token>`               the holder released it (its handler failed)
 *   `done:<token>`                            completed by that token
 * Every write sets the key's TTL to the dedupe window, so a lease record outlives its lease by the
 * window (see `IdempotencyStore` for why that long), and a completed record is kept for the window.
 * Lease expiry is judged inside the script with Redis' own clock (`TIME`), never the caller's.
 *
 * Records written by the first version of these scripts (`lease:<token>` with the lease as key TTL,
 * `done:<token>`) are still read correctly, so an upgrade does not forget completed events.
 *
 * Redis must not evict these keys before they expire (use `maxmemory-policy noeviction`): every
 * key has a TTL, so the volatile-* policies would silently forget completed events.
 */
import { randomUUID } from "crypto";
import type Redis from "ioredis";

export const DEFAULT_DEDUPE_WINDOW_MS = 7 * 24 * 3600 * 1000;
export const DEFAULT_KEY_PREFIX = "mesh:idem:";
/** Longest token a caller may pass (it is stored in the record). */
export const MAX_TOKEN_LENGTH = 200;

export type ClaimResult =
  /**
   * The caller holds the lease for `leaseMs` from now. `generation` counts the claims the record
   * has seen, this one included: 1 for a first claim, +1 for each takeover or claim after a release,
   * unchanged when the same token claims again. It only grows while the record lives (the dedupe
   * window after the last write), so a handler can use it as a fencing token downstream.
   */
  | { status: "claimed"; token: string; leaseMs: number; generation: number }
  | { status: "completed" }
  /** Another token holds a live lease; it ends in `retryAfterMs` (by the store's clock). */
  | { status: "in-progress"; retryAfterMs: number };

/**
 * What `complete(eventId, token)` found, and did. "Our lease" below means the lease `token` was
 * granted; "another worker" means any other token.
 * - `completed`: our lease was live; the record is now completed by us. Also returned when the
 *   record is already completed by our token (a retried `complete` whose first reply was lost).
 * - `completed-after-lease-expiry`: our lease had ended (expired, or we released it) and nobody
 *   claimed since, so nobody else can have run the handler. Recorded as completed by us.
 * - `completed-after-takeover`: our lease ended, another worker claimed after it, and that claim
 *   has ended too without completing (its lease expired: it crashed, possibly after its effect, or
 *   is still overrunning; or it released after its handler failed). Recorded as completed by us.
 *   THE EFFECT MAY HAVE RUN TWICE. If the other worker later completes, it gets `completed-by-other`.
 * - `completed-by-other`: another worker completed the event. Nothing written. The effect ran twice
 *   (ours and theirs).
 * - `claimed-by-other`: another worker holds a live lease. Nothing written. Our effect has run and
 *   theirs is running: the effect will most likely run twice.
 * - `completed-record-missing`: there is no record at all: the store lost it (Redis restarted
 *   without persistence, a failover lost the last writes) or the caller outlived the record's
 *   retention (the dedupe window). Recorded as completed by us; nobody can tell whether another
 *   worker ran the handler in between.
 */
export type CompleteResult =
  | "completed"
  | "completed-after-lease-expiry"
  | "completed-after-takeover"
  | "completed-by-other"
  | "claimed-by-other"
  | "completed-record-missing";

/**
 * What `release(eventId, token)` found, and did.
 * - `released`: our lease was live (or we had already released it); the record is now free, so the
 *   next claim runs the handler at once.
 * - `expired`: our lease had run out but nobody claimed since; freed all the same.
 * - `completed`: the record is completed (by anyone); nothing changed.
 * - `claimed-by-other`: another worker claimed after our lease ended; nothing changed.
 * - `record-missing`: no record (lost, or past its retention); nothing to release.
 */
export type ReleaseResult = "released" | "expired" | "completed" | "claimed-by-other" | "record-missing";

/**
 * The lease/fence contract every idempotency store implements the same way (Redis here; a
 * DynamoDB implementation must give the same answers in the same situations).
 *
 * State per event id: absent, held (generation, lease end, holder token), free (generation, last
 * holder token) or done (token that completed). Every operation is one atomic step against the
 * store (one round trip) and judges lease expiry by one clock: the store's own where it has one.
 *
 * claim(eventId, leaseMs, token?) — token defaults to a fresh random one; a caller that retries a
 *   claim within one delivery passes the same token, so a claim whose reply was lost is not a lease
 *   nobody owns.
 *   absent                     → held(1, now+lease, token), `claimed`
 *   done                       → unchanged, `completed`
 *   held by token (live or not)→ held(same generation, now+lease, token), `claimed` (the same claim again)
 *   held by other, live        → unchanged, `in-progress` (retryAfterMs = lease end − now)
 *   held by other, expired     → held(generation+1, now+lease, token), `claimed` (a takeover)
 *   free                       → held(generation+1, now+lease, token), `claimed`
 * complete(eventId, token): see `CompleteResult`; writes done(token) except for
 *   `completed-by-other` and `claimed-by-other`.
 * release(eventId, token): see `ReleaseResult`; writes free(generation, token) only for
 *   `released` and `expired`.
 *
 * Retention: every write keeps the record for the dedupe window (default 7 days), including held
 * and free records, whose leases last seconds. A stale holder can call `complete` any time its
 * invocation is still alive, and nothing in the pipeline bounds that (a handler that ignores its
 * AbortSignal runs until the Functions host's timeout, which can be unlimited); lock × max delivery
 * count bounds how long the MESSAGE is redelivered, not how long a stale invocation lives. The
 * dedupe window is the horizon past which the system promises nothing anyway (a later copy of the
 * event is processed as new), and it costs no extra memory class: a completed record lives that
 * long already, so a held/free record at most takes the place its done record would.
 */
export interface IdempotencyStore {
  claim(eventId: string, leaseMs: number, token?: string): Promise<ClaimResult>;
  complete(eventId: string, token: string): Promise<CompleteResult>;
  release(eventId: string, token: string): Promise<ReleaseResult>;
}

export interface RedisIdempotencyStoreOptions {
  /** Default `mesh:idem:`. */
  keyPrefix?: string;
  /**
   * How long a record is kept after its last write (completed records, and the fence of held/free
   * ones). Default 7 days: EventBridge retries deliveries for up to 24 h, and an archive replay can
   * bring an event back much later.
   */
  dedupeWindowMs?: number;
  /** Lease owner tokens when the caller passes none. Default `crypto.randomUUID`. */
  newToken?: () => string;
}

// Shared head of every script: the server's clock and the record, parsed. A write after TIME needs
// effects replication, which Redis 7 always uses and Redis 5–6 get from replicate_commands().
const READ_RECORD = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local v = redis.call('GET', KEYS[1])
local state, gen, untilMs, holder = 'absent', 0, 0, nil
if v then
  local g, u, h = string.match(v, '^held:(%d+):(%d+):(.*)$')
  if g then
    state, gen, untilMs, holder = 'held', tonumber(g), tonumber(u), h
  else
    g, h = string.match(v, '^free:(%d+):(.*)$')
    if g then
      state, gen, holder = 'free', tonumber(g), h
    elseif string.sub(v, 1, 5) == 'done:' then
      state, holder = 'done', string.sub(v, 6)
    elseif string.sub(v, 1, 6) == 'lease:' then
      state, gen, holder = 'held', 0, string.sub(v, 7)
      untilMs = now + math.max(redis.call('PTTL', KEYS[1]), 0)
    else
      return redis.error_reply('unrecognised idempotency record at ' .. KEYS[1])
    end
  end
end
local me = ARGV[1]
`;

// ARGV: token, leaseMs, windowMs
const CLAIM =
  READ_RECORD +
  `
if state == 'done' then return {'completed', 0} end
if state == 'held' and holder ~= me and untilMs > now then return {'in-progress', untilMs - now} end
local nextGen = gen + 1
if state == 'held' and holder == me and gen > 0 then nextGen = gen end
redis.call('SET', KEYS[1], 'held:' .. nextGen .. ':' .. (now + tonumber(ARGV[2])) .. ':' .. me, 'PX', ARGV[3])
return {'claimed', nextGen}
`;

// ARGV: token, windowMs
const COMPLETE =
  READ_RECORD +
  `
if state == 'done' then
  if holder == me then return 'completed' end
  return 'completed-by-other'
end
if state == 'held' and holder ~= me and untilMs > now then return 'claimed-by-other' end
local result = 'completed-after-lease-expiry'
if state == 'absent' then result = 'completed-record-missing'
elseif holder ~= me then result = 'completed-after-takeover'
elseif state == 'held' and untilMs > now then result = 'completed' end
redis.call('SET', KEYS[1], 'done:' .. me, 'PX', ARGV[2])
return result
`;

// ARGV: token, windowMs
const RELEASE =
  READ_RECORD +
  `
if state == 'absent' then return 'record-missing' end
if state == 'done' then return 'completed' end
if holder ~= me then return 'claimed-by-other' end
if state == 'free' then return 'released' end
local result = 'released'
if untilMs <= now then result = 'expired' end
redis.call('SET', KEYS[1], 'free:' .. gen .. ':' .. me, 'PX', ARGV[2])
return result
`;

/**
 * For harnesses that move time forward under the store (the fault simulation's clock jumps): a Lua
 * function `ageRecord(v, ms)` returning record `v` as it must read once `ms` more milliseconds have
 * passed by the server's clock. Only a held record carries an instant (its lease end); the others
 * are returned unchanged. Kept here, beside the scripts, so the record's encoding has one owner.
 */
export const AGE_RECORD_LUA = `
local function ageRecord(v, ms)
  local g, u, h = string.match(v, '^held:(%d+):(%d+):(.*)$')
  if not g then return v end
  return 'held:' .. g .. ':' .. math.max(0, tonumber(u) - ms) .. ':' .. h
end
`;

/** The scripts' source, for tools that observe the store's traffic on the wire (the fault simulation's oracle). */
export const IDEMPOTENCY_SCRIPTS = { claim: CLAIM, complete: COMPLETE, release: RELEASE } as const;

// Versioned names: a changed script under the same name would be a different command.
const CLAIM_COMMAND = "meshIdempotencyClaimV2";
const COMPLETE_COMMAND = "meshIdempotencyCompleteV2";
const RELEASE_COMMAND = "meshIdempotencyReleaseV2";

type ScriptCommands = {
  [CLAIM_COMMAND]: (key: string, token: string, leaseMs: number, windowMs: number) => Promise<[string, number]>;
  [COMPLETE_COMMAND]: (key: string, token: string, windowMs: number) => Promise<string>;
  [RELEASE_COMMAND]: (key: string, token: string, windowMs: number) => Promise<string>;
};

function defineScripts(redis: Redis): ScriptCommands {
  const r = redis as unknown as Record<string, unknown>;
  if (typeof r[CLAIM_COMMAND] !== "function") redis.defineCommand(CLAIM_COMMAND, { numberOfKeys: 1, lua: CLAIM });
  if (typeof r[COMPLETE_COMMAND] !== "function") redis.defineCommand(COMPLETE_COMMAND, { numberOfKeys: 1, lua: COMPLETE });
  if (typeof r[RELEASE_COMMAND] !== "function") redis.defineCommand(RELEASE_COMMAND, { numberOfKeys: 1, lua: RELEASE });
  return redis as unknown as ScriptCommands;
}

function checkToken(operation: string, eventId: string, token: string): void {
  if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
    throw new Error(`${operation} of event ${eventId}: token must be a non-empty string of at most ${MAX_TOKEN_LENGTH} characters`);
  }
}

/**
 * The state of a raw record as GET returns it, for tools that read Redis directly (npm run smoke):
 * they must not depend on the record's encoding, which the scripts above own. A `held` record may
 * be past its lease: the scripts keep it as the fence (see the file comment).
 */
export type RecordState = "absent" | "held" | "free" | "done";

export function recordState(value: string | null | undefined): RecordState {
  if (value === null || value === undefined) return "absent";
  if (/^held:\d+:\d+:/.test(value) || value.startsWith("lease:")) return "held";
  if (/^free:\d+:/.test(value)) return "free";
  if (value.startsWith("done:")) return "done";
  throw new Error(`unrecognised idempotency record: ${JSON.stringify(value.slice(0, 40))}`);
}

export function createRedisIdempotencyStore(redis: Redis, options: RedisIdempotencyStoreOptions = {}): IdempotencyStore {
  const prefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  const windowMs = options.dedupeWindowMs ?? DEFAULT_DEDUPE_WINDOW_MS;
  if (!Number.isInteger(windowMs) || windowMs <= 0) throw new Error(`dedupeWindowMs must be a positive integer, got ${windowMs}`);
  const newToken = options.newToken ?? randomUUID;
  const scripts = defineScripts(redis);

  return {
    async claim(eventId, leaseMs, token = newToken()) {
      if (!Number.isInteger(leaseMs) || leaseMs <= 0) throw new Error(`claim of event ${eventId}: leaseMs must be a positive integer, got ${leaseMs}`);
      // The record is kept for the window from its last write: a longer lease would vanish while held.
      if (leaseMs >= windowMs) throw new Error(`claim of event ${eventId}: leaseMs (${leaseMs}) must be shorter than dedupeWindowMs (${windowMs})`);
      checkToken("claim", eventId, token);
      const [status, n] = await scripts[CLAIM_COMMAND](prefix + eventId, token, leaseMs, windowMs);
      if (status === "claimed") return { status: "claimed", token, leaseMs, generation: Number(n) };
      if (status === "completed") return { status: "completed" };
      if (status === "in-progress") return { status: "in-progress", retryAfterMs: Math.max(0, Number(n)) };
      throw new Error(`claim of event ${eventId}: unexpected reply from Redis script: ${String(status)}`);
    },
    async complete(eventId, token) {
      checkToken("complete", eventId, token);
      const result = await scripts[COMPLETE_COMMAND](prefix + eventId, token, windowMs);
      switch (result) {
        case "completed":
        case "completed-after-lease-expiry":
        case "completed-after-takeover":
        case "completed-by-other":
        case "claimed-by-other":
        case "completed-record-missing":
          return result;
        default:
          throw new Error(`complete of event ${eventId}: unexpected reply from Redis script: ${String(result)}`);
      }
    },
    async release(eventId, token) {
      checkToken("release", eventId, token);
      const result = await scripts[RELEASE_COMMAND](prefix + eventId, token, windowMs);
      switch (result) {
        case "released":
        case "expired":
        case "completed":
        case "claimed-by-other":
        case "record-missing":
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
