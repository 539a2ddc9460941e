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
 * The retry decision belongs to the target (eventbridge-model.ts), not to this model.
 */
import type { Clock } from "./clock";
import type { FaultProfile } from "./faults";
import { draw } from "./random";
import type { ServiceBusQueueModel } from "./service-bus-model";

export const API_DESTINATION_TIMEOUT_MS = 5_000;
const REQUEST_LATENCY_MS = 30;

export type HttpOutcome =
  | { status: 201 }
  | { status: 429 | 500 | 503 | 401 | 403 | 410; reachedQueue: false; outage?: true }
  | { status: "timeout"; reachedQueue: boolean }
  | { status: "answer-lost"; reachedQueue: true };

export class ApiDestinationModel {
  tokenRefreshes = 0;
  /** Injected answers by kind (outage 503s included). */
  readonly faultAnswers: Record<string, number> = {};
  requests = 0;
  enqueued = 0;
  /** Every answer per event, in order: what the oracle reads to explain a dead letter. */
  readonly answersByEvent = new Map<string, { status: HttpOutcome["status"]; at: number }[]>();
  private outageStart: number | undefined;
  private readonly attemptsByEvent = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly seed: number,
    private readonly faults: FaultProfile,
    private readonly queue: ServiceBusQueueModel,
    private readonly onEnqueued: (eventId: string) => void,
    /** Stable name of an event for fault draws (its index), the same in every run of a seed. */
    private readonly keyOf: (eventId: string) => string = (id) => id,
  ) {}

  /** Opens the outage window (if the fault profile has one) at `atMs`. */
  beginOutage(atMs: number): void {
    this.outageStart ??= atMs;
  }

  /** One HTTP attempt. `eventId` keys the fault draws (the envelope id differs per publication). */
  async invoke(body: string, eventId: string): Promise<HttpOutcome> {
    const outcome = await this.attempt(body, eventId);
    const answers = this.answersByEvent.get(eventId) ?? [];
    answers.push({ status: outcome.status, at: this.clock.now() });
    this.answersByEvent.set(eventId, answers);
    if (outcome.status !== 201) {
      const kind = "outage" in outcome ? "503 (outage)" : outcome.status === 401 ? "401 (token refreshed)" : outcome.status === "timeout" ? "timeout (5 s)" : String(outcome.status);
      this.faultAnswers[kind] = (this.faultAnswers[kind] ?? 0) + 1;
    }
    return outcome;
  }

  private async attempt(body: string, eventId: string): Promise<HttpOutcome> {
    this.requests++;
    const n = (this.attemptsByEvent.get(eventId) ?? 0) + 1;
    this.attemptsByEvent.set(eventId, n);
    const key = this.keyOf(eventId);
    const now = this.clock.now();
    const f = this.faults;
    if (f.outageMs > 0 && this.outageStart !== undefined && now >= this.outageStart && now < this.outageStart + f.outageMs) {
      await this.clock.sleep(REQUEST_LATENCY_MS);
      return { status: 503, reachedQueue: false, outage: true };
    }
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

  private async answer(status: 429 | 500 | 503 | 403 | 410): Promise<HttpOutcome> {
    await this.clock.sleep(REQUEST_LATENCY_MS);
    return { status, reachedQueue: false } as HttpOutcome;
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
