/**
 * MODEL of the EventBridge bus, rule and API-destination target (nothing of AWS runs here).
 * Modelled, as documented:
 * - PutEvents: a whole request can be refused (ThrottlingException, thrown by the client); an
 *   accepted request can fail single entries (FailedEntryCount > 0, ErrorCode per entry); an
 *   accepted entry gets an EventId and goes onto the bus. Every accepted entry is a new event on
 *   the bus (EventBridge does not deduplicate), so a re-published entry is delivered again.
 * - The rule matches on `source` (the mesh's source pattern) and sends the event to the target.
 * - The target's retry policy: 429, 5xx, 401, 407, 409 and timeouts are retried with exponential
 *   backoff and jitter until MaximumRetryAttempts retries or MaximumEventAgeInSeconds; other 4xx
 *   are not retried. An event the target gives up on goes to the target's SQS dead-letter queue
 *   with the reason. AWS does not publish its backoff schedule: ours starts at 1 s, doubles, and
 *   is capped at 10 minutes, with jitter (an assumption, stated as such: with it, the default
 *   185 retries take about a day, matching the default 24-hour maximum age).
 * - A de-authorized connection sends nothing; the event goes to the DLQ at once with
 *   CONNECTION_FAILURE (see api-destination-model.ts for why this is the modelled outcome).
 * - An attempt held back by the API destination's invocation rate limit is tried again when a slot
 *   frees; it spends no retry attempt but counts against MaximumEventAgeInSeconds (the documented
 *   risk of a low limit is events not delivered within the 24-hour window, hence the DLQ).
 * - A PutEvents outage (BusFaults): every PutEvents request is refused for a window of simulated
 *   time (a regional impairment, or the relay's role losing events:PutEvents), long enough for the
 *   stream mapping to exhaust its retries and park ranges in the relay's on-failure destination.
 * The event the API destination POSTs is the EventBridge event itself (domain event in `detail`).
 */
import { randomUUID } from "crypto";
import type { PutEventsCommand, PutEventsCommandOutput, PutEventsResultEntry } from "@aws-sdk/client-eventbridge";
import type { PutEventsPort } from "../../runtime/relay";
import type { ApiDestinationModel, HttpOutcome } from "./api-destination-model";
import type { Clock } from "./clock";
import type { FaultProfile, FaultProfileName } from "./faults";
import { draw } from "./random";

export interface RetryPolicy {
  maximumEventAgeMs: number;
  maximumRetryAttempts: number;
}

export interface DeadLetter {
  eventId: string | undefined;
  reason: string;
  attempts: number;
  /** The EventBridge event id of the publication that was given up on. */
  publication: string;
}

/** A window in which every PutEvents request is refused, opened when `afterAccepted` entries were accepted. */
export interface BusFaults {
  putEventsOutage?: { afterAccepted: number; durationMs: number };
}

/**
 * Longer than two rounds of the stream mapping's ten retries (about 2.5 simulated minutes each): the
 * batch in flight when the window opens is parked with whatever it had published, and the next
 * batch is refused from its first invocation to its last, so its range was never published at all.
 */
export const BUS_FAULTS: Record<FaultProfileName, BusFaults> = {
  none: {},
  default: { putEventsOutage: { afterAccepted: 100, durationMs: 8 * 60_000 } },
  heavy: { putEventsOutage: { afterAccepted: 80, durationMs: 12 * 60_000 } },
};

export class InternalException extends Error {
  override readonly name = "InternalException";
  readonly $fault = "server";
}

const RETRYABLE_STATUSES = new Set<HttpOutcome["status"]>([429, 500, 503, 401, "timeout", "answer-lost"]);
const FIRST_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 10 * 60_000;

export class ThrottlingException extends Error {
  override readonly name = "ThrottlingException";
  readonly $fault = "client";
}

export class EventBridgeModel {
  readonly deadLetters: DeadLetter[] = [];
  entriesAccepted = 0;
  entriesFailed = 0;
  requestsThrottled = 0;
  unmatched = 0;
  deliveriesInFlight = 0;
  targetAttempts = 0;
  /** PutEvents requests refused by the outage window. */
  requestsRefusedByOutage = 0;
  /** Attempts held back by the invocation rate limit. */
  heldByRateLimit = 0;
  private readonly sendsByEvent = new Map<string, number>();
  private outageStart: number | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly seed: number,
    private readonly faults: FaultProfile,
    private readonly options: { eventBusName: string; ruleSources: readonly string[]; retryPolicy: RetryPolicy; region: string; account: string },
    private readonly target: ApiDestinationModel,
    private readonly onAccepted: (eventId: string) => void,
    /** Stable name of an event for fault draws (its index), the same in every run of a seed. */
    private readonly keyOf: (eventId: string) => string = (id) => id,
    private readonly busFaults: BusFaults = {},
  ) {}

  private inOutage(now: number): boolean {
    const outage = this.busFaults.putEventsOutage;
    if (!outage) return false;
    if (this.outageStart === undefined && this.entriesAccepted >= outage.afterAccepted) this.outageStart = now;
    return this.outageStart !== undefined && now < this.outageStart + outage.durationMs;
  }

  /** A PutEvents client for one relay invocation. */
  port(): PutEventsPort {
    return { send: (command) => this.putEvents(command) };
  }

  private eventIdOf(detail: string | undefined): string {
    try {
      return (JSON.parse(detail ?? "{}") as { metadata?: { event_id?: string } }).metadata?.event_id ?? "?";
    } catch {
      return "?";
    }
  }

  async putEvents(command: PutEventsCommand): Promise<PutEventsCommandOutput> {
    const entries = command.input.Entries ?? [];
    if (this.inOutage(this.clock.now())) {
      this.requestsRefusedByOutage++;
      throw new InternalException("PutEvents refused (simulated outage window)");
    }
    const ids = entries.map((e) => this.eventIdOf(e.Detail));
    const attempt = ids.map((id) => {
      const n = (this.sendsByEvent.get(id) ?? 0) + 1;
      this.sendsByEvent.set(id, n);
      return n;
    });
    if (draw(this.seed, `put-throttle:${this.keyOf(ids[0])}:${attempt[0]}`) < this.faults.putEventsThrottle) {
      this.requestsThrottled++;
      throw new ThrottlingException("Rate exceeded (simulated PutEvents throttling)");
    }
    let failed = 0;
    const results: PutEventsResultEntry[] = entries.map((entry, i) => {
      // A burst keeps failing the same entry for its first three sends: longer than the relay retries within one invocation.
      const burst = attempt[i] <= 3 && draw(this.seed, `put-burst:${this.keyOf(ids[i])}`) < this.faults.putEventsEntryFailureBurst;
      if (burst || draw(this.seed, `put-entry:${this.keyOf(ids[i])}:${attempt[i]}`) < this.faults.putEventsEntryFailure) {
        failed++;
        this.entriesFailed++;
        const code = draw(this.seed, `put-entry-code:${this.keyOf(ids[i])}:${attempt[i]}`) < 0.5 ? "ThrottlingException" : "InternalFailure";
        return { ErrorCode: code, ErrorMessage: `${code} (simulated)` };
      }
      this.entriesAccepted++;
      this.onAccepted(ids[i]);
      const eventId = randomUUID();
      this.route({
        version: "0",
        id: eventId,
        "detail-type": entry.DetailType,
        source: entry.Source,
        account: this.options.account,
        time: (entry.Time ?? new Date(this.clock.now())).toISOString().replace(/\.\d+Z$/, "Z"),
        region: this.options.region,
        resources: entry.Resources ?? [],
        detail: JSON.parse(entry.Detail ?? "{}"),
      }, ids[i]);
      return { EventId: eventId };
    });
    return { FailedEntryCount: failed, Entries: results, $metadata: { httpStatusCode: 200 } };
  }

  private route(envelope: Record<string, unknown>, eventId: string): void {
    if (!this.options.ruleSources.includes(String(envelope.source))) {
      this.unmatched++;
      return;
    }
    this.deliveriesInFlight++;
    void this.deliver(JSON.stringify(envelope), eventId).finally(() => this.deliveriesInFlight--);
  }

  private async deliver(body: string, eventId: string): Promise<void> {
    const policy = this.options.retryPolicy;
    const firstAttemptAt = this.clock.now();
    const publication = String((JSON.parse(body) as { id: string }).id);
    const giveUp = (reason: string, attempts: number) => this.deadLetters.push({ eventId, reason, attempts, publication });
    for (let attempt = 1; ; attempt++) {
      this.targetAttempts++;
      const outcome = await this.target.invoke(body, eventId);
      if (outcome.status === 201) return;
      if (outcome.status === "rate-limited") {
        this.heldByRateLimit++;
        attempt--;
        if (this.clock.now() + outcome.retryAfterMs - firstAttemptAt > policy.maximumEventAgeMs) {
          giveUp("MaximumEventAgeExceeded (last: rate-limited)", attempt);
          return;
        }
        await this.clock.sleep(outcome.retryAfterMs);
        continue;
      }
      if (outcome.status === "connection-deauthorized") {
        giveUp("CONNECTION_FAILURE (connection de-authorized, not retried)", attempt);
        return;
      }
      if (!RETRYABLE_STATUSES.has(outcome.status)) {
        giveUp(`HTTP ${outcome.status} (not retried)`, attempt);
        return;
      }
      if (attempt > policy.maximumRetryAttempts) {
        giveUp(`RetryAttemptsExhausted (last: ${outcome.status})`, attempt);
        return;
      }
      const ceiling = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.min(attempt - 1, 20));
      const delay = Math.round(ceiling * (0.5 + 0.5 * draw(this.seed, `backoff:${this.keyOf(eventId)}:${attempt}`)));
      if (this.clock.now() + delay - firstAttemptAt > policy.maximumEventAgeMs) {
        giveUp(`MaximumEventAgeExceeded (last: ${outcome.status})`, attempt);
        return;
      }
      await this.clock.sleep(delay);
    }
  }
}
