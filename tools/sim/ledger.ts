/**
 * The business store of the simulated handler: a REAL Redis, separate from the idempotency Redis
 * (the fault run stops and restarts that one; the business data must survive it, as a database
 * would). Every time the handler reaches its effect the ledger records it, so duplicates are
 * counted, not assumed:
 * - `reached`: how many times the handler got to the point of applying its effect for the event.
 *   This is how many times an UNCONDITIONAL effect would have been applied.
 * - `applied`: how many times the effect was applied. With the `conditional` contract (what
 *   runtime/README.md recommends) the effect is a write conditional on the event id, done
 *   atomically in one Lua script, so a second run finds it and applies nothing. With the `plain`
 *   contract the effect is applied every time the handler reaches it.
 */
import type Redis from "ioredis";

export type HandlerContract = "conditional" | "plain";

const APPLY = `
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
if ARGV[2] == 'plain' or redis.call('HSETNX', KEYS[3], ARGV[1], ARGV[3]) == 1 then
  redis.call('HSETNX', KEYS[3], ARGV[1], ARGV[3])
  redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
  return 1
end
return 0
`;

export interface LedgerCounts {
  reached: Map<string, number>;
  applied: Map<string, number>;
  firstAppliedAt: Map<string, number>;
}

export class EffectLedger {
  private readonly keys: [string, string, string];

  constructor(
    private readonly redis: Redis,
    prefix: string,
    readonly contract: HandlerContract,
  ) {
    this.keys = [`${prefix}reached`, `${prefix}applied`, `${prefix}first-applied-at`];
    if (typeof (redis as unknown as Record<string, unknown>).meshSimApplyEffect !== "function") {
      redis.defineCommand("meshSimApplyEffect", { numberOfKeys: 3, lua: APPLY });
    }
  }

  /** Applies the effect for the event (per the contract). True when it was applied by this call. */
  async apply(eventId: string, atMs: number): Promise<boolean> {
    const apply = (this.redis as unknown as { meshSimApplyEffect: (...args: (string | number)[]) => Promise<number> }).meshSimApplyEffect;
    return (await apply.call(this.redis, ...this.keys, eventId, this.contract, atMs)) === 1;
  }

  /** Removes this run's ledger (a Redis given by URL outlives the run). */
  async drop(): Promise<void> {
    await this.redis.del(...this.keys);
  }

  async read(): Promise<LedgerCounts> {
    const [reached, applied, first] = await Promise.all(this.keys.map((k) => this.redis.hgetall(k)));
    const numbers = (h: Record<string, string>) => new Map(Object.entries(h).map(([k, v]) => [k, Number(v)]));
    return { reached: numbers(reached), applied: numbers(applied), firstAppliedAt: numbers(first) };
  }
}
