/**
 * Mutual exclusion and repeated effects, judged from what Redis answered (store-observer.ts) and
 * what the harness saw the handler do, never from the consumer's own report:
 * - Two holders at once: a claim answered `claimed` before the previous holder's lease could have
 *   expired (its claim was sent at t with lease L: nothing may claim before t + L), while that holder
 *   had neither released nor completed, and no Redis restart lost the lease in between.
 * - A handler that reached its effect again is excused only when, measured: the earlier run's
 *   completion was never recorded by Redis and the later claim came after the earlier lease expired
 *   (a crash between effect and completion, or a run that overran its lease); or a restart lost the
 *   earlier run's completed record (the key was in the snapshot before the restart, absent after);
 *   or the later claim came a whole dedupe window after the earlier run's completion was sent (a
 *   late copy beyond the window, processed as new by design).
 */
import type { StoreCall } from "./store-observer";

export interface HandlerRun {
  /** The delivery (the same object the store calls carry). */
  delivery: unknown;
  fault: string;
  reachedAt: number;
  endedAt?: number;
}

export interface Restart {
  /** From the snapshot before the stop until Redis answered again. */
  at: number;
  until: number;
  /** Keys whose record the restart lost (in the snapshot before, absent or different after). */
  lost: Set<string>;
}

export interface LeaseVerdict {
  reachedTwiceBy: Record<string, number>;
  unexplainedRepeats: string[];
  overlappingLeases: string[];
  /** `in-progress` answers whose remaining lease is longer than any claim of that key asked for (measured from Redis). */
  leasesLongerThanAsked: string[];
}

const RECORDED = new Set(["completed", "completed-after-lease-expiry", "completed-after-takeover", "completed-record-missing"]);
/** Replies of `complete` after which Redis holds a completed record written by that call. */
export const RECORDED_COMPLETIONS: ReadonlySet<string> = RECORDED;
/** Redis stamps a key's expiry from its cached clock, which lags under load: the lenient side by this much. */
const CLOCK_SLACK_MS = 50;

function lostBetween(restarts: readonly Restart[], key: string, from: number, to: number): boolean {
  return restarts.some((r) => r.until >= from && r.at <= to && r.lost.has(key));
}

/** When the last completion of `delivery` recorded before `by` was sent. */
function lastRecordedBy(calls: readonly StoreCall[], delivery: unknown, by: number): number {
  return Math.max(...calls.filter((c) => c.delivery === delivery && c.op === "complete" && RECORDED.has(c.reply) && c.repliedAt <= by).map((c) => c.sentAt));
}

export function judgeLeases(
  callsOf: (key: string) => StoreCall[],
  keys: Iterable<string>,
  runsOf: (key: string) => HandlerRun[],
  restarts: readonly Restart[],
  dedupeWindowMs: number,
): LeaseVerdict {
  const reachedTwiceBy: Record<string, number> = {};
  const unexplainedRepeats: string[] = [];
  const overlappingLeases: string[] = [];
  const leasesLongerThanAsked: string[] = [];
  for (const key of keys) {
    const calls = [...callsOf(key)].sort((a, b) => a.repliedAt - b.repliedAt);
    // No worker can hold a lease longer than the longest one a claim asked for: a longer one is a
    // lease nobody renews or ends (a crashed holder would block the event until it is dead-lettered).
    const longestAsked = Math.max(0, ...calls.filter((c) => c.op === "claim").map((c) => c.ms));
    for (const c of calls) {
      if (c.retryAfterMs !== undefined && c.retryAfterMs > longestAsked + CLOCK_SLACK_MS) {
        leasesLongerThanAsked.push(`${key} (in-progress for ${c.retryAfterMs} ms more; the longest lease asked for was ${longestAsked} ms)`);
        break;
      }
    }
    let holder: StoreCall | undefined;
    for (const c of calls) {
      if (holder && holder.sentAt + holder.ms - CLOCK_SLACK_MS <= c.repliedAt) holder = undefined;
      if (holder && lostBetween(restarts, key, holder.sentAt, c.repliedAt)) holder = undefined;
      if (c.op === "claim" && c.reply === "claimed") {
        if (holder && holder.token !== c.token) overlappingLeases.push(`${key} (claimed at +${c.repliedAt - holder.sentAt} ms of a ${holder.ms} ms lease)`);
        holder = c;
      } else if (holder && c.token === holder.token && (c.op === "release" ? c.reply === "released" : RECORDED.has(c.reply))) {
        holder = undefined;
      }
    }
    const claimOf = (r: HandlerRun) => calls.filter((c) => c.delivery === r.delivery && c.op === "claim" && c.reply === "claimed").pop();
    // In the order the runs got their leases: a run that overran is the earlier one even if it reached its effect later.
    const runs = runsOf(key)
      .map((r) => ({ r, claim: claimOf(r) }))
      .sort((x, y) => (x.claim?.repliedAt ?? x.r.reachedAt) - (y.claim?.repliedAt ?? y.r.reachedAt));
    const whys = new Set<string>();
    for (let i = 1; i < runs.length; i++) {
      const { r: a, claim: aClaim } = runs[i - 1];
      const { claim: bClaim } = runs[i];
      // Recorded in time to matter: a completion after the next claim could not have stopped it.
      const aRecorded = calls.some((c) => c.delivery === a.delivery && c.op === "complete" && RECORDED.has(c.reply) && c.repliedAt <= (bClaim?.sentAt ?? Infinity));
      let why: string | undefined;
      if (aClaim && bClaim && !aRecorded && bClaim.repliedAt >= aClaim.sentAt + aClaim.ms - CLOCK_SLACK_MS) {
        if (a.fault === "crash-after-effect") why = "crash between effect and completion (lease expired, measured)";
        else if (a.endedAt === undefined || a.endedAt > aClaim.sentAt + aClaim.ms) why = "handler overran its lease (measured)";
        else why = "completion not recorded, lease expired (measured)";
      } else if (bClaim && lostBetween(restarts, key, aClaim?.sentAt ?? a.reachedAt, bClaim.repliedAt)) {
        // The restart lost the earlier run's lease or its completed record.
        why = "Redis restart lost the record (measured)";
      } else if (bClaim && aRecorded && lastRecordedBy(calls, a.delivery, bClaim.sentAt) + dedupeWindowMs <= bClaim.repliedAt) {
        // The promise ends with the window: a copy after it is processed as new.
        why = "copy after the dedupe window (measured)";
      }
      if (why) whys.add(why);
      else {
        unexplainedRepeats.push(`${key}: ${JSON.stringify({ a: { fault: a.fault, reachedAt: a.reachedAt, endedAt: a.endedAt, claim: aClaim && { sentAt: aClaim.sentAt, repliedAt: aClaim.repliedAt, ms: aClaim.ms } }, b: bClaim && { sentAt: bClaim.sentAt, repliedAt: bClaim.repliedAt }, calls: calls.map((c) => `${c.op}:${c.reply}@${c.sentAt}-${c.repliedAt}${c.delivery === a.delivery ? "(a)" : ""}`) })}`);
        whys.add("UNEXPLAINED");
        break;
      }
    }
    for (const w of whys) reachedTwiceBy[w] = (reachedTwiceBy[w] ?? 0) + 1;
  }
  return { reachedTwiceBy, unexplainedRepeats, overlappingLeases, leasesLongerThanAsked };
}
