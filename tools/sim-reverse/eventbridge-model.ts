/**
 * MODEL of EventBridge for the Azure → AWS hop (no EventBridge runs here): PutEvents with
 * per-entry failures and request throttling, one rule matching the Azure-origin sources, and its
 * SQS target with a retry policy and a dead-letter queue.
 * Documented semantics kept (EventBridge API Reference, PutEvents / PutEventsResultEntry; User
 * Guide, "Event retry policy and using dead-letter queues"):
 * - A request can fail as a whole (ThrottlingException): nothing of it was accepted.
 * - Each entry gets either an EventId (accepted) or an ErrorCode; InternalFailure and
 *   ThrottlingException are the retryable ones. Results are in the order of the entries.
 * - An accepted event is matched against the rules and delivered to the target at least once;
 *   a failed delivery is retried up to MaximumRetryAttempts times, then sent to the target's
 *   dead-letter queue with ERROR_CODE / ERROR_MESSAGE attributes.
 * Assumption (not published by AWS): the retry delay; here a few milliseconds.
 */
import { randomUUID } from "crypto";
import { PutEventsCommand, PutEventsCommandOutput, PutEventsResultEntry } from "@aws-sdk/client-eventbridge";
import type { PutEventsPort } from "../../runtime/relay";
import type { DeadLetter, SqsQueueModel } from "./sqs-model";

export interface EventBridgeFaults {
  /** Whole request refused (ThrottlingException), keyed by the first entry's event id and its attempt. */
  throttleRequest(firstEventId: string, attempt: number): boolean;
  /** Entry failed with a retryable code, or undefined. */
  entryFailure(eventId: string, attempt: number): "InternalFailure" | "ThrottlingException" | undefined;
  /** The target delivery attempt to SQS fails. */
  targetDeliveryFails(busEventId: string, attempt: number): boolean;
  /** The target delivers this event twice (at-least-once). */
  deliverTwice(busEventId: string): boolean;
}

export interface AcceptedEvent {
  eventId: string;
  busEventId: string;
}

export class EventBridgeModel implements PutEventsPort {
  readonly accepted: AcceptedEvent[] = [];
  readonly targetDeadLetters: DeadLetter[] = [];
  /** event id → entry failures the model injected. */
  readonly entryFailures = new Map<string, number>();
  /** bus event id → failed target deliveries. */
  readonly targetFailures = new Map<string, number>();
  readonly counts = { requests: 0, throttled: 0, entryFailures: 0, targetRetries: 0, targetDeadLetters: 0, doubleDeliveries: 0, unmatched: 0 };
  private readonly attempts = new Map<string, number>();
  private inFlight = 0;

  constructor(
    private readonly faults: EventBridgeFaults,
    private readonly target: SqsQueueModel,
    private readonly options: { sourcePrefix: string; maximumRetryAttempts: number; retryDelayMs: number },
  ) {}

  async send(command: PutEventsCommand): Promise<PutEventsCommandOutput> {
    const entries = command.input.Entries ?? [];
    this.counts.requests++;
    const ids = entries.map((e) => (JSON.parse(e.Detail ?? "{}") as { metadata?: { event_id?: string } }).metadata?.event_id ?? "?");
    const attemptOf = (id: string) => {
      const n = (this.attempts.get(id) ?? 0) + 1;
      this.attempts.set(id, n);
      return n;
    };
    const attempts = ids.map(attemptOf);
    await new Promise((r) => setTimeout(r, 2));
    if (entries.length > 0 && this.faults.throttleRequest(ids[0], attempts[0])) {
      this.counts.throttled++;
      throw Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException", $metadata: { httpStatusCode: 400 } });
    }
    const results: PutEventsResultEntry[] = entries.map((entry, i) => {
      const code = this.faults.entryFailure(ids[i], attempts[i]);
      if (code) {
        this.counts.entryFailures++;
        this.entryFailures.set(ids[i], (this.entryFailures.get(ids[i]) ?? 0) + 1);
        return { ErrorCode: code, ErrorMessage: `model: ${code}` };
      }
      const busEventId = randomUUID();
      this.accepted.push({ eventId: ids[i], busEventId });
      if ((entry.Source ?? "").startsWith(this.options.sourcePrefix)) void this.deliver(entry, busEventId);
      else this.counts.unmatched++;
      return { EventId: busEventId };
    });
    return { Entries: results, FailedEntryCount: results.filter((r) => r.ErrorCode).length, $metadata: { httpStatusCode: 200 } };
  }

  /** True while a target delivery (or its retry wait) is pending. */
  get busy(): boolean {
    return this.inFlight > 0;
  }

  private async deliver(entry: NonNullable<PutEventsCommand["input"]["Entries"]>[number], busEventId: string): Promise<void> {
    this.inFlight++;
    try {
      const body = JSON.stringify({
        version: "0",
        id: busEventId,
        "detail-type": entry.DetailType,
        source: entry.Source,
        account: "123456789012",
        time: (entry.Time ?? new Date()).toISOString(),
        region: "us-east-1",
        resources: [],
        detail: JSON.parse(entry.Detail ?? "null") as unknown,
      });
      const copies = this.faults.deliverTwice(busEventId) ? 2 : 1;
      if (copies === 2) this.counts.doubleDeliveries++;
      for (let c = 0; c < copies; c++) {
        let delivered = false;
        for (let attempt = 1; attempt <= this.options.maximumRetryAttempts + 1; attempt++) {
          await new Promise((r) => setTimeout(r, attempt === 1 ? 1 : this.options.retryDelayMs));
          if (this.faults.targetDeliveryFails(busEventId, (c * 100) + attempt)) {
            this.targetFailures.set(busEventId, (this.targetFailures.get(busEventId) ?? 0) + 1);
            if (attempt > 1 || c > 0) this.counts.targetRetries++;
            continue;
          }
          this.target.send(body);
          delivered = true;
          break;
        }
        if (!delivered) {
          this.counts.targetDeadLetters++;
          this.targetDeadLetters.push({
            messageId: busEventId,
            body,
            attributes: { ERROR_CODE: "SDK_CLIENT_ERROR", ERROR_MESSAGE: "model: every delivery attempt to the SQS target failed", RULE_ARN: "model-rule" },
            receiveCount: 0,
            via: "eventbridge-target",
          });
        }
      }
    } finally {
      this.inFlight--;
    }
  }
}
