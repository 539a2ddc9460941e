/**
 * Relay: DynamoDB stream batch (outbox table) → EventBridge PutEvents.
 *
 * Why not Powertools' BatchProcessor: it calls a handler once per record, which would make one
 * PutEvents call per event. PutEvents takes 10 entries per call and the relay's cost and latency
 * are dominated by those calls, so the relay packs entries itself (≤ 10 entries, ≤ 256 KB per
 * request, several requests in flight) and maps per-entry results back to sequence numbers. The
 * part of BatchProcessor we would have used, the `batchItemFailures` response, is a few lines here.
 * Logging goes through the `Logger` port, which a Powertools Logger satisfies if one is wanted.
 *
 * Checkpoint semantics (ReportBatchItemFailures on a stream): Lambda restarts the shard from the
 * LOWEST sequence number reported, so every record after it is sent again (EventBridge and the
 * consumer are at-least-once anyway; the consumer deduplicates by event id). We report every failed
 * record, sorted; what matters is that no failed record is missing, since reporting only a higher
 * one would checkpoint past it and lose it.
 */
import { PutEventsCommand, PutEventsCommandOutput, PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import {
  measureDelivery,
  parseDomainEvent,
  PUT_EVENTS_MAX_ENTRIES,
  PUT_EVENTS_MAX_REQUEST_BYTES,
  ServiceBusTier,
  toPutEventsEntry,
  ValidationOptions,
} from "./event";
import { describeError, Logger } from "./logger";
import { OUTBOX_EVENT_ATTRIBUTE, OUTBOX_KEY_ATTRIBUTE, OUTBOX_STATUS_ATTRIBUTE, OUTBOX_STATUS_PENDING } from "./outbox-schema";

/** An attribute value as Lambda delivers it in a DynamoDB stream event (DynamoDB JSON, B as base64). */
export type StreamAttributeValue = {
  S?: string;
  N?: string;
  B?: string;
  BOOL?: boolean;
  NULL?: boolean;
  SS?: string[];
  NS?: string[];
  BS?: string[];
  M?: Record<string, StreamAttributeValue>;
  L?: StreamAttributeValue[];
};

export interface DynamoDBStreamRecord {
  eventID?: string;
  eventName?: "INSERT" | "MODIFY" | "REMOVE" | string;
  eventVersion?: string;
  eventSource?: string;
  awsRegion?: string;
  eventSourceARN?: string;
  dynamodb?: {
    ApproximateCreationDateTime?: number;
    Keys?: Record<string, StreamAttributeValue>;
    NewImage?: Record<string, StreamAttributeValue>;
    OldImage?: Record<string, StreamAttributeValue>;
    SequenceNumber?: string;
    SizeBytes?: number;
    StreamViewType?: string;
  };
}

export interface DynamoDBStreamEvent {
  Records: DynamoDBStreamRecord[];
}

/** The ReportBatchItemFailures response. */
export interface StreamBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** The one EventBridge call the relay makes. An `EventBridgeClient` satisfies it. */
export interface PutEventsPort {
  send(command: PutEventsCommand): Promise<PutEventsCommandOutput>;
}

export interface RelayOptions {
  eventBridge: PutEventsPort;
  eventBusName: string;
  logger: Logger;
  /** PutEvents requests in flight at once. Default 4. */
  maxConcurrentRequests?: number;
  /**
   * How many times an entry that EventBridge failed with a transient code (ThrottlingException,
   * InternalFailure) is sent again within this invocation before it is reported. Retrying here
   * spares the re-publication of every later record in the batch. Default 2.
   */
  entryRetries?: number;
  /** First backoff before an entry retry; doubles each time, with jitter. Default 100 ms. */
  entryRetryBaseDelayMs?: number;
  validation?: ValidationOptions;
  /**
   * Tier of the Service Bus namespace behind the API destination. An event whose delivered message
   * would exceed that tier's limit is not published (Service Bus would refuse it, and EventBridge
   * does not retry that): it is reported with the reason, and so reaches the failure queue.
   * Default Standard, the smaller limit.
   */
  serviceBusTier?: ServiceBusTier;
}

export type RelayHandler = (event: DynamoDBStreamEvent) => Promise<StreamBatchResponse>;

// An array, not a Set: Pulumi's closure serializer cannot rebuild a module-level Set (see event.ts).
const RETRYABLE_ENTRY_CODES: readonly string[] = ["ThrottlingException", "InternalFailure", "InternalException", "ServiceUnavailable"];

interface PendingEntry {
  sequenceNumber: string;
  eventId: string;
  entry: PutEventsRequestEntry;
  size: number;
}

/** Packs entries, in order, into requests of at most 10 entries and 256 KB. */
export function planPutEventsRequests<T extends { size: number }>(entries: readonly T[]): T[][] {
  const requests: T[][] = [];
  let current: T[] = [];
  let currentBytes = 0;
  for (const entry of entries) {
    if (current.length > 0 && (current.length === PUT_EVENTS_MAX_ENTRIES || currentBytes + entry.size > PUT_EVENTS_MAX_REQUEST_BYTES)) {
      requests.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(entry);
    currentBytes += entry.size;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

/** Runs `work` over `items` with at most `limit` promises pending. */
async function forEachBounded<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      await work(item);
    }
  });
  await Promise.all(workers);
}

const DIGITS = /^\d+$/;

/** Sequence numbers are decimal strings of varying length: compare them as numbers, not as text. */
export function compareSequenceNumbers(a: string, b: string): number {
  if (!DIGITS.test(a) || !DIGITS.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function createRelayHandler(options: RelayOptions): RelayHandler {
  if (!options.eventBusName) throw new Error("createRelayHandler: eventBusName is required");
  const concurrency = options.maxConcurrentRequests ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new Error(`createRelayHandler: maxConcurrentRequests must be a positive integer, got ${concurrency}`);
  }
  const entryRetries = options.entryRetries ?? 2;
  const baseDelayMs = options.entryRetryBaseDelayMs ?? 100;
  const log = options.logger;
  const tier = options.serviceBusTier ?? "Standard";
  if (tier !== "Standard" && tier !== "Premium") {
    throw new Error(`createRelayHandler: serviceBusTier must be Standard or Premium, got ${JSON.stringify(tier)}`);
  }

  return async (event) => {
    const failed = new Map<string, string>(); // sequence number -> why
    const pending: PendingEntry[] = [];
    let skipped = 0;

    const reportFailure = (record: DynamoDBStreamRecord, eventId: string | undefined, reason: string, attributes: Record<string, unknown>) => {
      const sequenceNumber = record.dynamodb?.SequenceNumber;
      if (!sequenceNumber) {
        // Without a sequence number the failure cannot be reported per record; failing the whole
        // invocation makes Lambda retry the batch instead of silently checkpointing past it.
        throw new Error(`Outbox stream record ${record.eventID ?? "(no eventID)"} failed (${reason}) and has no SequenceNumber to report`);
      }
      failed.set(sequenceNumber, reason);
      log.error("Outbox record not published; reported for retry (then the mapping's failure destination)", {
        eventId,
        sequenceNumber,
        reason,
        ...attributes,
      });
    };

    for (const record of event.Records ?? []) {
      if (record.eventName !== "INSERT") {
        skipped++;
        continue;
      }
      const image = record.dynamodb?.NewImage;
      const keyId = record.dynamodb?.Keys?.[OUTBOX_KEY_ATTRIBUTE]?.S ?? image?.[OUTBOX_KEY_ATTRIBUTE]?.S;
      if (!image) {
        reportFailure(record, keyId, "MissingNewImage", { detail: "the outbox stream must use StreamViewType NEW_IMAGE or NEW_AND_OLD_IMAGES" });
        continue;
      }
      const status = image[OUTBOX_STATUS_ATTRIBUTE]?.S;
      if (status === undefined) {
        reportFailure(record, keyId, "MissingStatus", { detail: `item has no string attribute '${OUTBOX_STATUS_ATTRIBUTE}'` });
        continue;
      }
      if (status !== OUTBOX_STATUS_PENDING) {
        skipped++;
        continue;
      }
      const text = image[OUTBOX_EVENT_ATTRIBUTE]?.S;
      if (text === undefined) {
        reportFailure(record, keyId, "MissingEvent", { detail: `item has no string attribute '${OUTBOX_EVENT_ATTRIBUTE}'` });
        continue;
      }
      const parsed = parseDomainEvent(text, options.validation);
      if (!parsed.ok) {
        const e = parsed.error;
        reportFailure(record, e.eventId ?? keyId, e.fault, { field: e.field, detail: e.detail });
        continue;
      }
      const domainEvent = parsed.value;
      if (keyId !== undefined && keyId !== domainEvent.metadata.event_id) {
        reportFailure(record, keyId, "KeyMismatch", { detail: `item key ${keyId} differs from metadata.event_id ${domainEvent.metadata.event_id}` });
        continue;
      }
      const entry = toPutEventsEntry(domainEvent, options.eventBusName, text);
      const measured = measureDelivery(entry, tier);
      if (measured.problem) {
        const { fault, sizeBytes, limitBytes, detail } = measured.problem;
        reportFailure(record, domainEvent.metadata.event_id, fault, { sizeBytes, limitBytes, serviceBusTier: tier, detail });
        continue;
      }
      pending.push({ sequenceNumber: record.dynamodb!.SequenceNumber ?? "", eventId: domainEvent.metadata.event_id, entry, size: measured.entryBytes });
    }

    for (const p of pending) {
      if (!p.sequenceNumber) {
        throw new Error(`Outbox stream record for event ${p.eventId} has no SequenceNumber; cannot report it if it fails`);
      }
    }

    let published = 0;
    const send = async (batch: PendingEntry[]): Promise<void> => {
      let remaining = batch;
      for (let attempt = 0; ; attempt++) {
        let response: PutEventsCommandOutput;
        try {
          response = await options.eventBridge.send(new PutEventsCommand({ Entries: remaining.map((p) => p.entry) }));
        } catch (error) {
          for (const p of remaining) failed.set(p.sequenceNumber, "RequestFailed");
          log.error("PutEvents request failed; all its records reported for retry", {
            error: describeError(error),
            eventIds: remaining.map((p) => p.eventId),
            sequenceNumbers: remaining.map((p) => p.sequenceNumber),
          });
          return;
        }
        const results = response.Entries ?? [];
        const retry: PendingEntry[] = [];
        remaining.forEach((p, i) => {
          const result = results[i];
          const ok = result !== undefined && !result.ErrorCode && !!result.EventId;
          if (ok) {
            published++;
            return;
          }
          const code = result?.ErrorCode ?? "NoResultForEntry";
          if (RETRYABLE_ENTRY_CODES.includes(code) && attempt < entryRetries) {
            retry.push(p);
            return;
          }
          failed.set(p.sequenceNumber, code);
          log.error("EventBridge refused an entry; record reported for retry", {
            eventId: p.eventId,
            sequenceNumber: p.sequenceNumber,
            errorCode: code,
            errorMessage: result?.ErrorMessage,
            attempts: attempt + 1,
          });
        });
        if ((response.FailedEntryCount ?? 0) > 0 && results.length !== remaining.length) {
          log.warn("PutEvents returned a result count that does not match the request", {
            requested: remaining.length,
            results: results.length,
            failedEntryCount: response.FailedEntryCount,
          });
        }
        if (retry.length === 0) return;
        remaining = retry;
        const delay = baseDelayMs * 2 ** attempt;
        await new Promise((r) => setTimeout(r, delay / 2 + Math.random() * (delay / 2)));
      }
    };

    await forEachBounded(planPutEventsRequests(pending), concurrency, send);

    const batchItemFailures = [...failed.keys()].sort(compareSequenceNumbers).map((itemIdentifier) => ({ itemIdentifier }));
    log.info("Outbox batch relayed", {
      records: event.Records?.length ?? 0,
      published,
      skipped,
      failed: batchItemFailures.length,
      lowestFailedSequenceNumber: batchItemFailures[0]?.itemIdentifier,
    });
    return { batchItemFailures };
  };
}
