/**
 * The SQS → Lambda host of the shared consumer core (runtime/consumer.ts): each record of an SQS
 * event becomes one `ConsumerMessage`, and the core's settlement is carried out the way SQS and
 * Lambda allow:
 *   complete   → the record is reported as a success (Lambda deletes it from the queue);
 *   abandon    → the record is listed in `batchItemFailures` (it becomes visible again when its
 *                visibility timeout ends, and its receive count grows; after the queue's
 *                maxReceiveCount SQS moves it to the dead-letter queue by the redrive policy);
 *   deadLetter → SendMessage of the original body to the dead-letter queue, with the reason and the
 *                description as message attributes, then success. SQS itself keeps no reason when
 *                it dead-letters (a redrive policy only moves the message: SQS Developer Guide,
 *                "Using dead-letter queues in Amazon SQS"), so we carry it. If that SendMessage
 *                fails the record is reported as failed and comes back: nothing is deleted before
 *                its copy is in the dead-letter queue.
 * The function must run with `functionResponseTypes: ["ReportBatchItemFailures"]` (Lambda Developer
 * Guide, "Handling errors for an SQS event source in Lambda": the response
 * `{ batchItemFailures: [{ itemIdentifier: messageId }] }`); without it one failed record would make
 * Lambda return the whole batch.
 *
 * Timing. The core needs the time until which this delivery is ours (Service Bus: the lock). Here
 * that is the end of the invocation (Lambda stops the function at its timeout), capped by the
 * visibility timeout counted from when the batch was received. The queue's visibility timeout is
 * six times the function timeout (components/aws/ingress-consumer.ts), so a message never
 * reappears while an invocation that holds it can still run, and the lease, never longer than the
 * function timeout, has expired by the time it does.
 */
import type { Consumer, ConsumerMessage, ConsumerOutcome, Settlement } from "./consumer";
import { describeError, Logger } from "./logger";

/** One record of an SQS event as Lambda delivers it (the fields the host reads). */
export interface SqsRecord {
  messageId: string;
  receiptHandle?: string;
  body: string;
  attributes?: { ApproximateReceiveCount?: string; [name: string]: string | undefined };
  messageAttributes?: Record<string, unknown>;
  eventSourceARN?: string;
}

export interface SqsEvent {
  Records: SqsRecord[];
}

export interface SqsBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** The part of the Lambda context the host uses. */
export interface LambdaContextLike {
  getRemainingTimeInMillis(): number;
}

/** The one SQS call the host makes (an `SQSClient` from @aws-sdk/client-sqs fits, with a SendMessageCommand). */
export interface DeadLetterSender {
  sendToDeadLetterQueue(input: { body: string; attributes: Record<string, string> }): Promise<void>;
}

/** Message attribute names the dead-letter copy carries; `npm run redrive` and operators read them. */
export const DEAD_LETTER_ATTRIBUTES = {
  reason: "DeadLetterReason",
  description: "DeadLetterErrorDescription",
  sourceMessageId: "SourceMessageId",
  receiveCount: "SourceReceiveCount",
} as const;

// SQS message attribute values count toward the message's size limit; a description is a hint,
// never worth losing the copy for.
const MAX_ATTRIBUTE_CHARS = 1024;

export interface SqsConsumerHostOptions {
  consumer: Consumer;
  deadLetters: DeadLetterSender;
  logger: Logger;
  /** The source queue's visibility timeout, ms. */
  visibilityTimeoutMs: number;
  /** The mapping's batching window, ms: a record may have been received that long before the invocation began. */
  batchWindowMs?: number;
  /** Time kept back at the end of the invocation for settling and returning the response, ms. Default 2000. */
  returnMarginMs?: number;
  /** Records handled at once. Default 10. */
  concurrency?: number;
  now?: () => number;
}

export type SqsBatchHandler = (event: SqsEvent, context?: LambdaContextLike) => Promise<SqsBatchResponse>;

/** What happened to one record, for logs and tests. */
export interface RecordResult {
  messageId: string;
  outcome?: ConsumerOutcome;
  /** True when the record is reported in batchItemFailures (it will be delivered again). */
  failed: boolean;
}

export function createSqsBatchHandler(options: SqsConsumerHostOptions, onRecord?: (result: RecordResult) => void): SqsBatchHandler {
  if (!Number.isInteger(options.visibilityTimeoutMs) || options.visibilityTimeoutMs <= 0) {
    throw new Error(`sqs consumer: visibilityTimeoutMs must be a positive integer, got ${options.visibilityTimeoutMs}`);
  }
  const now = options.now ?? Date.now;
  const log = options.logger;
  const concurrency = Math.max(1, options.concurrency ?? 10);
  const returnMargin = options.returnMarginMs ?? 2000;

  const handleRecord = async (record: SqsRecord, lockedUntil: Date): Promise<RecordResult> => {
    if (typeof record?.messageId !== "string" || record.messageId === "") {
      // Without a messageId the record cannot be reported; Lambda would delete it with the batch.
      throw new Error("sqs consumer: a record has no messageId; refusing the whole batch so nothing is deleted unprocessed");
    }
    let action: "complete" | "abandon" | "deadLetter" | undefined;
    const settlement: Settlement = {
      complete: async () => {
        action = "complete";
      },
      abandon: async () => {
        action = "abandon";
      },
      deadLetter: async (reason, description) => {
        await options.deadLetters.sendToDeadLetterQueue({
          body: record.body,
          attributes: {
            [DEAD_LETTER_ATTRIBUTES.reason]: clip(reason),
            [DEAD_LETTER_ATTRIBUTES.description]: clip(description),
            [DEAD_LETTER_ATTRIBUTES.sourceMessageId]: record.messageId,
            [DEAD_LETTER_ATTRIBUTES.receiveCount]: record.attributes?.ApproximateReceiveCount ?? "unknown",
          },
        });
        action = "deadLetter";
      },
    };
    const message: ConsumerMessage = {
      body: record.body,
      messageId: record.messageId,
      deliveryCount: receiveCountOf(record),
      lockedUntilUtc: lockedUntil,
    };
    let outcome: ConsumerOutcome;
    try {
      outcome = await options.consumer.handle(message, settlement);
    } catch (error) {
      log.error("Consumer failed on a record; it will be delivered again", { messageId: record.messageId, error: describeError(error) });
      return { messageId: record.messageId, failed: true };
    }
    // A failed settle (the dead-letter send) is on the outcome: the record must come back.
    const succeeded = outcome.settleError === undefined && (action === "complete" || action === "deadLetter");
    return { messageId: record.messageId, outcome, failed: !succeeded };
  };

  return async (event, context) => {
    const start = now();
    const records = Array.isArray(event?.Records) ? event.Records : [];
    const invocationEnd = context ? start + context.getRemainingTimeInMillis() - returnMargin : Infinity;
    const visibilityEnd = start - (options.batchWindowMs ?? 0) + options.visibilityTimeoutMs;
    const lockedUntil = new Date(Math.min(invocationEnd, visibilityEnd));

    const failures: { itemIdentifier: string }[] = [];
    let next = 0;
    const worker = async () => {
      while (next < records.length) {
        const record = records[next++];
        const result = await handleRecord(record, lockedUntil);
        if (result.failed) failures.push({ itemIdentifier: result.messageId });
        onRecord?.(result);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, records.length) }, worker));
    return { batchItemFailures: failures };
  };
}

function receiveCountOf(record: SqsRecord): number | undefined {
  const n = Number(record.attributes?.ApproximateReceiveCount);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function clip(value: string): string {
  const text = String(value ?? "");
  return text.length > MAX_ATTRIBUTE_CHARS ? `${text.slice(0, MAX_ATTRIBUTE_CHARS - 1)}…` : text === "" ? "(none)" : text;
}
