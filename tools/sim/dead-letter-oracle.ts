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
 * - EventBridge DLQ, `CONNECTION_FAILURE`: the publication's last attempt found the connection
 *   de-authorized (the injected window).
 * The relay's on-failure destination is not a resting place: a parked range must be explained
 * (`explainParking`: its first record failed in more than MaximumRetryAttempts invocations, counted
 * by the harness around the relay), and its events are lost unless the relay redrive delivered them.
 * Anything else (any reason, any queue) is an unexplained dead letter, and the run fails.
 *
 * The other direction (`checkFinalAnswers`): every answer EventBridge documents as final (a 4xx it
 * does not retry; a de-authorized connection) must end its publication, with that dead letter.
 */
import type { Answer, AnswerCause } from "./api-destination-model";

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
  answers: (eventId: string) => Pick<Answer, "status" | "at" | "cause" | "publication">[];
  /** The harness's observations of each delivery of a Service Bus message, by message id. */
  deliveries: (messageId: string) => DeliveryObservation[];
  /** How many relay invocations that included this event's record failed (wholly or partly). */
  relayFailures: (eventId: string) => number;
}

export type DeadLetterPlace = "EventBridge DLQ" | "Service Bus DLQ";

const CAUSE_LABEL: Record<AnswerCause, string> = {
  "queue-full": "Service Bus queue full (403 QuotaExceeded, final)",
  "message-too-large": "message too large for Service Bus (403, final)",
  "connection-deauthorized": "connection de-authorized (CONNECTION_FAILURE, not retried)",
  "rate-limited": "held back by the invocation rate limit",
  outage: "Service Bus outage (503)",
  drawn: "API destination answered",
};

/** Why the dead letter is explained, or undefined when nothing the harness injected explains it. */
export function explainDeadLetter(
  place: DeadLetterPlace,
  d: { eventId: string; reason: string; messageId?: string; publication?: string },
  e: DeadLetterEvidence,
): string | undefined {
  if (place === "EventBridge DLQ") {
    const all = e.answers(d.eventId);
    // The publication given up on, when known: another publication's answers explain nothing here.
    const answers = d.publication ? all.filter((a) => a.publication === d.publication) : all;
    const last = answers[answers.length - 1];
    if (/^CONNECTION_FAILURE/.test(d.reason)) return last?.status === "connection-deauthorized" ? CAUSE_LABEL["connection-deauthorized"] : undefined;
    const notRetried = /^HTTP (\d+) \(not retried\)$/.exec(d.reason);
    if (notRetried) {
      const status = Number(notRetried[1]);
      if (eventBridgeRetries(status) || last?.status !== status) return undefined;
      return last.cause && last.cause !== "drawn" ? CAUSE_LABEL[last.cause] : `API destination answered ${status} (final)`;
    }
    if (/^(RetryAttemptsExhausted|MaximumEventAgeExceeded)/.test(d.reason)) {
      if (answers.length === 0 || answers.some((a) => a.status === 201)) return undefined;
      const span = answers[answers.length - 1].at - answers[0].at;
      if (answers.filter((a) => a.status !== "rate-limited").length > e.retryPolicy.maximumRetryAttempts) return "retryable answers past MaximumRetryAttempts";
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
  return undefined;
}

/**
 * Why the mapping parked a range, or undefined when it gave up too early. Lambda retries from the
 * lowest failed record, so the range's first record is the one that must have failed in more than
 * MaximumRetryAttempts invocations; later records of the range may have been published meanwhile.
 */
export function explainParking(firstEventId: string, e: Pick<DeadLetterEvidence, "relayFailures" | "relayMaximumRetryAttempts">): string | undefined {
  return e.relayFailures(firstEventId) > e.relayMaximumRetryAttempts ? "relay failed past the mapping's MaximumRetryAttempts" : undefined;
}

/** Documented final: a status EventBridge does not retry, or a de-authorized connection. */
function isFinal(status: Answer["status"]): boolean {
  if (status === "connection-deauthorized") return true;
  return typeof status === "number" && status !== 201 && !eventBridgeRetries(status);
}

/**
 * Every final answer must be the last attempt of its publication and leave that publication in the
 * EventBridge DLQ with the matching reason. Returns what broke the rule, per event.
 */
export function checkFinalAnswers(
  answersByEvent: ReadonlyMap<string, readonly Pick<Answer, "status" | "publication">[]>,
  deadLetters: readonly { eventId: string | undefined; reason: string; publication: string }[],
): string[] {
  const dead = new Map(deadLetters.map((d) => [d.publication, d.reason]));
  const problems: string[] = [];
  for (const [eventId, answers] of answersByEvent) {
    const byPublication = new Map<string, Answer["status"][]>();
    for (const a of answers) {
      const statuses = byPublication.get(a.publication);
      if (statuses) statuses.push(a.status);
      else byPublication.set(a.publication, [a.status]);
    }
    for (const [publication, statuses] of byPublication) {
      const index = statuses.findIndex(isFinal);
      if (index < 0) continue;
      const status = statuses[index];
      if (index < statuses.length - 1) {
        problems.push(`${eventId}: retried after a final ${status} (then ${statuses.slice(index + 1).join(", ")})`);
        continue;
      }
      const want = status === "connection-deauthorized" ? /^CONNECTION_FAILURE/ : new RegExp(`^HTTP ${status} \\(not retried\\)$`);
      const reason = dead.get(publication);
      if (reason === undefined || !want.test(reason)) problems.push(`${eventId}: final ${status} did not dead-letter the event (${reason ?? "no dead letter"})`);
    }
  }
  return problems;
}

/**
 * Where the events each non-random API destination mode hit ended up: one line per mode,
 * "N events: fate n, fate m". `fate` is the count's verdict on an event (applied, a dead-letter
 * queue and reason, lost).
 */
export function modeOutcomes(answersByEvent: ReadonlyMap<string, readonly Pick<Answer, "cause">[]>, fate: (eventId: string) => string): Record<string, string> {
  const modes: AnswerCause[] = ["queue-full", "message-too-large", "connection-deauthorized", "rate-limited"];
  const out: Record<string, string> = {};
  for (const mode of modes) {
    const fates: Record<string, number> = {};
    let events = 0;
    for (const [eventId, answers] of answersByEvent) {
      if (!answers.some((a) => a.cause === mode)) continue;
      events++;
      const where = fate(eventId);
      fates[where] = (fates[where] ?? 0) + 1;
    }
    const parts = Object.entries(fates).sort((a, b) => b[1] - a[1]).map(([where, n]) => `${where} ${n}`);
    out[CAUSE_LABEL[mode]] = `${events} events${parts.length > 0 ? `: ${parts.join(", ")}` : ""}`;
  }
  return out;
}
