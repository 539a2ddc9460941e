/**
 * One clock for the simulation and the idempotency Redis. The simulated clock (clock.ts) jumps
 * forward when nothing real is in flight; Redis counts real time. So that a lease or a dedupe window
 * in Redis sees the same time pass as the rest of the simulation, each key is aged by the simulated
 * ms the clock jumped since the key was last aged:
 * - its remaining TTL becomes PTTL − J, and a key with PTTL ≤ J is deleted (it has expired);
 * - a held record's lease end moves J earlier, so the store's "Redis TIME vs leaseUntilMs" sees J
 *   more milliseconds elapsed (the record encoding stays with runtime/idempotency-store.ts:
 *   AGE_RECORD_LUA).
 *
 * Lazily, per key, in one Lua script sent on the same connection immediately before every command
 * on that key (Redis runs a connection's commands in order, so the command sees the aged key), plus
 * a full pass over every key (`catchUp`) before anything reads the keys wholesale (the restart
 * snapshots, the final audit). Aging every key at every jump would give the same answers, but costs
 * a scan of all keys per jump: about 5 ms per jump at 1 000 keys (measured: half the run's time),
 * hopeless at 100 000. A per-run hash records the clock offset each key was last aged to.
 *
 * A jump may happen only while no command is in flight: every command is real work on the clock
 * (`busy`), and a jump that finds one in flight stops the run loudly.
 */
import Redis, { Command } from "ioredis";
import { AGE_RECORD_LUA } from "../../runtime/idempotency-store";
import type { SimClock } from "./clock";
import { retryTimeouts } from "./store-observer";

// The ageing of one key by `ms` (Lua locals k, ms); returns -1 when the key expired.
const AGE_ONE = `
local function ageKey(k, ms)
  if ms <= 0 then return 0 end
  local ttl = redis.call('PTTL', k)
  if ttl == -2 then return 0 end
  if ttl >= 0 and ttl <= ms then
    redis.call('DEL', k)
    return -1
  end
  local v = redis.call('GET', k)
  local w = ageRecord(v, ms)
  if ttl == -1 then
    if w ~= v then redis.call('SET', k, w) end
  elseif w ~= v then
    redis.call('SET', k, w, 'PX', ttl - ms)
  else
    redis.call('PEXPIRE', k, ttl - ms)
  end
  return 1
end
`;

// KEYS: key, offsets hash; ARGV: the clock's offset now.
const AGE_KEY_LUA =
  AGE_RECORD_LUA +
  AGE_ONE +
  `
local now = tonumber(ARGV[1])
local last = tonumber(redis.call('HGET', KEYS[2], KEYS[1]) or ARGV[1])
redis.call('HSET', KEYS[2], KEYS[1], ARGV[1])
return ageKey(KEYS[1], now - last)
`;

// KEYS: offsets hash, then the keys to age; ARGV: the clock's offset now. One chunk of a catch-up:
// a single script over every key blocked Redis for seconds at 50 000 keys, past the clients'
// command timeout (the 100 000-event run died of it), so the harness scans and ages in chunks.
const CATCH_UP_LUA =
  AGE_RECORD_LUA +
  AGE_ONE +
  `
local now = tonumber(ARGV[1])
local aged, expired = 0, 0
for i = 2, #KEYS do
  local k = KEYS[i]
  local last = tonumber(redis.call('HGET', KEYS[1], k) or ARGV[1])
  redis.call('HSET', KEYS[1], k, ARGV[1])
  local done = ageKey(k, now - last)
  if done == 1 then aged = aged + 1 elseif done == -1 then expired = expired + 1 end
end
return {aged, expired}
`;

/** The key a command acts on, for the commands the store, the baseline and the harness send. */
function keyOf(command: Command): string | undefined {
  const name = command.name.toLowerCase();
  const args = command.args;
  if (name === "evalsha" || name === "eval") return Number(args[1]) >= 1 && typeof args[2] === "string" ? args[2] : undefined;
  if (name === "set" || name === "get" || name === "pttl" || name === "del" || name === "exists") return typeof args[0] === "string" ? args[0] : undefined;
  return undefined;
}

export interface RedisTimeFollower {
  /** Simulated ms the clock has jumped since the follower started: what Redis is aged by. */
  agedMs(): number;
  /** Commands sent and not yet answered. */
  inFlight(): number;
  /** Ages every key of the run to the clock's offset now (before reading keys wholesale). */
  catchUp(): Promise<{ aged: number; expired: number }>;
  /** Unwraps the client and deletes the offsets hash. */
  stop(): Promise<void>;
}

/**
 * Makes the keys matching `prefixes` on `client` follow `clock` (see the file comment); `offsetsKey`
 * holds each key's last offset and must not match a prefix.
 */
export function followClock(client: Redis, clock: SimClock, prefixes: string[], offsetsKey: string): RedisTimeFollower {
  if (prefixes.some((p) => offsetsKey.startsWith(p))) throw new Error(`followClock: offsetsKey ${offsetsKey} must not match a followed prefix`);
  let offset = 0;
  let inFlight = 0;
  const original = client.sendCommand;
  const send = (redis: Redis, command: Command, stream?: Parameters<Redis["sendCommand"]>[1]): unknown => {
    const result: unknown = original.call(redis, command, stream);
    inFlight++;
    void clock.busy(
      command.promise.then(
        () => inFlight--,
        () => inFlight--,
      ),
    );
    return result;
  };
  client.sendCommand = function (this: Redis, command: Parameters<Redis["sendCommand"]>[0], stream?: Parameters<Redis["sendCommand"]>[1]) {
    const key = keyOf(command);
    // Pipelined commands (the harness's snapshots) come after a catchUp() and are not aged one by one.
    if (stream === undefined && key !== undefined && prefixes.some((p) => key.startsWith(p))) {
      // Runs on the server just before `command` (same connection, in order).
      const age = new Command("eval", [AGE_KEY_LUA, 2, key, offsetsKey, String(offset)]);
      send(this, age);
      // Redis away: the command after it fails the same way, and that failure is what counts.
      age.promise.catch(() => undefined);
    }
    return send(this, command, stream);
  } as unknown as Redis["sendCommand"];
  clock.onJump(async (ms) => {
    if (inFlight > 0) throw new Error(`the simulated clock jumped ${ms} ms while ${inFlight} idempotency Redis commands were in flight`);
    offset += ms;
  });
  return {
    agedMs: () => offset,
    inFlight: () => inFlight,
    catchUp: async () => {
      // Keys seen once are aged once (SCAN may return a key twice; a second pass would age it by 0 anyway).
      const seen = new Set<string>();
      let aged = 0;
      let expired = 0;
      for (const prefix of prefixes) {
        let cursor = "0";
        do {
          const [next, keys] = await retryTimeouts(() => client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500));
          cursor = next;
          const fresh = keys.filter((k) => !seen.has(k));
          for (const k of fresh) seen.add(k);
          if (fresh.length === 0) continue;
          const [a, e] = (await retryTimeouts(() => client.eval(CATCH_UP_LUA, 1 + fresh.length, offsetsKey, ...fresh, String(offset)))) as [number, number];
          aged += Number(a);
          expired += Number(e);
        } while (cursor !== "0");
      }
      return { aged, expired };
    },
    stop: async () => {
      client.sendCommand = original;
      await client.del(offsetsKey).catch(() => 0);
    },
  };
}
