/**
 * What a relay on-failure record names, and where its records can still be found.
 *
 * Lambda's on-failure record for a stream source carries no record, only where the discarded batch
 * was (Lambda Developer Guide, "Retaining discarded records for a DynamoDB event source": the
 * `DDBStreamBatchInfo` object with `shardId`, `startSequenceNumber`, `endSequenceNumber`,
 * `approximateArrivalOfFirstRecord`, `approximateArrivalOfLastRecord`, `batchSize`, `streamArn`).
 * The records are read back from the stream while it still holds them (DynamoDB Streams keeps
 * records 24 hours: DynamoDB Developer Guide, "Change data capture for DynamoDB Streams"); after
 * that, only the outbox items still PENDING in the table can stand in for them.
 */
import { ScanCommand, ScanCommandOutput, AttributeValue } from "@aws-sdk/client-dynamodb";
import { GetRecordsCommand, GetRecordsCommandOutput, GetShardIteratorCommand, GetShardIteratorCommandOutput } from "@aws-sdk/client-dynamodb-streams";
import { compareSequenceNumbers, DynamoDBStreamRecord, StreamAttributeValue } from "../../runtime/relay";
import { OUTBOX_EVENT_ATTRIBUTE, OUTBOX_KEY_ATTRIBUTE, OUTBOX_STATUS_ATTRIBUTE, OUTBOX_STATUS_PENDING } from "../../runtime/outbox-schema";
import { toLambdaRecord } from "../local-servers/dynamodb-streams";

/** DynamoDB Streams' documented retention. */
export const STREAM_RETENTION_MS = 24 * 3600_000;

export interface StreamBatchInfo {
    shardId: string;
    startSequenceNumber: string;
    endSequenceNumber: string;
    approximateArrivalOfFirstRecord?: string;
    approximateArrivalOfLastRecord?: string;
    batchSize?: number;
    streamArn: string;
}

/** The table name inside a stream ARN (`arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>`). */
export function tableOfStreamArn(arn: string): string | undefined {
    return /^arn:[a-z-]+:dynamodb:[^:]*:[^:]*:table\/([^/]+)\/stream\/.+$/.exec(arn)?.[1];
}

/** Parses an on-failure record; the error names the field that is wrong. */
export function parseOnFailureRecord(body: string | undefined): { ok: true; info: StreamBatchInfo } | { ok: false; reason: string } {
    let value: unknown;
    try {
        value = JSON.parse(body ?? "");
    } catch {
        return { ok: false, reason: "the body is not JSON" };
    }
    const info = (value as { DDBStreamBatchInfo?: unknown } | null)?.DDBStreamBatchInfo;
    if (info === null || typeof info !== "object" || Array.isArray(info)) return { ok: false, reason: "DDBStreamBatchInfo is missing (not a Lambda on-failure record of a DynamoDB stream)" };
    const i = info as Record<string, unknown>;
    for (const field of ["shardId", "startSequenceNumber", "endSequenceNumber", "streamArn"]) {
        if (typeof i[field] !== "string" || i[field] === "") return { ok: false, reason: `DDBStreamBatchInfo.${field} is missing or not a string` };
    }
    for (const field of ["startSequenceNumber", "endSequenceNumber"]) {
        if (!/^\d+$/.test(i[field] as string)) return { ok: false, reason: `DDBStreamBatchInfo.${field} is not a sequence number: ${JSON.stringify(i[field])}` };
    }
    if (compareSequenceNumbers(i.startSequenceNumber as string, i.endSequenceNumber as string) > 0) {
        return { ok: false, reason: "DDBStreamBatchInfo.startSequenceNumber is after endSequenceNumber" };
    }
    if (!tableOfStreamArn(i.streamArn as string)) return { ok: false, reason: `DDBStreamBatchInfo.streamArn is not a DynamoDB stream ARN: ${JSON.stringify(i.streamArn)}` };
    for (const field of ["approximateArrivalOfFirstRecord", "approximateArrivalOfLastRecord"]) {
        if (i[field] !== undefined && (typeof i[field] !== "string" || Number.isNaN(Date.parse(i[field] as string)))) {
            return { ok: false, reason: `DDBStreamBatchInfo.${field} is not a date: ${JSON.stringify(i[field])}` };
        }
    }
    return { ok: true, info: i as unknown as StreamBatchInfo };
}

export interface StreamsPort {
    send(command: GetShardIteratorCommand): Promise<GetShardIteratorCommandOutput>;
    send(command: GetRecordsCommand): Promise<GetRecordsCommandOutput>;
}

export interface ScanPort {
    send(command: ScanCommand): Promise<ScanCommandOutput>;
}

export type RangeRead = { kind: "stream"; records: DynamoDBStreamRecord[] } | { kind: "unavailable"; why: string };

/** Errors that mean the stream no longer holds the range (trimmed, or the shard/stream is gone). */
const GONE = ["TrimmedDataAccessException", "ResourceNotFoundException", "ExpiredIteratorException"];

/**
 * Reads [start, end] of one shard: GetShardIterator AT_SEQUENCE_NUMBER start, then GetRecords until
 * a record past `end` or the end of the shard. The range is whole or not at all: a first record that
 * is not `start` means the head was trimmed.
 */
export async function readRangeFromStream(streams: StreamsPort, info: StreamBatchInfo, maxEmptyPages = 20): Promise<RangeRead> {
    let iterator: string | undefined;
    try {
        const answer = await streams.send(
            new GetShardIteratorCommand({ StreamArn: info.streamArn, ShardId: info.shardId, ShardIteratorType: "AT_SEQUENCE_NUMBER", SequenceNumber: info.startSequenceNumber }),
        );
        iterator = answer.ShardIterator;
    } catch (error) {
        if (GONE.includes((error as Error).name)) return { kind: "unavailable", why: `${(error as Error).name}: ${(error as Error).message}` };
        throw error;
    }
    const records: DynamoDBStreamRecord[] = [];
    let empty = 0;
    while (iterator) {
        let page: GetRecordsCommandOutput;
        try {
            page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
        } catch (error) {
            if (GONE.includes((error as Error).name)) return { kind: "unavailable", why: `${(error as Error).name}: ${(error as Error).message}` };
            throw error;
        }
        const batch = page.Records ?? [];
        for (const r of batch) {
            const seq = r.dynamodb?.SequenceNumber ?? "";
            if (records.length === 0 && seq !== info.startSequenceNumber) {
                return { kind: "unavailable", why: `the shard no longer starts the range at ${info.startSequenceNumber} (first record ${seq || "?"}: trimmed)` };
            }
            if (compareSequenceNumbers(seq, info.endSequenceNumber) > 0) return { kind: "stream", records };
            records.push(toLambdaRecord(r, info.streamArn));
            if (seq === info.endSequenceNumber) return { kind: "stream", records };
        }
        // An open shard can answer empty pages before later records; a closed one ends the iterator.
        if (batch.length === 0 && ++empty > maxEmptyPages) break;
        iterator = page.NextShardIterator;
    }
    if (records.length === 0) return { kind: "unavailable", why: "the shard returned no record of the range" };
    return { kind: "unavailable", why: `the shard ended at ${records[records.length - 1].dynamodb?.SequenceNumber} before ${info.endSequenceNumber}` };
}

/** An outbox item as the stream record Lambda would have delivered for its INSERT. */
function itemAsRecord(item: Record<string, AttributeValue>, ordinal: number, streamArn: string): DynamoDBStreamRecord {
    const image: Record<string, StreamAttributeValue> = {};
    for (const [name, value] of Object.entries(item)) {
        // The outbox writes strings and numbers only (runtime/outbox-writer.ts outboxItem).
        if (value.S !== undefined) image[name] = { S: value.S };
        else if (value.N !== undefined) image[name] = { N: value.N };
    }
    return {
        eventID: `pending-item-${ordinal}`,
        eventName: "INSERT",
        eventSource: "aws:dynamodb",
        eventSourceARN: streamArn,
        // Not a stream sequence number: the relay needs one per record to report a failure by.
        dynamodb: { Keys: { [OUTBOX_KEY_ATTRIBUTE]: image[OUTBOX_KEY_ATTRIBUTE] }, NewImage: image, SequenceNumber: String(ordinal), StreamViewType: "NEW_IMAGE" },
    };
}

export interface PendingWindow {
    records: DynamoDBStreamRecord[];
    from: Date;
    to: Date;
    /** PENDING items whose event time could not be read; they are not republished. */
    unplaceable: string[];
}

/**
 * Outbox items still PENDING whose event time falls in the range's arrival window widened by
 * `marginMs` before it. Approximate by construction: items carry no sequence number, so the
 * window also holds events of other shards and events that were delivered (republished again:
 * duplicates the consumer drops), and an event committed more than `marginMs` after its own
 * timestamp is missed.
 */
export async function pendingItemsInWindow(dynamodb: ScanPort, table: string, info: StreamBatchInfo, marginMs: number): Promise<PendingWindow> {
    if (!info.approximateArrivalOfFirstRecord || !info.approximateArrivalOfLastRecord) {
        throw new Error("DDBStreamBatchInfo has no approximateArrivalOfFirstRecord/LastRecord: no window to select PENDING items by");
    }
    const from = new Date(Date.parse(info.approximateArrivalOfFirstRecord) - marginMs);
    // Stream records' creation times are rounded down (DynamoDB Local: to the minute), so the window
    // closes a minute after the last arrival.
    const to = new Date(Date.parse(info.approximateArrivalOfLastRecord) + 60_000);
    const records: DynamoDBStreamRecord[] = [];
    const unplaceable: string[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
        const page = await dynamodb.send(
            new ScanCommand({
                TableName: table,
                FilterExpression: "#s = :pending",
                ExpressionAttributeNames: { "#s": OUTBOX_STATUS_ATTRIBUTE },
                ExpressionAttributeValues: { ":pending": { S: OUTBOX_STATUS_PENDING } },
                ExclusiveStartKey: start,
            }),
        );
        for (const item of page.Items ?? []) {
            const id = item[OUTBOX_KEY_ATTRIBUTE]?.S ?? "?";
            let at = Number.NaN;
            try {
                at = Date.parse((JSON.parse(item[OUTBOX_EVENT_ATTRIBUTE]?.S ?? "") as { metadata?: { timestamp?: string } }).metadata?.timestamp ?? "");
            } catch {
                // counted below
            }
            if (Number.isNaN(at)) unplaceable.push(id);
            else if (at >= from.getTime() && at <= to.getTime()) records.push(itemAsRecord(item, records.length + 1, info.streamArn));
        }
        start = page.LastEvaluatedKey;
    } while (start);
    return { records, from, to, unplaceable };
}
