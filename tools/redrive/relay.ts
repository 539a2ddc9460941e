/**
 * Redrive of the relay's on-failure destination (`npm run redrive -- relay`): each SQS message names
 * a discarded range of the outbox stream; its records are read again (stream, else the outbox items
 * still PENDING), published through the relay's own handler (runtime/relay.ts: same validation,
 * same entries, same per-entry retries), and the message is deleted only once every event of the
 * range was accepted by PutEvents.
 */
import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, Message, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { createRelayHandler, DynamoDBStreamRecord, PutEventsPort } from "../../runtime/relay";
import type { ServiceBusTier } from "../../runtime/event";
import type { LogAttributes, Logger } from "../../runtime/logger";
import { OUTBOX_STATUS_ATTRIBUTE, OUTBOX_STATUS_PENDING } from "../../runtime/outbox-schema";
import type { Print } from "./aws";
import { parseOnFailureRecord, pendingItemsInWindow, readRangeFromStream, ScanPort, STREAM_RETENTION_MS, StreamBatchInfo, StreamsPort, tableOfStreamArn } from "./relay-range";

export interface RelayRedriveOptions {
    /** The on-failure destination (SQS queue) of the relay's event source mapping. */
    sqs: Pick<SQSClient, "send">;
    queueUrl: string;
    streams: StreamsPort;
    dynamodb: ScanPort;
    /** The outbox table (its stream is the one the records name; its PENDING items are the fallback). */
    outboxTableName: string;
    eventBridge: PutEventsPort;
    busName: string;
    dryRun: boolean;
    /** Stop after this many messages (default: all). */
    max?: number;
    /** Seconds a received message stays hidden while its range is redriven (default 300). */
    visibilityTimeoutSeconds?: number;
    /** Rounds of republishing the records PutEvents still refused (default 3; the relay itself retries transient entry codes twice per round). */
    rounds?: number;
    /** Pause before a round, doubling (default 1000 ms). */
    roundDelayMs?: number;
    /** PENDING fallback: how long before the range's first arrival an event's own time may be (default 15 minutes). */
    pendingMarginMs?: number;
    /** Tier of the Service Bus namespace, as the relay is configured (default Standard). */
    serviceBusTier?: ServiceBusTier;
    /** First backoff of the relay's own entry retries (default the relay's). */
    entryRetryBaseDelayMs?: number;
    now?: () => number;
    sleep?: (ms: number) => Promise<void>;
    print: Print;
}

export interface RelayRedriveSummary {
    approximateCount: number | undefined;
    received: number;
    /** Ranges read back from the stream. */
    fromStream: number;
    /** Ranges stood in for by PENDING outbox items (approximate: see docs/operations.md). */
    fromPending: number;
    /** Events accepted by PutEvents. */
    republished: number;
    /** Messages deleted: every event of their range was accepted. */
    deleted: number;
    /** Messages kept because some event of the range was refused (by PutEvents or by the relay's validation). */
    kept: number;
    /** Messages that are not an on-failure record of the outbox stream; kept. */
    unreadable: number;
    /** Refused events, by reason (error code or the relay's validation fault). */
    failed: Record<string, number>;
    dryRun: boolean;
}

interface Refusal {
    eventId?: string;
    reason: string;
}

/** The relay's Logger port, keeping what it reports per record. */
function collectingLogger(into: Map<string, Refusal>): Logger {
    const keep = (attributes: LogAttributes = {}) => {
        const seq = attributes.sequenceNumber;
        const reason = (attributes.errorCode ?? attributes.reason) as string | undefined;
        if (typeof seq === "string" && reason) into.set(seq, { eventId: attributes.eventId as string | undefined, reason });
        const seqs = attributes.sequenceNumbers;
        if (Array.isArray(seqs)) {
            const ids = (attributes.eventIds ?? []) as string[];
            seqs.forEach((s, i) => into.set(String(s), { eventId: ids[i], reason: "RequestFailed" }));
        }
    };
    return { debug: () => {}, info: () => {}, warn: () => {}, error: (_m, a) => keep(a) };
}

function eventIdOf(record: DynamoDBStreamRecord): string {
    return record.dynamodb?.Keys?.event_id?.S ?? record.dynamodb?.NewImage?.event_id?.S ?? `(record ${record.dynamodb?.SequenceNumber ?? "?"})`;
}

/**
 * Publishes `records` through the relay handler, again for the ones it reports, up to `rounds`
 * rounds. Returns the refusals left (empty: every event was accepted) and how many were accepted.
 */
export async function republishRecords(
    records: DynamoDBStreamRecord[],
    o: Pick<RelayRedriveOptions, "eventBridge" | "busName" | "rounds" | "roundDelayMs" | "serviceBusTier" | "entryRetryBaseDelayMs" | "sleep">,
): Promise<{ refused: Map<string, Refusal>; accepted: number }> {
    let accepted = 0;
    const counting: PutEventsPort = {
        send: async (command) => {
            const output = await o.eventBridge.send(command);
            accepted += (output.Entries ?? []).filter((e) => e.EventId && !e.ErrorCode).length;
            return output;
        },
    };
    const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    let pending = records;
    let refused = new Map<string, Refusal>();
    const rounds = o.rounds ?? 3;
    for (let round = 0; round < rounds && pending.length > 0; round++) {
        if (round > 0) await sleep((o.roundDelayMs ?? 1000) * 2 ** (round - 1));
        refused = new Map();
        const relay = createRelayHandler({
            eventBridge: counting,
            eventBusName: o.busName,
            logger: collectingLogger(refused),
            serviceBusTier: o.serviceBusTier,
            entryRetryBaseDelayMs: o.entryRetryBaseDelayMs,
            // As runtime/relay-lambda.ts builds it: a transport, forwarding every well-formed major.
            validation: { supportedSchemaMajors: "any" },
        });
        const response = await relay({ Records: pending });
        const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
        for (const seq of failed) if (!refused.has(seq)) refused.set(seq, { reason: "reported by the relay" });
        for (const seq of [...refused.keys()]) if (!failed.has(seq)) refused.delete(seq);
        pending = pending.filter((r) => failed.has(r.dynamodb?.SequenceNumber ?? ""));
    }
    return { refused, accepted };
}

function describeRange(message: Message, info: StreamBatchInfo): string {
    return `message ${message.MessageId}: shard ${info.shardId} [${info.startSequenceNumber} … ${info.endSequenceNumber}]${info.batchSize !== undefined ? ` (${info.batchSize} records)` : ""}`;
}

/**
 * Redrives the relay's on-failure destination. Per message: read the range, republish, and delete
 * the message only when every event of it was accepted; otherwise the message stays (made visible
 * again at the end of the run) with each refused event printed, for the next run.
 */
export async function redriveRelayFailures(o: RelayRedriveOptions): Promise<RelayRedriveSummary> {
    const { sqs, queueUrl, dryRun, print } = o;
    const now = o.now ?? Date.now;
    const max = o.max ?? Number.POSITIVE_INFINITY;
    const margin = o.pendingMarginMs ?? 15 * 60_000;
    const s: RelayRedriveSummary = { approximateCount: undefined, received: 0, fromStream: 0, fromPending: 0, republished: 0, deleted: 0, kept: 0, unreadable: 0, failed: {}, dryRun };

    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessages"] }));
    const count = Number(attrs.Attributes?.ApproximateNumberOfMessages);
    s.approximateCount = Number.isFinite(count) ? count : undefined;
    print(`${dryRun ? "[dry run] " : ""}${queueUrl}: about ${s.approximateCount ?? "?"} discarded range(s); ${dryRun ? "nothing will be published or deleted" : `republishing to bus ${o.busName}`}`);

    const seen = new Set<string>();
    const release: string[] = [];
    const refuse = (reason: string) => (s.failed[reason] = (s.failed[reason] ?? 0) + 1);
    try {
        while (s.received < max) {
            const answer = await sqs.send(
                new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: Math.min(10, max - s.received), VisibilityTimeout: o.visibilityTimeoutSeconds ?? 300, WaitTimeSeconds: 1 }),
            );
            const messages = (answer.Messages ?? []).filter((m) => m.MessageId && !seen.has(m.MessageId));
            if (messages.length === 0) break;
            for (const message of messages) {
                seen.add(message.MessageId!);
                s.received++;
                const keep = () => {
                    s.kept++;
                    release.push(message.ReceiptHandle!);
                };
                const parsed = parseOnFailureRecord(message.Body);
                if (!parsed.ok) {
                    s.unreadable++;
                    print(`  ! message ${message.MessageId}: not redriven, ${parsed.reason}; left in the queue`);
                    release.push(message.ReceiptHandle!);
                    continue;
                }
                const info = parsed.info;
                const label = describeRange(message, info);
                if (tableOfStreamArn(info.streamArn) !== o.outboxTableName) {
                    s.unreadable++;
                    print(`  ! ${label}: DDBStreamBatchInfo.streamArn is a stream of table ${tableOfStreamArn(info.streamArn)}, not of the outbox table ${o.outboxTableName}; left in the queue`);
                    release.push(message.ReceiptHandle!);
                    continue;
                }
                let records: DynamoDBStreamRecord[];
                const lastArrival = info.approximateArrivalOfLastRecord ? Date.parse(info.approximateArrivalOfLastRecord) : undefined;
                const expired = lastArrival !== undefined && now() - lastArrival > STREAM_RETENTION_MS;
                const read = expired ? { kind: "unavailable" as const, why: "older than the stream's 24-hour retention" } : await readRangeFromStream(o.streams, info);
                if (read.kind === "stream") {
                    s.fromStream++;
                    records = read.records;
                    print(`  ${label}: ${records.length} record(s) read from the stream`);
                } else {
                    let window;
                    try {
                        window = await pendingItemsInWindow(o.dynamodb, o.outboxTableName, info, margin);
                    } catch (error) {
                        print(`  ! ${label}: the stream no longer holds it (${read.why}) and ${(error as Error).message}; left in the queue`);
                        refuse("NoWindow");
                        keep();
                        continue;
                    }
                    s.fromPending++;
                    records = window.records;
                    print(
                        `  ${label}: the stream no longer holds it (${read.why}); ${records.length} ${OUTBOX_STATUS_ATTRIBUTE}=${OUTBOX_STATUS_PENDING} outbox item(s) with event time in ` +
                            `[${window.from.toISOString()}, ${window.to.toISOString()}] stand in for it (approximate: may republish more, misses events committed long after their own time)` +
                            (window.unplaceable.length > 0 ? `; ${window.unplaceable.length} PENDING item(s) without a readable event time left out: ${window.unplaceable.slice(0, 5).join(", ")}` : ""),
                    );
                }
                if (dryRun) {
                    for (const r of records) print(`    would republish ${eventIdOf(r)}`);
                    release.push(message.ReceiptHandle!);
                    continue;
                }
                const { refused, accepted } = await republishRecords(records, o);
                s.republished += accepted;
                if (refused.size > 0) {
                    for (const [seq, r] of refused) {
                        refuse(r.reason);
                        print(`    ✗ ${r.eventId ?? `(record ${seq})`}: not accepted (${r.reason})`);
                    }
                    print(`  ${label}: ${refused.size} event(s) not accepted; the message stays for the next run`);
                    keep();
                    continue;
                }
                const deleted = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: "0", ReceiptHandle: message.ReceiptHandle! }] }));
                if ((deleted.Successful ?? []).length === 1) {
                    s.deleted++;
                } else {
                    s.kept++;
                    print(`  ! ${label}: republished but not deleted (${deleted.Failed?.[0]?.Code ?? "?"}); a later run republishes it again, the consumer drops the duplicates`);
                }
            }
            print(`  progress: ${s.received}/${s.approximateCount ?? "?"} received, ${s.republished} event(s) republished, ${s.deleted} deleted, ${s.kept} kept`);
        }
    } finally {
        // What stays is made visible again now, so the next run (or operator) sees it at once.
        for (let i = 0; i < release.length; i += 10) {
            await sqs.send(
                new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: release.slice(i, i + 10).map((handle, j) => ({ Id: String(j), ReceiptHandle: handle, VisibilityTimeout: 0 })) }),
            );
        }
    }
    print(formatRelaySummary(s));
    return s;
}

export function formatRelaySummary(s: RelayRedriveSummary): string {
    const parts = [`${s.received} received`, `${s.fromStream} from the stream`, `${s.fromPending} from PENDING items`];
    if (!s.dryRun) parts.push(`${s.republished} event(s) republished`, `${s.deleted} deleted`);
    if (s.kept > 0) parts.push(`${s.kept} kept`);
    if (s.unreadable > 0) parts.push(`${s.unreadable} unreadable`);
    const failed = Object.entries(s.failed).map(([k, v]) => `${k} ${v}`);
    if (failed.length > 0) parts.push(`refused: ${failed.join(", ")}`);
    return `${s.dryRun ? "[dry run] " : ""}summary: ${parts.join(", ")}`;
}
