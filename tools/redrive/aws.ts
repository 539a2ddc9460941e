/**
 * Redrive of the EventBridge target's SQS dead-letter queue: each dead letter is the original
 * EventBridge event; it is put on the bus again, and deleted from the queue only once PutEvents
 * accepted it. Also: replay of a time window from the bus archive (StartReplay).
 */
import {
    ChangeMessageVisibilityBatchCommand,
    DeleteMessageBatchCommand,
    GetQueueAttributesCommand,
    Message,
    ReceiveMessageCommand,
    SQSClient,
} from "@aws-sdk/client-sqs";
import {
    DescribeReplayCommand,
    EventBridgeClient,
    ListRuleNamesByTargetCommand,
    PutEventsCommand,
    PutEventsRequestEntry,
    StartReplayCommand,
} from "@aws-sdk/client-eventbridge";

/** Where progress lines go (stdout in the CLI, an array in tests). */
export type Print = (line: string) => void;

/** An EventBridge event as EventBridge writes it into a target's dead-letter queue. */
export interface EventBridgeEvent {
    version?: string;
    id?: string;
    "detail-type": string;
    source: string;
    account?: string;
    time?: string;
    region?: string;
    resources?: string[];
    detail: unknown;
}

export interface SqsRedriveOptions {
    sqs: SQSClient;
    eventBridge: EventBridgeClient;
    /** URL of the dead-letter queue. */
    queueUrl: string;
    /** Bus the events are put on again (name or ARN). */
    busName: string;
    /** Print what would be redriven; publish nothing, delete nothing. */
    dryRun: boolean;
    /** Stop after this many dead letters (default: all). */
    max?: number;
    /** Seconds a received dead letter stays hidden while it is being redriven (default 120). */
    visibilityTimeoutSeconds?: number;
    print: Print;
}

export interface SqsRedriveSummary {
    /** ApproximateNumberOfMessages when the run started. */
    approximateCount: number | undefined;
    received: number;
    /** Put on the bus again (PutEvents accepted the entry). */
    republished: number;
    /** Republished and deleted from the dead-letter queue. */
    deleted: number;
    /** Republished but not deleted: they will be redriven again by a later run. */
    republishedNotDeleted: number;
    /** Refused by PutEvents, per error code; still in the dead-letter queue. */
    failed: Record<string, number>;
    /** Not an EventBridge event; left in the dead-letter queue for a person to look at. */
    unreadable: number;
    dryRun: boolean;
}

const MAX_ENTRIES_PER_PUT = 10;
const MAX_PUT_BYTES = 256 * 1024;

/** EventBridge's documented size of a PutEvents entry. */
export function putEventsEntrySize(entry: PutEventsRequestEntry): number {
    let size = entry.Time !== undefined ? 14 : 0;
    for (const s of [entry.Source, entry.DetailType, entry.Detail]) if (s !== undefined) size += Buffer.byteLength(s, "utf8");
    for (const r of entry.Resources ?? []) size += Buffer.byteLength(r, "utf8");
    return size;
}

/** Parses a dead letter's body as the original event; a reason when it is not one. */
export function parseDeadLetterEvent(body: string | undefined): { ok: true; event: EventBridgeEvent } | { ok: false; reason: string } {
    let value: unknown;
    try {
        value = JSON.parse(body ?? "");
    } catch {
        return { ok: false, reason: "the body is not JSON" };
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) return { ok: false, reason: "the body is not a JSON object" };
    const event = value as Record<string, unknown>;
    if (typeof event.source !== "string" || event.source === "") return { ok: false, reason: "the event has no source" };
    if (typeof event["detail-type"] !== "string" || event["detail-type"] === "") return { ok: false, reason: "the event has no detail-type" };
    if (event.detail === undefined || event.detail === null || typeof event.detail !== "object") return { ok: false, reason: "the event has no detail object" };
    return { ok: true, event: event as unknown as EventBridgeEvent };
}

/** The PutEvents entry that publishes `event` again on `busName`, as the relay first did. */
export function toRepublishEntry(event: EventBridgeEvent, busName: string): PutEventsRequestEntry {
    const entry: PutEventsRequestEntry = {
        EventBusName: busName,
        Source: event.source,
        DetailType: event["detail-type"],
        Detail: JSON.stringify(event.detail),
    };
    if (event.resources && event.resources.length > 0) entry.Resources = event.resources;
    if (event.time) {
        const time = new Date(event.time);
        if (!Number.isNaN(time.getTime())) entry.Time = time;
    }
    return entry;
}

function attribute(message: Message, name: string): string | undefined {
    return message.MessageAttributes?.[name]?.StringValue;
}

/** The domain event id (the consumer's idempotency key), when the detail carries one. */
function eventIdOf(event: EventBridgeEvent): string | undefined {
    const detail = event.detail as { metadata?: { event_id?: unknown } };
    const id = detail?.metadata?.event_id;
    return typeof id === "string" ? id : undefined;
}

function describe(message: Message, event?: EventBridgeEvent): string {
    const code = attribute(message, "ERROR_CODE") ?? "?";
    const text = attribute(message, "ERROR_MESSAGE") ?? "";
    const retries = attribute(message, "RETRY_ATTEMPTS");
    const id = event ? eventIdOf(event) ?? `EventBridge id ${event.id ?? "?"}` : `SQS message ${message.MessageId}`;
    return `${id}${event ? ` (${event.source} / ${event["detail-type"]})` : ""}: ${code}${text ? ` ${text}` : ""}${retries ? ` after ${retries} retries` : ""}`;
}

/** Chunks entries by EventBridge's limits (10 entries, 256 KB per request). */
function chunk<T extends { entry: PutEventsRequestEntry }>(items: T[]): T[][] {
    const chunks: T[][] = [];
    let current: T[] = [];
    let bytes = 0;
    for (const item of items) {
        const size = putEventsEntrySize(item.entry);
        if (current.length > 0 && (current.length === MAX_ENTRIES_PER_PUT || bytes + size > MAX_PUT_BYTES)) {
            chunks.push(current);
            current = [];
            bytes = 0;
        }
        current.push(item);
        bytes += size;
    }
    if (current.length > 0) chunks.push(current);
    return chunks;
}

/**
 * Redrives the SQS dead-letter queue to the bus. Order per batch: PutEvents, then delete exactly the
 * entries PutEvents accepted. A crash between the two leaves the messages in the queue (they
 * reappear after the visibility timeout) and a later run publishes them again: a duplicate that the
 * consumer's idempotency (keyed by the event id in the detail) absorbs. Nothing is lost.
 *
 * SQS has no peek: a dry run receives the messages (hiding them for the visibility timeout), prints
 * them and makes them visible again at once.
 */
export async function redriveSqsDeadLetters(options: SqsRedriveOptions): Promise<SqsRedriveSummary> {
    const { sqs, eventBridge, queueUrl, busName, dryRun, print } = options;
    const max = options.max ?? Number.POSITIVE_INFINITY;
    const visibility = options.visibilityTimeoutSeconds ?? 120;
    const summary: SqsRedriveSummary = { approximateCount: undefined, received: 0, republished: 0, deleted: 0, republishedNotDeleted: 0, failed: {}, unreadable: 0, dryRun };

    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessages"] }));
    const count = Number(attrs.Attributes?.ApproximateNumberOfMessages);
    summary.approximateCount = Number.isFinite(count) ? count : undefined;
    print(`${dryRun ? "[dry run] " : ""}${queueUrl}: about ${summary.approximateCount ?? "?"} dead letter(s); ${dryRun ? "nothing will be published or deleted" : `republishing to bus ${busName}`}`);
    const total = summary.approximateCount !== undefined ? String(Math.min(summary.approximateCount, max)) : "?";

    const seen = new Set<string>();
    /** Receipt handles of what a dry run received, to make visible again at the end. */
    const hidden: string[] = [];
    try {
        while (summary.received < max) {
            const wanted = Math.min(10, max - summary.received);
            const received = await sqs.send(
                new ReceiveMessageCommand({
                    QueueUrl: queueUrl,
                    MaxNumberOfMessages: wanted,
                    VisibilityTimeout: visibility,
                    WaitTimeSeconds: 1,
                    MessageAttributeNames: ["All"],
                    MessageSystemAttributeNames: ["ApproximateReceiveCount"],
                }),
            );
            // A message seen before in this run reappeared after its visibility timeout: it was
            // already attempted; leave it for the next run rather than loop on it.
            const messages = (received.Messages ?? []).filter((m) => m.MessageId && !seen.has(m.MessageId));
            if (messages.length === 0) break;
            for (const m of messages) seen.add(m.MessageId!);
            summary.received += messages.length;

            const ready: Array<{ message: Message; event: EventBridgeEvent; entry: PutEventsRequestEntry }> = [];
            for (const message of messages) {
                const parsed = parseDeadLetterEvent(message.Body);
                if (!parsed.ok) {
                    summary.unreadable++;
                    print(`  ! ${describe(message)}: not redriven, ${parsed.reason}; left in the queue`);
                    continue;
                }
                print(`  ${dryRun ? "would redrive" : "redrive"} ${describe(message, parsed.event)}`);
                ready.push({ message, event: parsed.event, entry: toRepublishEntry(parsed.event, busName) });
            }
            if (dryRun) {
                hidden.push(...messages.map((m) => m.ReceiptHandle!));
                continue;
            }
            for (const group of chunk(ready)) {
                const put = await eventBridge.send(new PutEventsCommand({ Entries: group.map((g) => g.entry) }));
                const results = put.Entries ?? [];
                const accepted: typeof group = [];
                group.forEach((item, i) => {
                    const result = results[i];
                    if (result && result.EventId && !result.ErrorCode) {
                        accepted.push(item);
                    } else {
                        const code = result?.ErrorCode ?? "NoResult";
                        summary.failed[code] = (summary.failed[code] ?? 0) + 1;
                        print(`  ✗ ${eventIdOf(item.event) ?? item.message.MessageId}: PutEvents refused it (${code}${result?.ErrorMessage ? `: ${result.ErrorMessage}` : ""}); left in the queue`);
                    }
                });
                summary.republished += accepted.length;
                if (accepted.length === 0) continue;
                const deleted = await sqs.send(
                    new DeleteMessageBatchCommand({
                        QueueUrl: queueUrl,
                        Entries: accepted.map((a, i) => ({ Id: String(i), ReceiptHandle: a.message.ReceiptHandle! })),
                    }),
                );
                summary.deleted += deleted.Successful?.length ?? 0;
                for (const failure of deleted.Failed ?? []) {
                    summary.republishedNotDeleted++;
                    const item = accepted[Number(failure.Id)];
                    print(`  ! ${item ? eventIdOf(item.event) ?? item.message.MessageId : failure.Id}: republished but not deleted (${failure.Code}); a later run republishes it again, the consumer drops the duplicate`);
                }
            }
            print(`  progress: ${summary.received}/${total} received, ${summary.republished} republished, ${summary.deleted} deleted`);
        }
    } finally {
        if (dryRun && hidden.length > 0) {
            // Make what the dry run received visible again at once.
            for (let i = 0; i < hidden.length; i += 10) {
                await sqs.send(
                    new ChangeMessageVisibilityBatchCommand({
                        QueueUrl: queueUrl,
                        Entries: hidden.slice(i, i + 10).map((handle, j) => ({ Id: String(j), ReceiptHandle: handle, VisibilityTimeout: 0 })),
                    }),
                );
            }
        }
    }
    print(formatSqsSummary(summary));
    return summary;
}

export function formatSqsSummary(s: SqsRedriveSummary): string {
    const failed = Object.entries(s.failed).map(([code, n]) => `${n} ${code}`).join(", ");
    if (s.dryRun) {
        return `[dry run] ${s.received} dead letter(s) read, ${s.received - s.unreadable} would be republished, ${s.unreadable} unreadable; nothing published or deleted`;
    }
    return (
        `summary: ${s.received} received, ${s.republished} republished, ${s.deleted} deleted` +
        (failed ? `, refused by PutEvents: ${failed} (still in the queue; run again)` : "") +
        (s.republishedNotDeleted ? `, ${s.republishedNotDeleted} republished but not deleted (run again; duplicates are absorbed by the consumer)` : "") +
        (s.unreadable ? `, ${s.unreadable} unreadable (still in the queue)` : "")
    );
}

export interface ReplayOptions {
    eventBridge: EventBridgeClient;
    archiveArn: string;
    /** ARN of the bus the archive belongs to (the replay's destination). */
    busArn: string;
    /** Only this rule receives the replayed events; when undefined it is found from `apiDestinationArn`. */
    ruleArn?: string;
    /** Finds the rule: the one rule on the bus whose target is this API destination. */
    apiDestinationArn?: string;
    from: Date;
    to: Date;
    dryRun: boolean;
    /** Poll DescribeReplay until the replay ends. */
    wait: boolean;
    pollIntervalMs?: number;
    /** Name of the replay (default `mesh-redrive-<from>-<to>`). */
    replayName?: string;
    print: Print;
    now?: () => Date;
}

export interface ReplaySummary {
    replayName: string;
    ruleArn: string;
    replayArn?: string;
    state?: string;
    stateReason?: string;
    dryRun: boolean;
}

/** Parses an ISO 8601 time; throws naming the flag. */
export function parseTime(value: string | undefined, what: string): Date {
    if (!value) throw new Error(`${what} needs an ISO 8601 time, e.g. 2026-11-27T08:00:00Z`);
    const t = new Date(value);
    if (Number.isNaN(t.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(value)) throw new Error(`${what}: ${JSON.stringify(value)} is not an ISO 8601 time (e.g. 2026-11-27T08:00:00Z)`);
    return t;
}

function busNameOfArn(busArn: string): string {
    const match = /^arn:[^:]+:events:[^:]*:[^:]*:event-bus\/(.+)$/.exec(busArn);
    if (!match) throw new Error(`bus ARN ${JSON.stringify(busArn)} is not an EventBridge bus ARN (arn:aws:events:<region>:<account>:event-bus/<name>)`);
    return match[1];
}

/**
 * Replays the archive's events of [from, to) to the bus, to the mesh's rule only (so other rules
 * on the bus do not see them twice). Events that did reach Azure are delivered again; the
 * consumer's idempotency absorbs them.
 */
export async function replayFromArchive(options: ReplayOptions): Promise<ReplaySummary> {
    const { eventBridge, archiveArn, busArn, from, to, dryRun, print } = options;
    const now = (options.now ?? (() => new Date()))();
    if (!(from.getTime() < to.getTime())) throw new Error(`--replay FROM TO: FROM (${from.toISOString()}) must be before TO (${to.toISOString()})`);
    if (to.getTime() > now.getTime()) throw new Error(`--replay FROM TO: TO (${to.toISOString()}) is in the future; EventBridge replays only past events`);
    if (!/^arn:[^:]+:events:[^:]*:[^:]*:archive\/.+$/.test(archiveArn)) throw new Error(`archive ARN ${JSON.stringify(archiveArn)} is not an EventBridge archive ARN`);
    const busName = busNameOfArn(busArn);

    let ruleArn = options.ruleArn;
    if (!ruleArn) {
        if (!options.apiDestinationArn) throw new Error("the replay needs the rule: give --rule-arn, or --api-destination-arn (or an outputs file with apiDestinationArn) to find it");
        const names = await eventBridge.send(new ListRuleNamesByTargetCommand({ TargetArn: options.apiDestinationArn, EventBusName: busName }));
        const rules = names.RuleNames ?? [];
        if (rules.length !== 1) {
            throw new Error(`expected exactly one rule on bus ${busName} targeting ${options.apiDestinationArn}, found ${rules.length}${rules.length ? `: ${rules.join(", ")}` : ""}; give --rule-arn`);
        }
        ruleArn = `${busArn.replace(/:event-bus\/.+$/, "")}:rule/${busName}/${rules[0]}`;
    }
    const stamp = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "");
    const replayName = (options.replayName ?? `mesh-redrive-${stamp(from)}-${stamp(to)}`).slice(0, 64);
    const summary: ReplaySummary = { replayName, ruleArn, dryRun };
    print(`${dryRun ? "[dry run] would replay" : "replaying"} ${from.toISOString()} .. ${to.toISOString()} from ${archiveArn} to ${busArn}, rule ${ruleArn}, as ${replayName}`);
    if (dryRun) return summary;

    const started = await eventBridge.send(
        new StartReplayCommand({
            ReplayName: replayName,
            Description: "multicloud-mesh redrive",
            EventSourceArn: archiveArn,
            EventStartTime: from,
            EventEndTime: to,
            Destination: { Arn: busArn, FilterArns: [ruleArn] },
        }),
    );
    summary.replayArn = started.ReplayArn;
    summary.state = started.State;
    print(`  started ${started.ReplayArn ?? replayName}: ${started.State ?? "?"}`);
    while (options.wait && summary.state && !["COMPLETED", "FAILED", "CANCELLED"].includes(summary.state)) {
        await new Promise((r) => setTimeout(r, options.pollIntervalMs ?? 10_000));
        const described = await eventBridge.send(new DescribeReplayCommand({ ReplayName: replayName }));
        summary.state = described.State;
        summary.stateReason = described.StateReason;
        print(`  ${replayName}: ${described.State}${described.EventLastReplayedTime ? `, replayed up to ${described.EventLastReplayedTime.toISOString()}` : ""}`);
    }
    print(`summary: replay ${replayName} ${summary.state ?? "?"}${summary.stateReason ? ` (${summary.stateReason})` : ""}; replayed events that already reached Azure are absorbed by the consumer's idempotency`);
    return summary;
}
