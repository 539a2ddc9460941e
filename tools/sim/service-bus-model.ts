/**
 * MODEL of an Azure Service Bus queue in peek-lock mode (nothing of Azure runs here). Semantics
 * modelled, as documented for Service Bus queues:
 * - Receiving locks a message for `lockDurationMs` and increments its DeliveryCount.
 * - complete removes it; abandon releases the lock at once (it is delivered again, DeliveryCount + 1);
 *   a lock that runs out without settlement does the same; settling with an expired or superseded
 *   lock fails with MessageLockLost (the message stays).
 * - When DeliveryCount would exceed MaxDeliveryCount, the message moves to the dead-letter
 *   sub-queue with DeadLetterReason `MaxDeliveryCountExceeded`; an explicit dead-letter records
 *   the caller's reason and description.
 * - Every send is a new message with a new MessageId (the API destination cannot set one; see the
 *   README's "Duplicate detection"), so duplicate detection never applies.
 * - renewLock extends a held lock to now + LockDuration (what the Functions host does while the
 *   function runs: functions-host-model.ts); it fails with MessageLockLost like a settlement.
 * Not modelled: TTL expiry (14 days, longer than most runs), sessions, partitions.
 */
import { randomUUID } from "crypto";
import type { Clock } from "./clock";

export interface QueueMessage {
  sequenceNumber: number;
  messageId: string;
  body: string;
  enqueuedAt: number;
  deliveryCount: number;
  state: "ready" | "locked" | "completed" | "dead";
  lockedUntil: number;
  lockGeneration: number;
  deadLetterReason?: string;
  deadLetterDescription?: string;
}

export interface ReceivedMessage {
  message: QueueMessage;
  lockGeneration: number;
  lockedUntilUtc: Date;
}

export class MessageLockLostError extends Error {
  override readonly name = "MessageLockLostError";
}

export class ServiceBusQueueModel {
  readonly messages: QueueMessage[] = [];
  /** Available messages in order; `readyHead` is the next one (an array used as a FIFO without O(n) shifts). */
  private ready: QueueMessage[] = [];
  private readyHead = 0;
  private waiters: ((m: ReceivedMessage) => void)[] = [];
  private nextSequence = 1;
  private unsettled = 0;
  deliveries = 0;
  redeliveries = 0;
  lockRenewals = 0;

  constructor(
    private readonly clock: Clock,
    readonly lockDurationMs: number,
    readonly maxDeliveryCount: number,
  ) {}

  /** Messages not yet completed or dead-lettered. */
  get active(): number {
    return this.unsettled;
  }

  get deadLettered(): QueueMessage[] {
    return this.messages.filter((m) => m.state === "dead");
  }

  send(body: string): QueueMessage {
    const message: QueueMessage = {
      sequenceNumber: this.nextSequence++,
      messageId: randomUUID(),
      body,
      enqueuedAt: this.clock.now(),
      deliveryCount: 0,
      state: "ready",
      lockedUntil: 0,
      lockGeneration: 0,
    };
    this.messages.push(message);
    this.unsettled++;
    this.makeAvailable(message);
    return message;
  }

  /** Waits for the next available message and locks it. */
  receive(): Promise<ReceivedMessage> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.dispatch();
    });
  }

  /** Stops handing out messages; pending receives never resolve. */
  close(): void {
    this.waiters = [];
  }

  private makeAvailable(message: QueueMessage): void {
    message.state = "ready";
    this.ready.push(message);
    this.dispatch();
  }

  private dispatch(): void {
    while (this.waiters.length > 0 && this.readyHead < this.ready.length) {
      const message = this.ready[this.readyHead++];
      if (this.readyHead > 4096 && this.readyHead * 2 > this.ready.length) {
        this.ready = this.ready.slice(this.readyHead);
        this.readyHead = 0;
      }
      if (message.state !== "ready") continue;
      if (message.deliveryCount >= this.maxDeliveryCount) {
        this.toDeadLetter(message, "MaxDeliveryCountExceeded", `delivered ${message.deliveryCount} times (MaxDeliveryCount ${this.maxDeliveryCount})`);
        continue;
      }
      message.deliveryCount++;
      this.deliveries++;
      if (message.deliveryCount > 1) this.redeliveries++;
      message.state = "locked";
      message.lockGeneration++;
      message.lockedUntil = this.clock.now() + this.lockDurationMs;
      const generation = message.lockGeneration;
      this.watchLock(message, generation);
      const waiter = this.waiters.shift()!;
      waiter({ message, lockGeneration: generation, lockedUntilUtc: new Date(message.lockedUntil) });
    }
  }

  /** Releases the message when its lock (however often renewed) runs out unsettled. */
  private watchLock(message: QueueMessage, generation: number): void {
    void this.clock.sleep(Math.max(0, message.lockedUntil - this.clock.now())).then(() => {
      if (message.state !== "locked" || message.lockGeneration !== generation) return;
      if (message.lockedUntil > this.clock.now()) this.watchLock(message, generation);
      else this.makeAvailable(message);
    });
  }

  /** Extends the lock to now + LockDuration; returns the new lock end. */
  renewLock(received: ReceivedMessage): number {
    this.holdsLock(received);
    received.message.lockedUntil = this.clock.now() + this.lockDurationMs;
    this.lockRenewals++;
    return received.message.lockedUntil;
  }

  private holdsLock(received: ReceivedMessage): void {
    const m = received.message;
    if (m.state !== "locked" || m.lockGeneration !== received.lockGeneration || this.clock.now() > m.lockedUntil) {
      throw new MessageLockLostError(`MessageLockLost: message ${m.sequenceNumber} (delivery ${received.lockGeneration}); it will be delivered again`);
    }
  }

  private toDeadLetter(message: QueueMessage, reason: string, description: string): void {
    message.state = "dead";
    message.deadLetterReason = reason;
    message.deadLetterDescription = description;
    this.unsettled--;
  }

  complete(received: ReceivedMessage): void {
    this.holdsLock(received);
    received.message.state = "completed";
    this.unsettled--;
  }

  abandon(received: ReceivedMessage): void {
    this.holdsLock(received);
    received.message.lockGeneration++;
    this.makeAvailable(received.message);
  }

  deadLetter(received: ReceivedMessage, reason: string, description: string): void {
    this.holdsLock(received);
    this.toDeadLetter(received.message, reason, description);
  }
}
