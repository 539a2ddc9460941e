/**
 * One clock for the simulation and the idempotency Redis. The simulated clock (clock.ts) jumps
 * forward when nothing real is in flight; Redis counts real time. So that a lease or a dedupe window
 * in Redis sees the same time pass as the rest of the simulation, every jump of J ms ages the run's
 * keys by J, in one Lua script (atomic on the server):
 * - a key's remaining TTL becomes PTTL − J, and a key with PTTL ≤ J is deleted (it has expired);
 * - a held record's lease end moves J earlier, so the store's "Redis TIME vs leaseUntilMs" sees J
 *   more milliseconds elapsed (the record encoding stays with runtime/idempotency-store.ts:
 *   AGE_RECORD_LUA).
 * A jump happens only while nothing is in flight; `trackCommands` counts the client's commands in
 * flight so the ager can refuse (loudly) a jump that would race one, and marks each command as
 * real work so the clock cannot jump while it runs.
 */
import type Redis from "ioredis";
import { AGE_RECORD_LUA } from "../../runtime/idempotency-store";
import type { SimClock } from "./clock";

// ARGV: ms, pattern…  Keys are deduplicated: SCAN may return a key twice.
const AGE_KEYS_LUA =
  AGE_RECORD_LUA +
  `
local ms = tonumber(ARGV[1])
local seen, aged, expired = {}, 0, 0
for i = 2, #ARGV do
  local cursor = '0'
  repeat
    local r = redis.call('SCAN', cursor, 'MATCH', ARGV[i], 'COUNT', 1000)
    cursor = r[1]
    for _, k in ipairs(r[2]) do
      if not seen[k] then
        seen[k] = true
        local ttl = redis.call('PTTL', k)
        if ttl > 0 then
          if ttl <= ms then
            redis.call('DEL', k)
            expired = expired + 1
          else
            local v = redis.call('GET', k)
            local w = ageRecord(v, ms)
            if w ~= v then redis.call('SET', k, w, 'PX', ttl - ms) else redis.call('PEXPIRE', k, ttl - ms) end
            aged = aged + 1
          end
        end
      end
    end
  until cursor == '0'
end
return {aged, expired}
`;

/** Ages every key matching the patterns by `ms` (see the file comment). Returns [aged, expired]. */
export async function ageKeys(client: Redis, patterns: string[], ms: number): Promise<[number, number]> {
  if (!Number.isInteger(ms) || ms < 0) throw new Error(`ageKeys: ms must be a non-negative integer, got ${ms}`);
  if (ms === 0 || patterns.length === 0) return [0, 0];
  const reply = (await client.eval(AGE_KEYS_LUA, 0, String(ms), ...patterns)) as [number, number];
  return [Number(reply[0]), Number(reply[1])];
}

export interface CommandTracker {
  /** Commands sent and not yet answered. */
  inFlight(): number;
  stop(): void;
}

/** Marks every command of `client` as real work on `clock` and counts those in flight. */
export function trackCommands(client: Redis, clock: SimClock): CommandTracker {
  let inFlight = 0;
  const original = client.sendCommand;
  client.sendCommand = function (this: Redis, command: Parameters<Redis["sendCommand"]>[0], stream?: Parameters<Redis["sendCommand"]>[1]) {
    const result = original.call(this, command, stream);
    inFlight++;
    void clock.busy(
      command.promise.then(
        () => inFlight--,
        () => inFlight--,
      ),
    );
    return result;
  } as Redis["sendCommand"];
  return {
    inFlight: () => inFlight,
    stop: () => {
      client.sendCommand = original;
    },
  };
}

/**
 * Makes the idempotency Redis follow `clock`: each jump ages the keys matching `patterns` before any
 * timer of the new instant fires. Returns the total simulated ms Redis was aged by.
 */
export function followClock(client: Redis, clock: SimClock, patterns: string[], tracker: CommandTracker): { agedMs: () => number } {
  let agedMs = 0;
  clock.onJump(async (ms) => {
    if (tracker.inFlight() > 0) throw new Error(`the simulated clock jumped ${ms} ms while ${tracker.inFlight()} idempotency Redis commands were in flight`);
    await ageKeys(client, patterns, ms);
    agedMs += ms;
  });
  return { agedMs: () => agedMs };
}
