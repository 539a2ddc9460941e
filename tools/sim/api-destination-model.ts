/**
 * MODEL of the EventBridge API destination POSTing to the Service Bus REST endpoint
 * (`POST https://<ns>.servicebus.windows.net/<queue>/messages`), with its OAuth connection
 * (client credentials). Nothing of AWS or Azure runs here. Modelled:
 * - An invocation times out after 5 seconds (EventBridge's documented API destination timeout);
 *   a timed-out request may or may not have reached the queue (both are drawn).
 * - Answers per attempt, drawn from the seed: 201 (enqueued), 429, 500/503, 401 (token refused;
 *   the connection fetches a new token before the next attempt), 403 (role assignment missing),
 *   410 (queue gone), and "enqueued but the answer was lost" (a duplicate after the retry).
 * - An outage window in which every request answers 503 (the simulation opens it when the producer
 *   has finished, so the events still on their way ride it out on the target's retry policy).
 * - The failure modes that are not random (ApiDestinationModes, seeded per profile):
 *   - Queue full: Service Bus answers 403 (QuotaExceeded) to every send while the queue is at its
 *     maximum size (Service Bus REST API, "Send Message" / "Send Message Batch": 403 "Quota exceeded
 *     or message too large"; the quota is the queue's MaxSizeInMegabytes). Systematic for that state:
 *     modelled as a window in which the queue is held full, and as a message-count capacity.
 *   - Message too large: 403 on every attempt for a body above the tier's maximum message size
 *     (same REST reference; Standard 256 KB): systematic for that message. The outbox writer and
 *     the relay refuse such events first (runtime/event.ts measureDelivery), so a run sees none.
 *   - Connection de-authorized: EventBridge de-authorizes an OAuth connection when it cannot refresh
 *     the token (EventBridge User Guide, "De-authorizing connections"); until someone fixes it no
 *     request is sent. What EventBridge then does with the event is not spelt out; the model takes
 *     the documented path for errors that need action first (EventBridge User Guide, "Using
 *     dead-letter queues": no retry, straight to the DLQ), with the DLQ error code CONNECTION_FAILURE
 *     from the same page's list. An inference, named as one.
 *   - Invocation rate limit: `invocationRateLimitPerSecond` (EventBridge API Reference,
 *     CreateApiDestination / DescribeApiDestination: events above the rate are held back and may
 *     not be delivered within the 24-hour retry window; "consider using a dead-letter queue").
 *     Modelled as a token bucket of one second's invocations in simulated time; a throttled
 *     attempt sends nothing and is given the first free slot (first come, first served): it tells
 *     the target when that slot is, and the target's next attempt of that publication takes it.
 *     Handing out slots in order lets every held attempt wait once, instead of all of them waking
 *     at each second for its `limit` winners (same throughput and order, without the herd).
 * The retry decision belongs to the target (eventbridge-model.ts), not to this model.
 */
import type { Clock } from "./clock";
import type { FaultProfile, FaultProfileName } from "./faults";
import { draw } from "./random";
import type { ServiceBusQueueModel } from "./service-bus-model";

export const API_DESTINATION_TIMEOUT_MS = 5_000;
const REQUEST_LATENCY_MS = 30;
/** Service Bus Standard's largest message (Service Bus quotas; runtime/event.ts SERVICE_BUS_MAX_MESSAGE_BYTES). */
export const STANDARD_MAX_MESSAGE_BYTES = 256 * 1024;

/** Why an answer was what it was: the injected mode, read by the oracle and the report. */
export type AnswerCause = "queue-full" | "message-too-large" | "connection-deauthorized" | "rate-limited" | "outage" | "drawn";

export type HttpOutcome =
  | { status: 201 }
  | { status: 429 | 500 | 503 | 401 | 403 | 410; reachedQueue: false; outage?: true; cause?: AnswerCause }
  | { status: "timeout"; reachedQueue: boolean }
  | { status: "answer-lost"; reachedQueue: true }
  /** The connection is de-authorized: no request was sent. */
  | { status: "connection-deauthorized"; reachedQueue: false }
  /** Above the invocation rate limit: no request was sent; a slot frees after `retryAfterMs`. */
  | { status: "rate-limited"; reachedQueue: false; retryAfterMs: number };

/** A window of simulated time, opened when the Nth message has been enqueued. */
export interface ModeWindow {
  afterEnqueued: number;
  durationMs: number;
}

export interface ApiDestinationModes {
  /** The queue is held at its maximum size: every send answers 403 QuotaExceeded. */
  queueFull?: ModeWindow;
  /** The OAuth connection is de-authorized: nothing is sent. */
  connectionDeauthorized?: ModeWindow;
  /** The API destination's invocationRateLimitPerSecond (undefined: no limit). */
  invocationRateLimitPerSecond?: number;
  /** Active messages at which the queue counts as full (a stand-in for MaxSizeInMegabytes; undefined: never). */
  queueCapacityMessages?: number;
  /** Largest message body Service Bus takes (default Standard's 256 KB). */
  maxMessageBytes?: number;
}

/** The modes each fault profile injects (the windows open part-way through a run). */
export const API_DESTINATION_MODES: Record<FaultProfileName, ApiDestinationModes> = {
  none: {},
  default: {
    queueFull: { afterEnqueued: 60, durationMs: 1_500 },
    connectionDeauthorized: { afterEnqueued: 140, durationMs: 1_000 },
    invocationRateLimitPerSecond: 50,
  },
  heavy: {
    queueFull: { afterEnqueued: 40, durationMs: 3_000 },
    connectionDeauthorized: { afterEnqueued: 120, durationMs: 2_000 },
    invocationRateLimitPerSecond: 20,
  },
};

export interface Answer {
  status: HttpOutcome["status"];
  at: number;
  /** The EventBridge event id of the publication this attempt delivered (one per PutEvents acceptance). */
  publication: string;
  cause?: AnswerCause;
}

function publicationOf(body: string): string {
  try {
    return String((JSON.parse(body) as { id?: unknown }).id ?? "?");
  } catch {
    return "?";
  }
}

export class ApiDestinationModel {
  tokenRefreshes = 0;
  /** Injected answers by kind (outage 503s included). */
  readonly faultAnswers: Record<string, number> = {};
  requests = 0;
  enqueued = 0;
  /** Every answer per event, in order: what the oracle reads to explain a dead letter. */
  readonly answersByEvent = new Map<string, Answer[]>();
  private outageStart: number | undefined;
  private readonly attemptsByEvent = new Map<string, number>();
  private readonly windowStart = new Map<keyof ApiDestinationModes, number>();
  /** Invocations taken or reserved per simulated second (seconds before `now` are dropped). */
  private readonly slotsUsed = new Map<number, number>();
  /** Publication → the second whose slot it was given when it was held back. */
  private readonly reservedSecond = new Map<string, number>();
  private lastReserved = -1;

  constructor(
    private readonly clock: Clock,
    private readonly seed: number,
    private readonly faults: FaultProfile,
    private readonly queue: ServiceBusQueueModel,
    private readonly onEnqueued: (eventId: string) => void,
    /** Stable name of an event for fault draws (its index), the same in every run of a seed. */
    private readonly keyOf: (eventId: string) => string = (id) => id,
    private readonly modes: ApiDestinationModes = {},
  ) {}

  private inWindow(name: "queueFull" | "connectionDeauthorized", now: number): boolean {
    const window = this.modes[name];
    if (!window) return false;
    if (!this.windowStart.has(name) && this.enqueued >= window.afterEnqueued) this.windowStart.set(name, now);
    const start = this.windowStart.get(name);
    return start !== undefined && now >= start && now < start + window.durationMs;
  }

  /**
   * Takes an invocation slot of the current second (or the one reserved for this publication);
   * undefined when taken, else reserves the first free slot and returns the ms until it.
   */
  private rateLimited(now: number, publication: string): number | undefined {
    const limit = this.modes.invocationRateLimitPerSecond;
    if (limit === undefined) return undefined;
    const second = Math.floor(now / 1000);
    const reserved = this.reservedSecond.get(publication);
    if (reserved !== undefined) {
      if (reserved <= second) {
        this.reservedSecond.delete(publication);
        return undefined;
      }
      return reserved * 1000 - now;
    }
    for (const s of this.slotsUsed.keys()) if (s < second) this.slotsUsed.delete(s);
    const used = this.slotsUsed.get(second) ?? 0;
    if (used < limit) {
      this.slotsUsed.set(second, used + 1);
      return undefined;
    }
    let slot = Math.max(second + 1, this.lastReserved);
    while ((this.slotsUsed.get(slot) ?? 0) >= limit) slot++;
    this.slotsUsed.set(slot, (this.slotsUsed.get(slot) ?? 0) + 1);
    this.lastReserved = slot;
    this.reservedSecond.set(publication, slot);
    return slot * 1000 - now;
  }

  /** Opens the outage window (if the fault profile has one) at `atMs`. */
  beginOutage(atMs: number): void {
    this.outageStart ??= atMs;
  }

  /** One HTTP attempt. `eventId` keys the fault draws (the envelope id differs per publication). */
  async invoke(body: string, eventId: string): Promise<HttpOutcome> {
    const publication = publicationOf(body);
    const outcome = await this.attempt(body, eventId, publication);
    const answers = this.answersByEvent.get(eventId) ?? [];
    const cause: AnswerCause | undefined =
      outcome.status === "connection-deauthorized" ? "connection-deauthorized" : outcome.status === "rate-limited" ? "rate-limited" : "outage" in outcome ? "outage" : "cause" in outcome ? outcome.cause : outcome.status === 201 ? undefined : "drawn";
    answers.push({ status: outcome.status, at: this.clock.now(), publication, cause });
    this.answersByEvent.set(eventId, answers);
    if (outcome.status !== 201) {
      const kind =
        "outage" in outcome
          ? "503 (outage)"
          : outcome.status === 401
            ? "401 (token refreshed)"
            : outcome.status === "timeout"
              ? "timeout (5 s)"
              : cause === "queue-full"
                ? "403 QuotaExceeded (queue full)"
                : cause === "message-too-large"
                  ? "403 (message too large)"
                  : outcome.status === "connection-deauthorized"
                    ? "connection de-authorized (nothing sent)"
                    : outcome.status === "rate-limited"
                      ? "held back by the invocation rate limit"
                      : String(outcome.status);
      this.faultAnswers[kind] = (this.faultAnswers[kind] ?? 0) + 1;
    }
    return outcome;
  }

  private async attempt(body: string, eventId: string, publication: string): Promise<HttpOutcome> {
    const now = this.clock.now();
    // No request leaves EventBridge through a de-authorized connection or above the rate limit.
    if (this.inWindow("connectionDeauthorized", now)) return { status: "connection-deauthorized", reachedQueue: false };
    const wait = this.rateLimited(now, publication);
    if (wait !== undefined) return { status: "rate-limited", reachedQueue: false, retryAfterMs: wait };
    this.requests++;
    const n = (this.attemptsByEvent.get(eventId) ?? 0) + 1;
    this.attemptsByEvent.set(eventId, n);
    const key = this.keyOf(eventId);
    const f = this.faults;
    if (f.outageMs > 0 && this.outageStart !== undefined && now >= this.outageStart && now < this.outageStart + f.outageMs) {
      await this.clock.sleep(REQUEST_LATENCY_MS);
      return { status: 503, reachedQueue: false, outage: true };
    }
    // Systematic 403s: this message, or the queue's state, not a draw.
    if (Buffer.byteLength(body, "utf8") > (this.modes.maxMessageBytes ?? STANDARD_MAX_MESSAGE_BYTES)) return this.answer(403, "message-too-large");
    const capacity = this.modes.queueCapacityMessages;
    if (this.inWindow("queueFull", now) || (capacity !== undefined && this.queue.active >= capacity)) return this.answer(403, "queue-full");
    let r = draw(this.seed, `http:${key}:${n}`);
    const pick = (p: number) => {
      const hit = r < p;
      r -= p;
      return hit;
    };
    if (pick(f.http401)) {
      await this.clock.sleep(REQUEST_LATENCY_MS);
      // The connection fetches a new token (client credentials) before the next attempt.
      this.tokenRefreshes++;
      return { status: 401, reachedQueue: false };
    }
    if (pick(f.http403)) return this.answer(403);
    if (pick(f.http410)) return this.answer(410);
    if (pick(f.http429)) return this.answer(429);
    if (pick(f.http5xx)) return this.answer(draw(this.seed, `5xx:${key}:${n}`) < 0.5 ? 500 : 503);
    if (pick(f.httpTimeout)) {
      const reached = draw(this.seed, `timeout-reached:${key}:${n}`) < 0.5;
      await this.clock.sleep(reached ? REQUEST_LATENCY_MS : 0);
      if (reached) this.enqueue(body, eventId, key, n);
      await this.clock.sleep(API_DESTINATION_TIMEOUT_MS - (reached ? REQUEST_LATENCY_MS : 0));
      return { status: "timeout", reachedQueue: reached };
    }
    await this.clock.sleep(REQUEST_LATENCY_MS);
    this.enqueue(body, eventId, key, n);
    if (pick(f.httpAnswerLost)) return { status: "answer-lost", reachedQueue: true };
    return { status: 201 };
  }

  private async answer(status: 429 | 500 | 503 | 403 | 410, cause: AnswerCause = "drawn"): Promise<HttpOutcome> {
    await this.clock.sleep(REQUEST_LATENCY_MS);
    return { status, reachedQueue: false, cause } as HttpOutcome;
  }

  private enqueue(body: string, eventId: string, key: string, n: number): void {
    this.enqueued++;
    this.queue.send(body);
    if (draw(this.seed, `copy:${key}:${n}`) < this.faults.concurrentCopy) {
      this.faultAnswers["concurrent copy"] = (this.faultAnswers["concurrent copy"] ?? 0) + 1;
      this.queue.send(body);
    }
    this.onEnqueued(eventId);
  }
}
