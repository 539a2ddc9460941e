/**
 * Which dead letters of a healthy event are explained, judged from what the harness injected and
 * observed, never from the reason a model or the consumer wrote on the dead letter alone. A healthy
 * event in a dead-letter queue is explained only when an injected fault's DOCUMENTED outcome is that
 * dead letter, with that reason:
 * - EventBridge DLQ, `HTTP <s> (not retried)`: the API destination answered <s> for this event, and
 *   <s> is a status EventBridge documents as not retried (every 4xx except 401, 407, 409, 429;
 *   EventBridge User Guide, "API destinations", error codes and retries).
 * - EventBridge DLQ, retries exhausted or event too old: every answer for the event was a failure,
 *   and there were more than MaximumRetryAttempts of them, or they spanned MaximumEventAgeInSeconds
 *   (less the last backoff).
 * - Service Bus DLQ, `MaxDeliveryCountExceeded`: the harness saw MaxDeliveryCount deliveries of that
 *   message and each one failed for a reason it injected (a consumer fault, the Redis restart, or a
 *   copy of the same event in flight on another worker at the time).
 * - Relay on-failure destination: each record of the parked range failed in more than
 *   MaximumRetryAttempts invocations (counted by the harness around the relay).
 * Anything else (any reason, any queue) is an unexplained dead letter, and the run fails.
 */

/** Documented: EventBridge retries 401, 407, 409, 429 and 5xx; other 4xx are final. */
export function eventBridgeRetries(status: number | string): boolean {
  if (typeof status !== "number") return true; // timeouts and lost answers: no status, retried
  return status >= 500 || [401, 407, 409, 429].includes(status);
}

/** EventBridge's largest backoff in the model; a retry may be skipped when it would pass the maximum age. */
const AGE_SLACK_MS = 10 * 60_000;

export interface DeliveryObservation {
  /** The fault the harness injected into this delivery ("none" when none). */
  fault: string;
  /** The consumer's outcome kind (or "crashed" when the injected crash ended it). */
  outcome: string;
  /** Another delivery of the same event was in flight when this one ended. */
  contended: boolean;
  /** The idempotency Redis was down (restarting) during this delivery. */
  duringRedisRestart: boolean;
}

export interface DeadLetterEvidence {
  retryPolicy: { maximumEventAgeMs: number; maximumRetryAttempts: number };
  maxDeliveryCount: number;
  relayMaximumRetryAttempts: number;
  /** The API destination's answers per event id. */
  answers: (eventId: string) => { status: number | string; at: number }[];
  /** The harness's observations of each delivery of a Service Bus message, by message id. */
  deliveries: (messageId: string) => DeliveryObservation[];
  /** How many relay invocations failed the record of this event. */
  relayFailures: (eventId: string) => number;
}

export type DeadLetterPlace = "EventBridge DLQ" | "Service Bus DLQ" | "relay on-failure destination";

/** Why the dead letter is explained, or undefined when nothing the harness injected explains it. */
export function explainDeadLetter(
  place: DeadLetterPlace,
  d: { eventId: string; reason: string; messageId?: string },
  e: DeadLetterEvidence,
): string | undefined {
  if (place === "EventBridge DLQ") {
    const answers = e.answers(d.eventId);
    const notRetried = /^HTTP (\d+) \(not retried\)$/.exec(d.reason);
    if (notRetried) {
      const status = Number(notRetried[1]);
      return !eventBridgeRetries(status) && answers.some((a) => a.status === status) ? `API destination answered ${status} (final)` : undefined;
    }
    if (/^(RetryAttemptsExhausted|MaximumEventAgeExceeded)/.test(d.reason)) {
      if (answers.length === 0 || answers.some((a) => a.status === 201)) return undefined;
      const span = answers[answers.length - 1].at - answers[0].at;
      if (answers.length > e.retryPolicy.maximumRetryAttempts) return "retryable answers past MaximumRetryAttempts";
      if (span >= e.retryPolicy.maximumEventAgeMs - AGE_SLACK_MS) return "retryable answers past MaximumEventAge";
      return undefined;
    }
    return undefined;
  }
  if (place === "Service Bus DLQ") {
    if (d.reason !== "MaxDeliveryCountExceeded" || !d.messageId) return undefined;
    const seen = e.deliveries(d.messageId);
    if (seen.length < e.maxDeliveryCount) return undefined;
    const injected = seen.every((s) => s.fault !== "none" || s.duringRedisRestart || (s.outcome === "in-progress-elsewhere" && s.contended));
    return injected ? `${seen.length} deliveries, each failed by an injected fault` : undefined;
  }
  return e.relayFailures(d.eventId) > e.relayMaximumRetryAttempts ? "relay failed past the mapping's MaximumRetryAttempts" : undefined;
}
