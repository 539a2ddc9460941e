/**
 * Redrive of the AWS consumer queue's own dead-letter queue (Azure → AWS direction): each dead
 * letter goes back to the consumer queue with SendMessage, and is deleted from the dead-letter queue
 * only after that send succeeded.
 *
 * Two kinds of dead letters live there (runtime/sqs-consumer.ts):
 * - copies the SQS host sent on a message's FIRST delivery because the consumer found it poison:
 *   they carry DEAD_LETTER_ATTRIBUTES (reason, description, source message id, receive count). The
 *   consumer only dead-letters parse faults, which depend on the body alone: sent back unchanged,
 *   the same consumer dead-letters them again. So they are refused unless the operator names the
 *   reason with `allowReasons` (after deploying a consumer that accepts them, e.g. a new schema major).
 * - messages SQS moved by the queue's redrive policy after maxReceiveCount receives: no reason
 *   attribute (SQS keeps none). Their handler failed or timed out that often; once the cause is
 *   fixed they are redriven by default.
 *
 * Why SendMessage + delete and not StartMessageMoveTask (SQS API reference, API version 2012-11-05,
 * StartMessageMoveTask): a move task takes the whole queue at up to 500 messages/s, one task per
 * queue at a time, and cannot leave some messages behind; poison copies would go back and be
 * dead-lettered again at once. The body is sent unchanged: it was in the consumer queue (or its copy
 * was sent by the host) once, so it fits the queue's `MaximumMessageSize` (SQS quotas: 256 KiB for
 * years, 1 MiB since 2025; runtime/postgres-outbox/limits.ts keeps the path at 256 KiB) unless that
 * attribute was lowered since. The reason attributes are not copied (they describe the failed
 * attempt, and the consumer reads only the body); SendMessage would refuse more than 10 anyway.
 */
import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, Message, ReceiveMessageCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { EventFault, parseDelivery } from "../../runtime/event";
import { DEAD_LETTER_ATTRIBUTES } from "../../runtime/sqs-consumer";
import type { Print } from "./aws";

/** Every reason the consumer writes: parse faults, decided by the body alone (runtime/event.ts EventFault). */
export const BODY_FAULTS: readonly EventFault[] = [
    "NotJson",
    "UnsupportedShape",
    "MissingField",
    "InvalidField",
    "MissingEventId",
    "InvalidEventId",
    "UnsupportedSchemaVersion",
    "EnvelopeMismatch",
    "EntryTooLarge",
    "MessageTooLarge",
];

/** What a dead letter says about itself, without trusting it to be valid. */
export interface ConsumerDeadLetter {
    messageId: string;
    /** undefined: moved by SQS after maxReceiveCount (no reason kept). */
    reason?: string;
    description?: string;
    sourceMessageId?: string;
    sourceReceiveCount?: string;
    /** The domain event id, when the body has one where the consumer looks. */
    eventId?: string;
    /** What this checkout's consumer code says of the body now: "accepted" or its fault. */
    nowParses: string;
}

export function readConsumerDeadLetter(message: Message): ConsumerDeadLetter {
    const attr = (name: string) => message.MessageAttributes?.[name]?.StringValue;
    const parsed = parseDelivery(message.Body ?? "");
    return {
        messageId: message.MessageId ?? "?",
        reason: attr(DEAD_LETTER_ATTRIBUTES.reason),
        description: attr(DEAD_LETTER_ATTRIBUTES.description),
        sourceMessageId: attr(DEAD_LETTER_ATTRIBUTES.sourceMessageId),
        sourceReceiveCount: attr(DEAD_LETTER_ATTRIBUTES.receiveCount),
        eventId: parsed.ok ? parsed.value.event.metadata.event_id : parsed.error.eventId,
        nowParses: parsed.ok ? "accepted" : parsed.error.fault,
    };
}

export function describeConsumerDeadLetter(d: ConsumerDeadLetter): string {
    const who = d.eventId ? `event ${d.eventId} [message ${d.messageId}]` : `SQS message ${d.messageId}`;
    const why = d.reason
        ? `${d.reason}${d.description ? ` (${d.description})` : ""}, dead-lettered by the consumer on receive ${d.sourceReceiveCount ?? "?"}`
        : "no reason attribute: moved by SQS after maxReceiveCount receives (handler failures or timeouts; see the consumer's logs)";
    return `${who}: ${why}; this checkout's consumer now: ${d.nowParses}`;
}

export interface ConsumerDlqRedriveOptions {
    /** Client for the dead-letter queue. */
    deadLetterSqs: Pick<SQSClient, "send">;
    deadLetterQueueUrl: string;
    /** Client for the consumer queue (the same client in the CLI; tests run two local queues). */
    sourceSqs: Pick<SQSClient, "send">;
    sourceQueueUrl: string;
    dryRun: boolean;
    /** Stop after this many dead letters (default: all). */
    max?: number;
    /** Reasons the operator allows back (the consumer was changed to accept them). */
    allowReasons?: readonly string[];
    /** Seconds a received dead letter stays hidden while it is handled (default 120). */
    visibilityTimeoutSeconds?: number;
    print: Print;
}

export interface ConsumerDlqRedriveSummary {
    approximateCount?: number;
    received: number;
    /** Sent to the consumer queue and deleted from the dead-letter queue. */
    moved: number;
    /** Sent, but the delete failed: a later run sends it again (a duplicate the consumer absorbs). */
    sentNotDeleted: number;
    /** SendMessage failed: left in the dead-letter queue. */
    sendFailed: number;
    /** Left in the dead-letter queue because the consumer would dead-letter them again, per reason. */
    refused: Record<string, number>;
    dryRun: boolean;
}

/**
 * Order per message: SendMessage to the consumer queue, then (for the batch) DeleteMessageBatch of
 * exactly the messages whose send succeeded. A crash between the two leaves the dead letter in its
 * queue (visible again after the visibility timeout) and a later run sends it again: the consumer
 * drops the duplicate by event id. Nothing is deleted before its copy exists.
 */
export async function redriveConsumerDeadLetters(options: ConsumerDlqRedriveOptions): Promise<ConsumerDlqRedriveSummary> {
    const { deadLetterSqs, deadLetterQueueUrl, sourceSqs, sourceQueueUrl, dryRun, print } = options;
    const max = options.max ?? Number.POSITIVE_INFINITY;
    const allowed = new Set(options.allowReasons ?? []);
    const visibility = options.visibilityTimeoutSeconds ?? 120;
    const summary: ConsumerDlqRedriveSummary = { received: 0, moved: 0, sentNotDeleted: 0, sendFailed: 0, refused: {}, dryRun };

    const attrs = await deadLetterSqs.send(new GetQueueAttributesCommand({ QueueUrl: deadLetterQueueUrl, AttributeNames: ["ApproximateNumberOfMessages"] }));
    const count = Number(attrs.Attributes?.ApproximateNumberOfMessages);
    summary.approximateCount = Number.isFinite(count) ? count : undefined;
    print(
        `${dryRun ? "[dry run] " : ""}${deadLetterQueueUrl}: about ${summary.approximateCount ?? "?"} dead letter(s); ` +
            (dryRun ? "nothing will be sent or deleted" : `sending them back to ${sourceQueueUrl}`),
    );

    const seen = new Set<string>();
    /** Receipt handles of messages left in the queue, made visible again at the end (a rerun sees them at once). */
    const leftHidden: string[] = [];
    try {
        while (summary.received < max) {
            const received = await deadLetterSqs.send(
                new ReceiveMessageCommand({
                    QueueUrl: deadLetterQueueUrl,
                    MaxNumberOfMessages: Math.min(10, max - summary.received),
                    VisibilityTimeout: visibility,
                    WaitTimeSeconds: 1,
                    MessageAttributeNames: ["All"],
                    MessageSystemAttributeNames: ["ApproximateReceiveCount"],
                }),
            );
            // A message seen earlier in this run came back after its visibility timeout: leave it for the next run.
            const messages = (received.Messages ?? []).filter((m) => m.MessageId && !seen.has(m.MessageId));
            if (messages.length === 0) break;
            for (const m of messages) seen.add(m.MessageId!);
            summary.received += messages.length;

            const sent: Array<{ message: Message; letter: ConsumerDeadLetter }> = [];
            for (const message of messages) {
                const letter = readConsumerDeadLetter(message);
                if (letter.reason !== undefined && !allowed.has(letter.reason)) {
                    summary.refused[letter.reason] = (summary.refused[letter.reason] ?? 0) + 1;
                    print(`  ✗ ${describeConsumerDeadLetter(letter)}; refused: sent back unchanged it would be dead-lettered again (--allow-reason ${letter.reason} once the consumer accepts it)`);
                    leftHidden.push(message.ReceiptHandle!);
                    continue;
                }
                if (dryRun) {
                    print(`  would redrive ${describeConsumerDeadLetter(letter)}`);
                    leftHidden.push(message.ReceiptHandle!);
                    continue;
                }
                try {
                    await sourceSqs.send(new SendMessageCommand({ QueueUrl: sourceQueueUrl, MessageBody: message.Body ?? "" }));
                } catch (error) {
                    summary.sendFailed++;
                    print(`  ! ${describeConsumerDeadLetter(letter)}: SendMessage failed (${(error as Error).message.split("\n")[0]}); left in the dead-letter queue`);
                    leftHidden.push(message.ReceiptHandle!);
                    continue;
                }
                print(`  redrive ${describeConsumerDeadLetter(letter)}`);
                sent.push({ message, letter });
            }
            if (sent.length > 0) {
                const deleted = await deleteSent(deadLetterSqs, deadLetterQueueUrl, sent.map((s) => s.message.ReceiptHandle!));
                summary.moved += deleted.ok;
                for (const index of deleted.failed) {
                    summary.sentNotDeleted++;
                    const letter = sent[index].letter;
                    print(`  ! ${letter.eventId ?? letter.messageId}: sent back but not deleted; a later run sends it again, the consumer drops the duplicate`);
                }
            }
            print(`  progress: ${summary.received} received, ${summary.moved} moved`);
        }
    } finally {
        for (let i = 0; i < leftHidden.length; i += 10) {
            await deadLetterSqs
                .send(
                    new ChangeMessageVisibilityBatchCommand({
                        QueueUrl: deadLetterQueueUrl,
                        Entries: leftHidden.slice(i, i + 10).map((handle, j) => ({ Id: String(j), ReceiptHandle: handle, VisibilityTimeout: 0 })),
                    }),
                )
                .catch(() => undefined /* they reappear after the visibility timeout anyway */);
        }
    }
    print(formatConsumerDlqSummary(summary));
    return summary;
}

/** Deletes after a successful send; a failed delete (batch error or per entry) only means a later duplicate. */
async function deleteSent(sqs: Pick<SQSClient, "send">, queueUrl: string, handles: string[]): Promise<{ ok: number; failed: number[] }> {
    try {
        const result = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: handles.map((h, i) => ({ Id: String(i), ReceiptHandle: h })) }));
        return { ok: result.Successful?.length ?? 0, failed: (result.Failed ?? []).map((f) => Number(f.Id)) };
    } catch {
        return { ok: 0, failed: handles.map((_, i) => i) };
    }
}

export function formatConsumerDlqSummary(s: ConsumerDlqRedriveSummary): string {
    const refused = Object.entries(s.refused).map(([reason, n]) => `${n} ${reason}`).join(", ");
    const head = s.dryRun ? `[dry run] ${s.received} dead letter(s) read; nothing sent or deleted` : `summary: ${s.received} received, ${s.moved} moved back to the consumer queue`;
    return (
        head +
        (refused ? `; refused (still in the dead-letter queue): ${refused}` : "") +
        (s.sendFailed ? `; ${s.sendFailed} send(s) failed (still in the dead-letter queue; run again)` : "") +
        (s.sentNotDeleted ? `; ${s.sentNotDeleted} sent but not deleted (run again; the consumer absorbs the duplicate)` : "")
    );
}
