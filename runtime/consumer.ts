/**
 * Consumer core: one Service Bus message → at most one business effect per event id.
 *
 * Host-agnostic: it takes the message (body, messageId, deliveryCount, lockedUntilUtc) and a
 * settlement interface, so the Azure Functions host (with message settlement) and a plain
 * `@azure/service-bus` receiver (see `settlementFromReceiver`) drive the same code.
 *
 * Why claim/complete/release and not `SET event_id NX EX` (the source design, kept as
 * naive-consumer.ts): with SET NX the key is written before the handler runs and stays when the
 * handler fails, so the redelivery looks like a duplicate and is completed: the event is lost.
 * Here a claim is a lease that expires, a failure releases it, and only success writes "done".
 *
 * Timing rules, enforced at construction and per message:
 *   handler deadline  <  lease  ≤  remaining message lock
 * - lease ≤ lock: when the lock runs out the message goes to another worker; if our lease outlived
 *   the lock, that worker would see "in progress" and spend delivery attempts waiting for it.
 * - deadline < lease: the handler gets an AbortSignal that fires `safetyMarginMs` before the lease
 *   expires, leaving time to record completion while we still own the lease.
 *
 * Residual risk (documented, reported, not hidden): exactly-once EFFECTS hold only if the handler
 * finishes (or honours the AbortSignal and stops without effect) before the lease expires. If it
 * overruns, another worker may claim the expired lease and run the handler again. The complete
 * script then refuses our completion (fencing) and the consumer reports outcome `lease-lost`
 * (logged as an error), abandons instead of acknowledging while the other worker holds the claim,
 * and acknowledges only once the record is known completed. The same holds if Redis loses data
 * (failover without persistence) between claim and complete. Handlers whose effects can be
 * conditioned on the event id (a conditional write keyed by it) close that window completely.
 */
import { DomainEvent, EventBridgeEnvelope, parseDelivery, ValidationOptions } from "./event";
import { ClaimResult, CompleteResult, IdempotencyStore } from "./idempotency-store";
import { describeError, Logger } from "./logger";

/** What the consumer needs from a Service Bus message (a `ServiceBusReceivedMessage` has all of it). */
export interface ConsumerMessage {
  /** The body as received: JSON text, bytes, or already-parsed JSON (hosts differ). */
  body: unknown;
  messageId?: string | number | Buffer;
  deliveryCount?: number;
  /** When this delivery's lock expires; the lease is shortened to fit inside it. */
  lockedUntilUtc?: Date;
}

/** How a message is settled. Each call settles the current delivery. */
export interface Settlement {
  /** Acknowledge: the message is removed from the queue. */
  complete(): Promise<void>;
  /** Give it back now: it is delivered again (deliveryCount + 1). */
  abandon(): Promise<void>;
  /** Move it to the dead-letter queue at once. */
  deadLetter(reason: string, description: string): Promise<void>;
}

export interface HandlerContext {
  /** Aborted `safetyMarginMs` before the lease expires. Pass it to every I/O call. */
  signal: AbortSignal;
  deadline: Date;
  eventId: string;
  messageId?: string;
  deliveryCount?: number;
  envelope?: EventBridgeEnvelope;
}

export type BusinessHandler = (event: DomainEvent, context: HandlerContext) => Promise<void>;

export type SettleAction = "complete" | "abandon" | "deadLetter" | "none";

interface OutcomeBase {
  eventId?: string;
  messageId?: string;
  /** What was done with the message. */
  settled: SettleAction;
  /** Set when the settle call itself failed (e.g. the lock was lost); the message will come back. */
  settleError?: unknown;
}

export type ConsumerOutcome =
  /** First successful processing; acknowledged. */
  | (OutcomeBase & { kind: "processed"; leaseExpiredBeforeComplete: boolean })
  /** Already completed earlier; acknowledged without running the handler. */
  | (OutcomeBase & { kind: "duplicate" })
  /** Another worker held the lease for longer than this delivery could wait; abandoned so it comes back. */
  | (OutcomeBase & { kind: "in-progress-elsewhere"; retryAfterMs: number; waitedMs: number })
  /** The handler threw; lease released, abandoned, the next delivery runs it again. */
  | (OutcomeBase & { kind: "handler-failed"; error: unknown; released: string })
  /** Unusable message; dead-lettered on the first delivery. */
  | (OutcomeBase & { kind: "poison"; reason: string; description: string })
  /** Redis failed; not acknowledged. `handlerRan` says whether the effect may already have happened. */
  | (OutcomeBase & { kind: "store-unavailable"; stage: "claim" | "complete"; handlerRan: boolean; error: unknown })
  /** The handler succeeded but its lease expired and another worker claimed (or completed) the event. */
  | (OutcomeBase & { kind: "lease-lost"; otherWorker: "in-progress" | "completed" })
  /** Too little lock time left on this delivery to run the handler safely; abandoned without claiming. */
  | (OutcomeBase & { kind: "lock-too-short"; remainingLockMs: number });

export interface ConsumerOptions {
  store: IdempotencyStore;
  handler: BusinessHandler;
  logger: Logger;
  /** The queue's LockDuration in ms. The lease is never longer. */
  messageLockMs: number;
  /** Lease length. Default: messageLockMs. Must be ≤ messageLockMs. */
  leaseMs?: number;
  /** Time between the handler's deadline and the lease's expiry; < leaseMs / 2. Default min(5 s, lease / 5). */
  safetyMarginMs?: number;
  /**
   * How long a delivery may wait, polling, for an event that is in progress elsewhere to complete
   * or be released before it abandons the message. Bounded by the delivery's own lock. Default:
   * leaseMs (enough for a crashed holder's lease to run out). 0 abandons at once.
   */
  inProgressMaxWaitMs?: number;
  /**
   * How long a delivery keeps retrying the claim, with backoff, while Redis is unreachable before
   * it abandons the message. Bounded by the delivery's own lock. Default: leaseMs. Abandoning at
   * once would let Service Bus burn every delivery attempt within a second of a Redis blip and
   * dead-letter healthy events; waiting inside the lock rides out outages shorter than about
   * lock × maxDeliveryCount. 0 abandons at once.
   */
  storeOutageMaxWaitMs?: number;
  validation?: ValidationOptions;
  /** Clock in ms, for tests. */
  now?: () => number;
}

export interface Consumer {
  handle(message: ConsumerMessage, settle: Settlement): Promise<ConsumerOutcome>;
}

export class HandlerDeadlineExceeded extends Error {
  override readonly name = "HandlerDeadlineExceeded";
  constructor(eventId: string, deadline: Date) {
    const message = `handler for event ${eventId} passed its deadline ${deadline.toISOString()} (lease about to expire)`;
    super(message);
    // Set again: Pulumi's closure serializer turns `super(…)` into `Error.call(this, …)` (see event.ts).
    this.message = message;
  }
}

const FIRST_IN_PROGRESS_POLL_MS = 50;
const MAX_IN_PROGRESS_POLL_MS = 2000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function messageIdOf(message: ConsumerMessage): string | undefined {
  const id = message.messageId;
  if (id === undefined || id === null) return undefined;
  return Buffer.isBuffer(id) ? id.toString("hex") : String(id);
}

export function createConsumer(options: ConsumerOptions): Consumer {
  const lockMs = options.messageLockMs;
  if (!Number.isInteger(lockMs) || lockMs <= 0) throw new Error(`createConsumer: messageLockMs must be a positive integer, got ${lockMs}`);
  const leaseMs = options.leaseMs ?? lockMs;
  if (!Number.isInteger(leaseMs) || leaseMs <= 0) throw new Error(`createConsumer: leaseMs must be a positive integer, got ${leaseMs}`);
  if (leaseMs > lockMs) {
    throw new Error(
      `createConsumer: leaseMs (${leaseMs}) must not exceed messageLockMs (${lockMs}): a lease that outlives the lock ` +
        "blocks the redelivered message behind a claim nobody is working on",
    );
  }
  const marginMs = options.safetyMarginMs ?? Math.min(5000, Math.floor(leaseMs / 5));
  if (!(marginMs > 0 && 2 * marginMs < leaseMs)) {
    // Below 2 × margin of lock left, a delivery is abandoned unclaimed: a larger margin would refuse every message.
    throw new Error(
      `createConsumer: safetyMarginMs (${marginMs}) must be > 0 and < leaseMs / 2 (${leaseMs / 2}) so the handler's deadline falls well inside the lease`,
    );
  }
  const inProgressMaxWaitMs = options.inProgressMaxWaitMs ?? leaseMs;
  const storeOutageMaxWaitMs = options.storeOutageMaxWaitMs ?? leaseMs;
  const now = options.now ?? Date.now;
  const log = options.logger;

  async function settleWith<T extends ConsumerOutcome>(outcome: T, action: () => Promise<void>): Promise<T> {
    try {
      await action();
    } catch (error) {
      outcome.settleError = error;
      log.warn("Settling the message failed; it will be delivered again", {
        eventId: outcome.eventId,
        messageId: outcome.messageId,
        kind: outcome.kind,
        settled: outcome.settled,
        error: describeError(error),
      });
    }
    return outcome;
  }

  async function completeWithRetry(eventId: string, token: string, leaseEnd: number): Promise<CompleteResult> {
    // One retry budget bounded by the lease: a completion recorded after the lease expired is
    // still accepted by the script if nobody else claimed, so the last attempt may overrun a little.
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        return await options.store.complete(eventId, token);
      } catch (error) {
        lastError = error;
        if (now() + 100 * 2 ** attempt >= leaseEnd) break;
        await sleep(100 * 2 ** attempt);
      }
    }
    throw lastError;
  }

  return {
    async handle(message, settle) {
      const messageId = messageIdOf(message);
      const parsed = parseDelivery(message.body, options.validation);
      if (!parsed.ok) {
        const e = parsed.error;
        const description = e.message.slice(0, 1024);
        log.error("Poison message dead-lettered", { eventId: e.eventId, messageId, reason: e.fault, field: e.field, description });
        return settleWith(
          { kind: "poison", reason: e.fault, description, eventId: e.eventId, messageId, settled: "deadLetter" },
          () => settle.deadLetter(e.fault, description),
        );
      }
      const { event, envelope } = parsed.value;
      const eventId = event.metadata.event_id;
      const base = { eventId, messageId };

      const start = now();
      // Without lockedUntilUtc (the Functions SDK-binding extension does not pass it), assume the lock
      // started when the message reached us. That is optimistic by the time the message waited in
      // the host; the host renews the lock while the function runs, which covers the difference.
      const lockEnd = message.lockedUntilUtc instanceof Date ? message.lockedUntilUtc.getTime() : start + lockMs;
      const waitUntil = Math.min(start + inProgressMaxWaitMs, lockEnd - 2 * marginMs);
      const storeWaitUntil = Math.min(start + storeOutageMaxWaitMs, lockEnd - 2 * marginMs);
      let poll = FIRST_IN_PROGRESS_POLL_MS;
      let storePause = FIRST_IN_PROGRESS_POLL_MS;
      let storeFailures = 0;
      let claim: ClaimResult;
      let claimedAt: number;
      let lease: number;
      for (;;) {
        claimedAt = now();
        const remainingLockMs = lockEnd - claimedAt;
        lease = Math.min(leaseMs, Math.floor(remainingLockMs));
        if (lease <= 2 * marginMs) {
          log.warn("Too little lock time left to process safely; abandoned without claiming", { ...base, remainingLockMs });
          return settleWith({ kind: "lock-too-short", remainingLockMs, ...base, settled: "abandon" }, () => settle.abandon());
        }
        try {
          claim = await options.store.claim(eventId, lease);
        } catch (error) {
          storeFailures++;
          if (now() + storePause <= storeWaitUntil) {
            if (storeFailures === 1) log.warn("Idempotency store unavailable; retrying the claim within this delivery's lock", { ...base, error: describeError(error) });
            await sleep(storePause);
            storePause = Math.min(storePause * 2, MAX_IN_PROGRESS_POLL_MS);
            continue;
          }
          log.error("Idempotency store unavailable; message not acknowledged, handler not run", { ...base, stage: "claim", attempts: storeFailures, error: describeError(error) });
          return settleWith(
            { kind: "store-unavailable", stage: "claim", handlerRan: false, error, ...base, settled: "abandon" },
            () => settle.abandon(),
          );
        }
        if (claim.status === "completed") {
          log.info("Duplicate delivery acknowledged without running the handler", { ...base, waitedMs: claimedAt - start });
          return settleWith({ kind: "duplicate", ...base, settled: "complete" }, () => settle.complete());
        }
        if (claim.status === "claimed") break;
        // In progress elsewhere. Waiting a little (within our own lock) usually settles it in this
        // delivery: the holder completes (then we ack) or its lease runs out (then we run it).
        // Abandoning at once would burn a delivery attempt per poll and can push a duplicate copy
        // into the dead-letter queue while the holder is still working.
        const pause = Math.min(poll, claim.retryAfterMs + 5);
        if (now() + pause > waitUntil) {
          log.info("Event in progress on another worker; abandoning so it comes back", {
            ...base,
            retryAfterMs: claim.retryAfterMs,
            waitedMs: now() - start,
          });
          return settleWith(
            { kind: "in-progress-elsewhere", retryAfterMs: claim.retryAfterMs, waitedMs: now() - start, ...base, settled: "abandon" },
            () => settle.abandon(),
          );
        }
        await sleep(pause);
        poll = Math.min(poll * 2, MAX_IN_PROGRESS_POLL_MS);
      }

      const token = claim.token;
      const leaseEnd = claimedAt + lease;
      const deadline = new Date(leaseEnd - marginMs);
      // The AbortSignal is built on first access: creating one costs more than a Redis round trip's
      // client-side work, and many handlers never look at it. The deadline is the same either way.
      let controller: AbortController | undefined;
      let timer: NodeJS.Timeout | undefined;
      const context: HandlerContext = {
        get signal() {
          if (!controller) {
            const created = new AbortController();
            controller = created;
            const abort = () => created.abort(new HandlerDeadlineExceeded(eventId, deadline));
            const remaining = deadline.getTime() - now();
            if (remaining <= 0) abort();
            else timer = setTimeout(abort, remaining);
          }
          return controller.signal;
        },
        deadline,
        eventId,
        messageId,
        deliveryCount: message.deliveryCount,
        envelope,
      };
      try {
        await options.handler(event, context);
      } catch (error) {
        if (timer) clearTimeout(timer);
        let released: string;
        try {
          released = await options.store.release(eventId, token);
        } catch (releaseError) {
          released = "failed";
          log.warn("Could not release the lease after a handler failure; it will expire on its own", {
            ...base,
            error: describeError(releaseError),
          });
        }
        log.error("Handler failed; lease released, message abandoned for redelivery", {
          ...base,
          deliveryCount: message.deliveryCount,
          released,
          error: describeError(error),
        });
        return settleWith({ kind: "handler-failed", error, released, ...base, settled: "abandon" }, () => settle.abandon());
      }
      if (timer) clearTimeout(timer);

      let completed: CompleteResult;
      try {
        completed = await completeWithRetry(eventId, token, leaseEnd);
      } catch (error) {
        log.error(
          "Handler succeeded but completion could not be recorded; message not acknowledged. " +
            "If the lease expires before Redis is back, the handler may run again for this event",
          { ...base, stage: "complete", error: describeError(error) },
        );
        return settleWith(
          { kind: "store-unavailable", stage: "complete", handlerRan: true, error, ...base, settled: "abandon" },
          () => settle.abandon(),
        );
      }

      switch (completed) {
        case "completed":
        case "completed-after-lease-expiry": {
          const late = completed === "completed-after-lease-expiry";
          if (late) log.warn("Handler outlived its lease; nobody else had claimed, so completion was recorded", { ...base, elapsedMs: now() - start, leaseMs: lease });
          return settleWith({ kind: "processed", leaseExpiredBeforeComplete: late, ...base, settled: "complete" }, () => settle.complete());
        }
        case "completed-by-other":
          // The effect ran twice (ours and the other worker's). The event is done, so the message can go.
          log.error("Lease expired before completion and another worker completed the event: its effect was applied twice", {
            ...base,
            elapsedMs: now() - start,
            leaseMs: lease,
          });
          return settleWith({ kind: "lease-lost", otherWorker: "completed", ...base, settled: "complete" }, () => settle.complete());
        case "claimed-by-other":
          // Not acknowledged: the record is not complete, and another worker owns it. The redelivery
          // finds it completed (then acknowledges) or released (then runs the handler again).
          log.error("Lease expired before completion and another worker has claimed the event; completion refused, message abandoned", {
            ...base,
            elapsedMs: now() - start,
            leaseMs: lease,
          });
          return settleWith({ kind: "lease-lost", otherWorker: "in-progress", ...base, settled: "abandon" }, () => settle.abandon());
      }
    },
  };
}

/** The receiver methods a settlement needs; `ServiceBusReceiver` from `@azure/service-bus` has them. */
export interface ServiceBusReceiverLike<M> {
  completeMessage(message: M): Promise<void>;
  abandonMessage(message: M): Promise<void>;
  deadLetterMessage(message: M, options: { deadLetterReason: string; deadLetterErrorDescription: string }): Promise<void>;
}

/** Settlement for a message received in peek-lock mode with a `@azure/service-bus` receiver. */
export function settlementFromReceiver<M>(receiver: ServiceBusReceiverLike<M>, message: M): Settlement {
  return {
    complete: () => receiver.completeMessage(message),
    abandon: () => receiver.abandonMessage(message),
    deadLetter: (reason, description) => receiver.deadLetterMessage(message, { deadLetterReason: reason, deadLetterErrorDescription: description }),
  };
}
