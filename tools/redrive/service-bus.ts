/**
 * Redrive of the Service Bus queue's dead-letter sub-queue: each dead letter is sent to the queue
 * again (same body bytes, messageId and application properties), and completed in the dead-letter
 * queue only after that send succeeded.
 *
 * The receiver and sender are ports: the CLI passes @azure/service-bus's ServiceBusReceiver
 * (subQueueType "deadLetter", peekLock, skipParsingBodyAsJson) and ServiceBusSender, which satisfy
 * them as they are; the tests pass an in-process model.
 */

type PropertyValue = number | boolean | string | Date | null;

/** A message sent to the queue again (assignable to ServiceBusMessage). */
export interface ResentMessage {
    body: unknown;
    messageId?: string | number | Buffer;
    applicationProperties?: { [key: string]: PropertyValue };
    contentType?: string;
    correlationId?: string | number | Buffer;
    subject?: string;
    sessionId?: string;
    partitionKey?: string;
    replyTo?: string;
    replyToSessionId?: string;
    to?: string;
}

/** The parts of a received dead letter the redrive reads (a subset of ServiceBusReceivedMessage). */
export interface DeadLetter extends ResentMessage {
    deadLetterReason?: string;
    deadLetterErrorDescription?: string;
    deliveryCount?: number;
    sequenceNumber?: { toString(): string };
    enqueuedTimeUtc?: Date;
}

/** The dead-letter receiver: ServiceBusReceiver on `<queue>/$DeadLetterQueue`, peek-lock. */
export interface DeadLetterReceiverPort<M extends DeadLetter = DeadLetter> {
    /** Reads without locking (continues after the last peeked message). */
    peekMessages(maxMessageCount: number): Promise<M[]>;
    receiveMessages(maxMessageCount: number, options: { maxWaitTimeInMs: number }): Promise<M[]>;
    completeMessage(message: M): Promise<void>;
    abandonMessage(message: M): Promise<void>;
}

/** The queue's sender: ServiceBusSender. All messages of one call are sent, or none. */
export interface QueueSenderPort {
    sendMessages(messages: ResentMessage[]): Promise<void>;
}

export interface ServiceBusRedriveOptions<M extends DeadLetter> {
    receiver: DeadLetterReceiverPort<M>;
    sender: QueueSenderPort;
    /** For messages: `<namespace>/<queue>`. */
    queueLabel: string;
    dryRun: boolean;
    max?: number;
    /** Dead letters per receive and send (default 10). */
    batchSize?: number;
    /** How long to wait for more dead letters before concluding the sub-queue is drained (default 3 s). */
    maxWaitTimeInMs?: number;
    /**
     * The queue's duplicate detection window (0 or undefined: off). The broker silently drops a
     * resend whose messageId it saw within the window, so a dead letter first enqueued less than a
     * window ago is left in the dead-letter queue (abandoned) instead of being resent and completed.
     */
    duplicateDetectionWindowMs?: number;
    now?: () => Date;
    /** Dead letters waiting, when the caller can tell (needs Manage rights); printed as the total. */
    count?: () => Promise<number | undefined>;
    print: (line: string) => void;
}

export interface ServiceBusRedriveSummary {
    approximateCount: number | undefined;
    /** Read (dry run: peeked; otherwise: received under lock). */
    read: number;
    resent: number;
    completed: number;
    /** Resent but not completed (lock lost): a later run resends them, the consumer absorbs the duplicate. */
    resentNotCompleted: number;
    /** Not resent (the send failed); abandoned, still in the dead-letter queue. */
    notResent: number;
    /** Left in the dead-letter queue because the duplicate detection window has not passed since they were enqueued. */
    tooRecent: number;
    /** Per dead-letter reason, how many were read. */
    reasons: Record<string, number>;
    dryRun: boolean;
    /** Why the run stopped early, if it did. */
    stoppedBecause?: string;
}

/**
 * Application properties the broker adds when it dead-letters a message; they describe the dead
 * lettering, not the event, and are not sent again.
 */
export const DEAD_LETTER_PROPERTIES = ["DeadLetterReason", "DeadLetterErrorDescription"] as const;

/** The message that sends `dead` to the queue again: same body, messageId, properties and routing fields. */
export function toResentMessage(dead: DeadLetter): ResentMessage {
    const message: ResentMessage = { body: dead.body };
    if (dead.messageId !== undefined) message.messageId = dead.messageId;
    if (dead.applicationProperties) {
        const props = { ...dead.applicationProperties };
        for (const key of DEAD_LETTER_PROPERTIES) delete props[key];
        message.applicationProperties = props;
    }
    for (const key of ["contentType", "correlationId", "subject", "sessionId", "partitionKey", "replyTo", "replyToSessionId", "to"] as const) {
        if (dead[key] !== undefined) (message as unknown as Record<string, unknown>)[key] = dead[key];
    }
    return message;
}

/** Milliseconds of an ISO 8601 duration as Service Bus reports it (`PT10M`, `P1D`, `PT1H30M5.5S`). */
export function isoDurationMs(value: string): number {
    const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(value);
    if (!m || value === "P" || value.endsWith("T")) throw new Error(`not an ISO 8601 duration: ${JSON.stringify(value)}`);
    return ((Number(m[1] ?? 0) * 24 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 60_000 + Number(m[4] ?? 0) * 1000;
}

function idText(id: DeadLetter["messageId"]): string {
    if (id === undefined) return "(no messageId)";
    return Buffer.isBuffer(id) ? id.toString("hex") : String(id);
}

function describe(m: DeadLetter): string {
    const reason = m.deadLetterReason ?? "(no reason)";
    return `messageId ${idText(m.messageId)}${m.sequenceNumber !== undefined ? ` #${m.sequenceNumber.toString()}` : ""}: ${reason}${m.deadLetterErrorDescription ? ` — ${m.deadLetterErrorDescription}` : ""}${m.deliveryCount !== undefined ? ` (${m.deliveryCount} deliveries)` : ""}`;
}

/**
 * Moves dead letters back to the queue, batch by batch: receive under lock, send the batch,
 * complete each dead letter. A crash after the send and before the completes leaves the dead
 * letters in the sub-queue (their lock expires); a later run sends them again, and the consumer's
 * idempotency absorbs that duplicate. A failed send abandons the batch (nothing lost) and stops.
 */
export async function redriveServiceBusDeadLetters<M extends DeadLetter>(options: ServiceBusRedriveOptions<M>): Promise<ServiceBusRedriveSummary> {
    const { receiver, sender, dryRun, print } = options;
    const max = options.max ?? Number.POSITIVE_INFINITY;
    const batchSize = options.batchSize ?? 10;
    const wait = options.maxWaitTimeInMs ?? 3000;
    const summary: ServiceBusRedriveSummary = { approximateCount: undefined, read: 0, resent: 0, completed: 0, resentNotCompleted: 0, notResent: 0, tooRecent: 0, reasons: {}, dryRun };
    const windowMs = options.duplicateDetectionWindowMs ?? 0;
    const now = options.now ?? (() => new Date());
    // Within the window the broker would drop the resend as a duplicate, and completing the dead
    // letter would then lose the event.
    const resendableAfter = (m: M): Date | undefined => {
        if (windowMs <= 0) return undefined;
        if (!m.enqueuedTimeUtc) return new Date(8.64e15); // unknown age: never safe
        const after = new Date(m.enqueuedTimeUtc.getTime() + windowMs);
        return after.getTime() > now().getTime() ? after : undefined;
    };
    const keyOf = (m: M) => (m.sequenceNumber !== undefined ? `#${m.sequenceNumber.toString()}` : `id:${idText(m.messageId)}`);
    const seen = new Set<string>();
    try {
        summary.approximateCount = options.count ? await options.count() : undefined;
    } catch {
        summary.approximateCount = undefined;
    }
    const total = summary.approximateCount !== undefined ? String(Math.min(summary.approximateCount, max)) : "?";
    print(`${dryRun ? "[dry run] " : ""}${options.queueLabel}/$DeadLetterQueue: ${summary.approximateCount ?? "an unknown number of"} dead letter(s); ${dryRun ? "peeking, nothing will be sent or completed" : "resending to the queue"}`);
    const note = (m: M) => {
        const reason = m.deadLetterReason ?? "(no reason)";
        summary.reasons[reason] = (summary.reasons[reason] ?? 0) + 1;
    };

    while (summary.read < max) {
        const wanted = Math.min(batchSize, max - summary.read);
        if (dryRun) {
            const peeked = await receiver.peekMessages(wanted);
            if (peeked.length === 0) break;
            summary.read += peeked.length;
            for (const m of peeked) {
                note(m);
                const after = resendableAfter(m);
                if (after) {
                    summary.tooRecent++;
                    print(`  would skip ${describe(m)}: within the duplicate detection window until ${after.getTime() >= 8.64e15 ? "(enqueue time unknown)" : after.toISOString()}`);
                } else {
                    print(`  would resend ${describe(m)}`);
                }
            }
            continue;
        }
        const received = await receiver.receiveMessages(wanted, { maxWaitTimeInMs: wait });
        // Abandoned dead letters come back at once; one seen before in this run ends the run.
        const again = received.filter((m) => seen.has(keyOf(m)));
        for (const m of again) await receiver.abandonMessage(m).catch(() => undefined);
        const fresh = received.filter((m) => !seen.has(keyOf(m)));
        if (fresh.length === 0) break;
        fresh.forEach((m) => seen.add(keyOf(m)));
        summary.read += fresh.length;
        const batch: M[] = [];
        for (const m of fresh) {
            note(m);
            const after = resendableAfter(m);
            if (after) {
                summary.tooRecent++;
                print(`  skip ${describe(m)}: enqueued within the queue's duplicate detection window, the broker would drop the resend; left dead-lettered, redrive it after ${after.getTime() >= 8.64e15 ? "(enqueue time unknown)" : after.toISOString()}`);
                await receiver.abandonMessage(m).catch(() => undefined);
                continue;
            }
            print(`  resend ${describe(m)}`);
            batch.push(m);
        }
        if (batch.length === 0) continue;
        try {
            await sender.sendMessages(batch.map(toResentMessage));
        } catch (error) {
            summary.notResent += batch.length;
            for (const m of batch) {
                try {
                    await receiver.abandonMessage(m);
                } catch {
                    // The lock expires on its own; the dead letter stays either way.
                }
            }
            summary.stoppedBecause = `sending to the queue failed: ${(error as Error).message}`;
            print(`  ✗ ${summary.stoppedBecause}; ${batch.length} dead letter(s) abandoned, still in the dead-letter queue; stopping`);
            break;
        }
        summary.resent += batch.length;
        for (const m of batch) {
            try {
                await receiver.completeMessage(m);
                summary.completed++;
            } catch (error) {
                summary.resentNotCompleted++;
                print(`  ! ${idText(m.messageId)}: resent but not completed (${(error as Error).message}); a later run resends it, the consumer drops the duplicate`);
            }
        }
        print(`  progress: ${summary.read}/${total} read, ${summary.resent} resent, ${summary.completed} completed`);
    }
    print(formatServiceBusSummary(summary));
    return summary;
}

export function formatServiceBusSummary(s: ServiceBusRedriveSummary): string {
    const reasons = Object.entries(s.reasons).map(([r, n]) => `${n} × ${r}`).join(", ");
    if (s.dryRun) return `[dry run] ${s.read} dead letter(s) peeked${reasons ? ` (${reasons})` : ""}${s.tooRecent ? `, ${s.tooRecent} within the duplicate detection window` : ""}; nothing sent or completed`;
    return (
        `summary: ${s.read} received, ${s.resent} resent, ${s.completed} completed` +
        (s.resentNotCompleted ? `, ${s.resentNotCompleted} resent but not completed (run again; duplicates are absorbed by the consumer)` : "") +
        (s.notResent ? `, ${s.notResent} not resent (still dead-lettered)` : "") +
        (s.tooRecent ? `, ${s.tooRecent} left for later (duplicate detection window)` : "") +
        (reasons ? `; reasons: ${reasons}` : "") +
        (s.stoppedBecause ? `; stopped: ${s.stoppedBecause}` : "")
    );
}
