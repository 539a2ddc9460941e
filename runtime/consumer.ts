/**
 * Consumer core: one Service Bus message → at most one business effect per event id.
 *
 * Host-agnostic: it takes the message (body, messageId, deliveryCount, lockedUntilUtc) and a
 * settlement interface, so the Azure Functions host (with message settlement) and a plain
 * `@azure/service-bus` receiver (see `settlementFromReceiver`) drive the same code.
 *
 * Why claim/complete/release and not `SET event_id NX EX` (the source design, kept as
 * naive-setnx-consumer.ts): with SET NX the key is written before the handler runs and stays when the
 * handler fails, so the redelivery looks like a duplicate and is completed: the event is lost.
 * Here a claim is a lease that expires, a failure releases it, and only success writes "done".
 *
 * One delivery goes through five stages, each a module in runtime/consumer/ with its rules
 * written beside it: parse (poison → dead-letter) → claim (lease within the lock; duplicate → ack;
 * in progress → wait, then abandon; store down → retry, then abandon) → run (handler with a
 * deadline; failure → release, abandon) → complete (fenced; the store's answer decides ack or
 * abandon) → settle (carry it out; a failed settle is logged, the message comes back).
 * Timing (runtime/consumer/timing.ts): handler deadline < lease ≤ remaining message lock.
 *
 * Residual risk (documented, reported, not hidden): exactly-once EFFECTS hold only if the handler
 * finishes (or honours the AbortSignal and stops without effect) before the lease expires. If it
 * overruns, another worker may claim the expired lease and run the handler again. The complete
 * script then tells us so (fencing, even after the other worker's lease expired too) and the
 * consumer reports outcome `lease-lost` (logged as an error, counted as `effectMayHaveRunTwice`),
 * abandons instead of acknowledging while the other worker holds the claim, and acknowledges once
 * the record is completed. If Redis loses the record (restart or failover without persistence)
 * the store says so at completion (`recordMissing`), but cannot say who else ran. Handlers whose
 * effects can be conditioned on the event id (a conditional write keyed by it) close that window.
 * docs/consumer-guarantees.md lists every window that remains.
 */
import type { DomainEvent, EventBridgeEnvelope, ValidationOptions } from "./event";
import type { IdempotencyStore } from "./idempotency-store";
import type { Logger } from "./logger";
import { claimStage } from "./consumer/claim";
import { completeStage } from "./consumer/complete";
import { lockEndOf } from "./consumer/lock";
import { parseStage } from "./consumer/parse";
import { runStage } from "./consumer/run";
import { settleStage } from "./consumer/settle";
import { resolveTiming } from "./consumer/timing";

export { HandlerDeadlineExceeded } from "./consumer/run";

/** What the consumer needs from a Service Bus message (a `ServiceBusReceivedMessage` has all of it). */
export interface ConsumerMessage {
  /** The body as received: JSON text (a UTF-8 byte-order mark is allowed), bytes, or already-parsed JSON (hosts differ). */
  body: unknown;
  messageId?: string | number | Buffer;
  deliveryCount?: number;
  /** When this delivery's lock expires; the lease is shortened to fit inside it. Not a valid Date: ignored, with a warning. */
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
  /**
   * The claim's generation (1 for the first claim of this event, +1 for each later claim by another
   * delivery). It only grows while the record lives, so a downstream conditional write can use it
   * as a fencing token ("apply only if the stored generation is lower"). Always set by
   * `createConsumer`; optional only so the SET NX baseline (naive-setnx-consumer.ts) stays as it was.
   */
  generation?: number;
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
  /**
   * First successful processing; acknowledged. `recordMissing`: the store had lost the record by
   * completion time (logged as an error: nobody can tell whether another worker ran the handler).
   */
  | (OutcomeBase & { kind: "processed"; leaseExpiredBeforeComplete: boolean; recordMissing: boolean })
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
  /**
   * The handler succeeded but its lease had expired and another worker claimed the event after it:
   * the other is still working (`in-progress`: abandoned), completed it (`completed`), or stopped
   * without completing (`took-over`: crashed or released; our completion was recorded). In every
   * case the effect may have run twice; it is logged as an error and counted.
   */
  | (OutcomeBase & { kind: "lease-lost"; otherWorker: "in-progress" | "completed" | "took-over" })
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
  /** Waits on the same clock as `now` (the fault simulation's simulated clock), for tests. Default: setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

/** Deliveries handled by one consumer instance, by outcome, plus the two counts an operator alerts on. */
export type ConsumerCounts = Record<ConsumerOutcome["kind"], number> & {
  /** `lease-lost` outcomes: each is an event whose effect may have been applied twice. */
  effectMayHaveRunTwice: number;
  /** Completions that found the idempotency record gone (Redis lost data). */
  recordMissing: number;
};

export interface Consumer {
  handle(message: ConsumerMessage, settle: Settlement): Promise<ConsumerOutcome>;
}

export interface CountingConsumer extends Consumer {
  /** Live counters since this consumer was created (read-only for callers). */
  readonly counts: Readonly<ConsumerCounts>;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function createConsumer(options: ConsumerOptions): CountingConsumer {
  const timing = resolveTiming(options);
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const log = options.logger;
  const store = options.store;
  const counts: ConsumerCounts = {
    processed: 0,
    duplicate: 0,
    "in-progress-elsewhere": 0,
    "handler-failed": 0,
    poison: 0,
    "store-unavailable": 0,
    "lease-lost": 0,
    "lock-too-short": 0,
    effectMayHaveRunTwice: 0,
    recordMissing: 0,
  };

  const finish = async (outcome: ConsumerOutcome, settlement: Settlement): Promise<ConsumerOutcome> => {
    counts[outcome.kind]++;
    if (outcome.kind === "lease-lost") counts.effectMayHaveRunTwice++;
    if (outcome.kind === "processed" && outcome.recordMissing) counts.recordMissing++;
    return settleStage(outcome, settlement, log);
  };

  return {
    counts,
    async handle(message, settlement) {
      const parse = parseStage(message, options.validation, log);
      if (!parse.ok) return finish(parse.outcome, settlement);
      const { event, envelope, eventId, messageId } = parse.parsed;

      const start = now();
      const lockEnd = lockEndOf(message, start, timing.lockMs, log, { eventId, messageId });
      const claim = await claimStage({ store, log, now, sleep }, { eventId, messageId, start, lockEnd, timing });
      if ("outcome" in claim) return finish(claim.outcome, settlement);

      const run = await runStage(
        { handler: options.handler, store, log, now },
        { event, envelope, eventId, messageId, deliveryCount: message.deliveryCount, claimed: claim.claimed, marginMs: timing.marginMs },
      );
      if (!run.ok) return finish(run.outcome, settlement);

      return finish(await completeStage({ store, log, now, sleep }, { eventId, messageId, start, claimed: claim.claimed }), settlement);
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
