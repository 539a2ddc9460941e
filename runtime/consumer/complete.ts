import type { CompleteResult, IdempotencyStore } from "../idempotency-store";
import { describeError, Logger } from "../logger";
import type { ConsumerOutcome } from "../consumer";
import type { Claimed } from "./claim";

export interface CompleteInput {
  eventId: string;
  messageId?: string;
  /** When the delivery reached us. */
  start: number;
  claimed: Claimed;
}

export interface CompleteDeps {
  store: IdempotencyStore;
  log: Logger;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** What to do and say about one answer of the store's `complete`. */
export interface CompletionVerdict {
  outcome: ConsumerOutcome;
  log?: { level: "warn" | "error"; message: string };
}

/**
 * The rule table of stage 4 (pure). Acknowledge exactly when the record is now completed (by us or
 * by another worker); abandon while another worker holds a live claim. Every answer in which the
 * effect may have run twice is an error-level `lease-lost` (counted by the consumer as
 * `effectMayHaveRunTwice`); a record the store lost is an error too: nobody can tell.
 */
export function completionVerdict(result: CompleteResult, ids: { eventId: string; messageId?: string }, leaseExpired: boolean): CompletionVerdict {
  switch (result) {
    case "completed":
      return { outcome: { kind: "processed", leaseExpiredBeforeComplete: false, recordMissing: false, ...ids, settled: "complete" } };
    case "completed-after-lease-expiry":
      return {
        outcome: { kind: "processed", leaseExpiredBeforeComplete: true, recordMissing: false, ...ids, settled: "complete" },
        log: { level: "warn", message: "Handler outlived its lease; nobody else had claimed, so completion was recorded" },
      };
    case "completed-record-missing":
      return {
        outcome: { kind: "processed", leaseExpiredBeforeComplete: leaseExpired, recordMissing: true, ...ids, settled: "complete" },
        log: {
          level: "error",
          message:
            "The idempotency record was missing at completion (Redis lost data, or the record outlived its retention); " +
            "completion recorded, but whether another worker also ran the handler cannot be known",
        },
      };
    case "completed-after-takeover":
      // The event is done as far as anyone can know: recording it stops a third run.
      return {
        outcome: { kind: "lease-lost", otherWorker: "took-over", ...ids, settled: "complete" },
        log: {
          level: "error",
          message:
            "Lease expired before completion, another worker took the event over and stopped without completing it: " +
            "its effect may have been applied twice; completion recorded",
        },
      };
    case "completed-by-other":
      return {
        outcome: { kind: "lease-lost", otherWorker: "completed", ...ids, settled: "complete" },
        log: { level: "error", message: "Lease expired before completion and another worker completed the event: its effect was applied twice" },
      };
    case "claimed-by-other":
      // Not acknowledged: the record is not complete, and another worker owns it. The redelivery
      // finds it completed (then acknowledges) or released (then runs the handler again).
      return {
        outcome: { kind: "lease-lost", otherWorker: "in-progress", ...ids, settled: "abandon" },
        log: { level: "error", message: "Lease expired before completion and another worker has claimed the event; completion refused, message abandoned" },
      };
  }
}

/**
 * Stage 4, complete: record completion, retrying a failed call within the lease (a retry whose first
 * attempt ran on the server is answered `completed` again), then apply the rule table. If Redis stays
 * unreachable, the message is not acknowledged and the risk (the handler may run again once the
 * lease expires) is logged.
 */
export async function completeStage(deps: CompleteDeps, input: CompleteInput): Promise<ConsumerOutcome> {
  const { store, log, now, sleep } = deps;
  const { eventId, claimed } = input;
  const ids = { eventId, messageId: input.messageId };
  let result: CompleteResult | undefined;
  let lastError: unknown;
  // A completion recorded after the lease expired is still accepted (and classified) by the store,
  // so the last attempt may overrun the lease a little.
  for (let attempt = 0; attempt < 3 && result === undefined; attempt++) {
    try {
      result = await store.complete(eventId, claimed.token);
    } catch (error) {
      lastError = error;
      const pause = 100 * 2 ** attempt;
      if (now() + pause >= claimed.leaseEnd) break;
      await sleep(pause);
    }
  }
  if (result === undefined) {
    log.error(
      "Handler succeeded but completion could not be recorded; message not acknowledged. " +
        "If the lease expires before Redis is back, the handler may run again for this event",
      { ...ids, stage: "complete", error: describeError(lastError) },
    );
    return { kind: "store-unavailable", stage: "complete", handlerRan: true, error: lastError, ...ids, settled: "abandon" };
  }
  const verdict = completionVerdict(result, ids, now() > claimed.leaseEnd);
  if (verdict.log) {
    log[verdict.log.level](verdict.log.message, { ...ids, completion: result, generation: claimed.generation, elapsedMs: now() - input.start, leaseMs: claimed.leaseMs });
  }
  return verdict.outcome;
}
