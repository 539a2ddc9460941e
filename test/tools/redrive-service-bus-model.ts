import { randomUUID } from "crypto";
import type { DeadLetter, DeadLetterReceiverPort, QueueSenderPort, ResentMessage } from "../../tools/redrive/service-bus";

/**
 * An in-process MODEL of one Service Bus queue and its dead-letter sub-queue, exposing the receiver
 * and sender ports of tools/redrive/service-bus.ts with the broker behaviour the redrive relies on:
 * peek reads without locking and continues after the last peeked message; receive (peek-lock) locks
 * messages and hides them from other receives; complete needs a live lock and removes the message;
 * abandon releases it and counts a delivery; a send stores all its messages or none. The broker
 * adds DeadLetterReason / DeadLetterErrorDescription as application properties when it
 * dead-letters, as Service Bus does. It is not Service Bus: no AMQP, no sessions, no TTL.
 */

export interface ModelDeadLetter extends DeadLetter {
    lockToken?: string;
}

interface Stored {
    message: ModelDeadLetter;
    lockToken?: string;
}

export type ModelEvent = { op: "send"; messageId: string } | { op: "complete"; messageId: string } | { op: "abandon"; messageId: string };

export class InProcessServiceBusQueueModel {
    /** Messages in the queue itself (what the redrive sent). */
    public readonly queue: ResentMessage[] = [];
    /** Every send / complete / abandon that reached the broker, in order. */
    public readonly log: ModelEvent[] = [];
    private readonly deadLetters: Stored[] = [];
    private sequence = 1;
    private sendFault: ((messages: ResentMessage[]) => Error | undefined) | undefined;
    private crashAfterSend = false;
    private crashed = false;

    /** Dead-letters a message, as the broker does after maxDeliveryCount or on expiry. */
    deadLetter(message: Omit<DeadLetter, "deadLetterReason" | "deadLetterErrorDescription">, reason: string, description?: string): void {
        const applicationProperties = { ...(message.applicationProperties ?? {}), DeadLetterReason: reason, ...(description ? { DeadLetterErrorDescription: description } : {}) };
        const seq = this.sequence++;
        this.deadLetters.push({
            message: { ...message, applicationProperties, deadLetterReason: reason, deadLetterErrorDescription: description, sequenceNumber: { toString: () => String(seq) }, deliveryCount: message.deliveryCount ?? 10 },
        });
    }

    deadLetterCount(): number {
        return this.deadLetters.length;
    }

    /** The next send throws this error (and stores nothing) when the function returns one. */
    failSends(fault: ((messages: ResentMessage[]) => Error | undefined) | undefined): void {
        this.sendFault = fault;
    }

    /** The redrive process dies right after its next send was stored: nothing it does afterwards reaches the broker. */
    crashAfterNextSend(): void {
        this.crashAfterSend = true;
    }

    /** Lock durations pass: every lock is released (the broker does this when a receiver goes away). */
    expireLocks(): void {
        for (const d of this.deadLetters) d.lockToken = undefined;
    }

    /** A fresh receiver on `<queue>/$DeadLetterQueue` (a new process after a crash). */
    receiver(): DeadLetterReceiverPort<ModelDeadLetter> {
        let peekedUpTo = 0;
        const alive = () => {
            if (this.crashed) throw new Error("model: the redrive process has crashed; nothing reaches the broker");
        };
        const held = (m: ModelDeadLetter) => {
            const stored = this.deadLetters.find((d) => d.lockToken !== undefined && d.lockToken === m.lockToken);
            if (!stored) throw new Error(`MessageLockLostError: the lock on ${String(m.messageId)} is lost or was never held`);
            return stored;
        };
        return {
            peekMessages: async (max) => {
                alive();
                const out = this.deadLetters.filter((d) => Number(d.message.sequenceNumber!.toString()) > peekedUpTo).slice(0, max);
                if (out.length > 0) peekedUpTo = Number(out[out.length - 1].message.sequenceNumber!.toString());
                return out.map((d) => structuredCopy(d.message));
            },
            receiveMessages: async (max) => {
                alive();
                return this.deadLetters
                    .filter((d) => d.lockToken === undefined)
                    .slice(0, max)
                    .map((d) => {
                        d.lockToken = randomUUID();
                        return { ...structuredCopy(d.message), lockToken: d.lockToken };
                    });
            },
            completeMessage: async (m) => {
                alive();
                const stored = held(m);
                this.deadLetters.splice(this.deadLetters.indexOf(stored), 1);
                this.log.push({ op: "complete", messageId: String(m.messageId) });
            },
            abandonMessage: async (m) => {
                alive();
                const stored = held(m);
                stored.lockToken = undefined;
                stored.message.deliveryCount = (stored.message.deliveryCount ?? 0) + 1;
                this.log.push({ op: "abandon", messageId: String(m.messageId) });
            },
        };
    }

    /** A fresh sender on the queue. */
    sender(): QueueSenderPort {
        return {
            sendMessages: async (messages) => {
                if (this.crashed) throw new Error("model: the redrive process has crashed; nothing reaches the broker");
                const error = this.sendFault?.(messages);
                if (error) throw error;
                for (const m of messages) {
                    this.queue.push(structuredCopy(m));
                    this.log.push({ op: "send", messageId: String(m.messageId) });
                }
                if (this.crashAfterSend) {
                    this.crashAfterSend = false;
                    this.crashed = true;
                    throw new Error("model: the redrive process crashed right after the send");
                }
            },
        };
    }

    /** The process is started again (after a crash). */
    restart(): void {
        this.crashed = false;
    }
}

/** A deep copy that keeps Buffers and Dates (the broker hands out copies, never the stored object). */
function structuredCopy<T>(value: T): T {
    if (Buffer.isBuffer(value)) return Buffer.from(value) as unknown as T;
    if (value instanceof Date) return new Date(value.getTime()) as unknown as T;
    if (Array.isArray(value)) return value.map(structuredCopy) as unknown as T;
    if (value !== null && typeof value === "object") {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) out[k] = typeof v === "function" ? v : structuredCopy(v);
        return out as T;
    }
    return value;
}
