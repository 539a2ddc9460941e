import type { Logger } from "../logger";
import type { ConsumerMessage } from "../consumer";

/**
 * When this delivery's message lock ends (epoch ms). Rule: only a real instant counts. Without
 * `lockedUntilUtc` (the Functions SDK binding does not pass it) the lock is assumed to have started
 * when the message reached us: optimistic by the time it waited in the host, which renews the lock
 * while the function runs. A value that is not a valid Date is a host quirk, not a store failure:
 * it is treated as absent, with a warning (it used to make every delivery fail as a Redis outage).
 */
export function lockEndOf(message: ConsumerMessage, receivedAt: number, lockMs: number, log: Logger, ids: { eventId: string; messageId?: string }): number {
  const lockedUntil: unknown = message.lockedUntilUtc;
  if (lockedUntil === undefined || lockedUntil === null) return receivedAt + lockMs;
  const end = lockedUntil instanceof Date ? lockedUntil.getTime() : NaN;
  if (Number.isFinite(end)) return end;
  log.warn("lockedUntilUtc is not a valid date; assuming the lock started when the message arrived", {
    ...ids,
    lockedUntilUtc: String(lockedUntil),
    assumedLockMs: lockMs,
  });
  return receivedAt + lockMs;
}
