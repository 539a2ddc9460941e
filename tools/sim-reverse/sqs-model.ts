/**
 * MODEL of an Amazon SQS standard queue (no SQS server runs here). What it keeps from the documented
 * semantics (SQS Developer Guide):
 * - "Amazon SQS visibility timeout": a received message stays in the queue, invisible for the
 *   visibility timeout; not deleted by then, it becomes visible again.
 * - ApproximateReceiveCount grows by one per receive.
 * - "Using dead-letter queues in Amazon SQS": with a redrive policy, a message whose receive count
 *   exceeds maxReceiveCount is moved to the dead-letter queue (no reason is kept: SQS has none).
 * - "At-least-once delivery" of standard queues: a copy can be delivered again even after a delete
 *   (a server holding a copy was unavailable at delete time). Modelled as a delete that is lost,
 *   decided by the harness (`loseDelete`): the same messageId comes back after the timeout. And a
 *   copy handed out twice at once (`receiveLeavesVisible`): two pollers hold the same message, each
 *   with its own receipt handle; only the latest handle deletes ("Amazon SQS visibility timeout":
 *   a delete with an older receipt handle may not delete the message).
 */
import { randomUUID } from "crypto";

export interface SqsModelMessage {
  messageId: string;
  body: string;
  attributes: Record<string, string>;
  receiveCount: number;
  visibleAt: number;
  receiptHandle?: string;
}

export interface DeadLetter {
  messageId: string;
  body: string;
  attributes: Record<string, string>;
  /** Receives of the source message when it was moved (redrive) or copied (consumer). */
  receiveCount: number;
  via: "redrive" | "consumer" | "eventbridge-target";
}

export class SqsQueueModel {
  private readonly messages = new Map<string, SqsModelMessage>();
  readonly deadLetters: DeadLetter[] = [];
  sent = 0;
  lostDeletes = 0;

  constructor(
    readonly options: {
      visibilityTimeoutMs: number;
      maxReceiveCount: number;
      /** Decides, per (messageId, receive), whether a delete is lost (at-least-once duplicate). */
      loseDelete: (messageId: string, receiveCount: number) => boolean;
      /**
       * Decides, per (messageId, receive), whether this receive leaves the message visible (a copy on
       * a server that missed the receive): the next receive, by another poller, gets it again while
       * the first is still working on it. Default never.
       */
      receiveLeavesVisible?: (messageId: string, receiveCount: number) => boolean;
    },
  ) {}

  send(body: string, attributes: Record<string, string> = {}): string {
    const messageId = randomUUID();
    this.messages.set(messageId, { messageId, body, attributes, receiveCount: 0, visibleAt: 0 });
    this.sent++;
    return messageId;
  }

  /** ReceiveMessage: up to `max` visible messages; redrive happens here, as SQS does on receive. */
  receive(max: number, now = Date.now()): SqsModelMessage[] {
    const out: SqsModelMessage[] = [];
    for (const m of this.messages.values()) {
      if (out.length >= max) break;
      if (m.visibleAt > now) continue;
      if (m.receiveCount >= this.options.maxReceiveCount) {
        this.messages.delete(m.messageId);
        this.deadLetters.push({ messageId: m.messageId, body: m.body, attributes: m.attributes, receiveCount: m.receiveCount, via: "redrive" });
        continue;
      }
      m.receiveCount++;
      m.visibleAt = this.options.receiveLeavesVisible?.(m.messageId, m.receiveCount) ? now : now + this.options.visibilityTimeoutMs;
      m.receiptHandle = randomUUID();
      out.push({ ...m });
    }
    return out;
  }

  /** DeleteMessage with the receipt handle of the latest receive; a stale handle deletes nothing. */
  delete(messageId: string, receiptHandle: string | undefined): void {
    const m = this.messages.get(messageId);
    if (!m || m.receiptHandle !== receiptHandle) return;
    if (this.options.loseDelete(messageId, m.receiveCount)) {
      this.lostDeletes++;
      return;
    }
    this.messages.delete(messageId);
  }

  get depth(): number {
    return this.messages.size;
  }
}
