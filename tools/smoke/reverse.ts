/**
 * One Azure → AWS smoke run: dead-letter baselines and read probes → one event committed through the
 * real PostgreSQL outbox writer → wait for the AWS consumer's idempotency record in DynamoDB to read
 * `done` → the consumer's dead-letter queues empty. When the wait ends without `done`, the run looks
 * at every place the event can be (its outbox row, the consumer's DLQ, the rule target's DLQ, the
 * consumer queue, the record) and names the hop.
 *
 * The oracle is the DynamoDB record, which the consumer writes `done` only after the handler
 * succeeded; the outbox row's status is the relay's own bookkeeping and is used only to say where
 * the event stopped, never to pass.
 */
import { randomUUID } from "crypto";
import { createPostgresOutboxWriter, PgOutboxCommitError } from "../../runtime/postgres-outbox/writer";
import { checkOutboxTableName } from "../../runtime/postgres-outbox/schema";
import type { QueueDepth } from "./ports";
import type { DeadLetterQueuePort, DynamoRecord, FoundDeadLetter, ReverseSmokePorts } from "./reverse-ports";
import { smokeEvent, SmokeOptions } from "./run";
import type { ReverseSmokeTargets } from "./targets";

export type ReverseHop = "outbox write" | "relay" | "bus/rule" | "delivery" | "consumer" | "DLQ";

export interface ReverseSmokeReport {
    verdict: "PASS" | "FAIL";
    hop?: ReverseHop;
    reason?: string;
    eventId?: string;
    /** Commit started → `done` seen; resolution: the poll interval. */
    latencyMs?: number;
    notes: string[];
}

interface OutboxRow {
    status: string;
    parked_reason: string | null;
    last_error: string | null;
    claims: number;
}

const describe = (error: unknown) => ((error as Error)?.message ?? String(error)).split("\n")[0];
const total = (d: QueueDepth) => d.visible + d.inFlight;
const depthText = (d: QueueDepth) => `${d.visible} visible, ${d.inFlight} in flight`;
const isDone = (r: DynamoRecord | null, now: number) => r?.state === "done" && (r.expiresAt === undefined || r.expiresAt > now);
const reasonOf = (d: FoundDeadLetter) =>
    `${d.reason ?? "no reason attribute (moved by SQS after maxReceiveCount receives: the handler failed or timed out that often)"}${d.description ? `: ${d.description}` : ""} (message ${d.messageId ?? "?"})`;

export async function runReverseSmoke(ports: ReverseSmokePorts, targets: ReverseSmokeTargets, options: SmokeOptions): Promise<ReverseSmokeReport> {
    const now = options.now ?? Date.now;
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const table = checkOutboxTableName(targets.pgTable, "--pg-table");
    const notes: string[] = [];
    const note = (line: string) => {
        notes.push(line);
        options.print(line);
    };
    const fail = (hop: ReverseHop, reason: string, eventId?: string): ReverseSmokeReport => ({ verdict: "FAIL", hop, reason, eventId, notes });

    // 1. Baselines and read probes, before anything is written.
    let consumerDlqBefore: QueueDepth;
    let targetDlqBefore: QueueDepth;
    try {
        consumerDlqBefore = await ports.consumerDeadLetters.depth();
        targetDlqBefore = await ports.targetDeadLetters.depth();
    } catch (error) {
        return fail("DLQ", `cannot read the consumer's dead-letter queues: ${describe(error)}; no event was written`);
    }
    note(`before       consumer dead-letter queue ${depthText(consumerDlqBefore)}; rule target dead-letter queue ${depthText(targetDlqBefore)}`);
    try {
        await ports.idempotency.get(`${targets.keyPrefix}smoke-probe-${randomUUID()}`);
    } catch (error) {
        return fail("consumer", `cannot read the idempotency table ${targets.idempotencyTableName}: ${describe(error)} (needs dynamodb:GetItem); no event was written`);
    }

    // 2. One event, through the writer producers use, in its own transaction.
    const event = smokeEvent(targets.source, new Date(now()));
    const eventId = event.metadata.event_id;
    const key = targets.keyPrefix + eventId;
    const started = now();
    try {
        await createPostgresOutboxWriter({ pool: ports.outbox, table }).commit([event], async () => undefined);
    } catch (error) {
        const detail = error instanceof PgOutboxCommitError ? `${error.code}: ${error.message}` : describe(error);
        return fail("outbox write", `committing event ${eventId} to ${targets.pgHost}/${targets.pgDatabase} ${table} failed: ${detail}`, eventId);
    }
    note(`outbox write ${targets.pgDatabase} ${table}: event ${eventId} (source ${targets.source}, type MeshSmokeTest)`);

    const rowOf = async (): Promise<OutboxRow | undefined> =>
        (await ports.outbox.query<OutboxRow & Record<string, unknown>>(`SELECT status, parked_reason, last_error, claims FROM ${table} WHERE event_id = $1`, [eventId])).rows[0];

    // 3. Wait for `done`. A parked row or a dead letter ends the wait early.
    let record: DynamoRecord | null = null;
    let lastReadError: unknown;
    for (let polls = 0; ; polls++) {
        try {
            record = await ports.idempotency.get(key);
            lastReadError = undefined;
        } catch (error) {
            lastReadError = error;
        }
        const elapsed = now() - started;
        if (isDone(record, now())) break;
        options.progress(
            `waiting for the AWS consumer to apply ${eventId}: ${(elapsed / 1000).toFixed(1)} s of ${targets.timeoutMs / 1000} s, record ${record ? record.state : lastReadError ? `unreadable (${describe(lastReadError)})` : "absent"}`,
        );
        if (polls % 10 === 9) {
            const early = await parkedOrDeadLettered();
            if (early) return early;
        }
        if (elapsed >= targets.timeoutMs) {
            options.progress("");
            return diagnoseTimeout();
        }
        await sleep(targets.pollMs);
    }
    options.progress("");
    const latencyMs = now() - started;
    note(`consumer     applied: ${targets.idempotencyTableName}[${key}] = done after ${(latencyMs / 1000).toFixed(2)} s, ±${targets.pollMs} ms polling`);

    // 4. Dead letters: the path works, but anything waiting there is an event someone has to redrive.
    const problems: string[] = [];
    try {
        const consumerDlq = await ports.consumerDeadLetters.depth();
        if (total(consumerDlq) > 0) problems.push(`the consumer's dead-letter queue holds ${depthText(consumerDlq)} (npm run redrive -- aws-consumer --dry-run lists them)`);
        const targetDlq = await ports.targetDeadLetters.depth();
        if (total(targetDlq) > 0) problems.push(`the consumer rule target's dead-letter queue holds ${depthText(targetDlq)} (npm run redrive -- aws-consumer-target)`);
    } catch (error) {
        problems.push(`cannot read a dead-letter queue: ${describe(error)}`);
    }
    if (problems.length > 0) return { verdict: "FAIL", hop: "DLQ", reason: `event ${eventId} was applied, but ${problems.join("; ")}`, eventId, latencyMs, notes };
    note("DLQ          consumer and rule-target dead-letter queues are empty");
    return { verdict: "PASS", eventId, latencyMs, notes };

    async function parkedOrDeadLettered(): Promise<ReverseSmokeReport | undefined> {
        const row = await rowOf().catch(() => undefined);
        if (row?.status === "parked") return fail("relay", `the Azure relay parked outbox row ${eventId}: ${row.parked_reason} (npm run redrive -- outbox lists parked rows)`, eventId);
        const dead = await find(ports.consumerDeadLetters);
        if (dead) return fail("consumer", `event ${eventId} is in the consumer's dead-letter queue: ${reasonOf(dead)}`, eventId);
        return undefined;
    }

    async function diagnoseTimeout(): Promise<ReverseSmokeReport> {
        const waited = `${targets.timeoutMs / 1000} s`;
        const early = await parkedOrDeadLettered();
        if (early) return early;
        if (record && record.state === "held") {
            return fail("consumer", `after ${waited} the AWS consumer has claimed ${eventId} but not completed it (handler running, stuck, or the invocation timed out); see the consumer function's logs`, eventId);
        }
        if (lastReadError) return fail("consumer", `the idempotency table became unreadable while waiting: ${describe(lastReadError)}`, eventId);
        let row: OutboxRow | undefined;
        try {
            row = await rowOf();
        } catch (error) {
            return fail("relay", `cannot read outbox row ${eventId} to see whether the relay published it: ${describe(error)}`, eventId);
        }
        if (!row) return fail("relay", `outbox row ${eventId} is gone although the consumer never applied it (purged? another table?)`, eventId);
        if (row.status === "pending") {
            return fail(
                "relay",
                `after ${waited} outbox row ${eventId} is still pending (claims ${row.claims}${row.last_error ? `, last error: ${row.last_error}` : ""}): the Azure relay has not published it. ` +
                    "Is the relay app running (its timer), can it get AWS credentials (AssumeRoleWithWebIdentity; docs/cross-cloud-identity.md), does PutEvents succeed? See the relay app's logs",
                eventId,
            );
        }
        const grew = async (port: DeadLetterQueuePort, before: QueueDepth) => {
            try {
                const after = await port.depth();
                return total(after) > total(before) ? after : undefined;
            } catch {
                return undefined;
            }
        };
        const targetDlq = await grew(ports.targetDeadLetters, targetDlqBefore);
        const inTarget = targetDlq ? await find(ports.targetDeadLetters) : undefined;
        if (inTarget || targetDlq) {
            return fail(
                "delivery",
                `event ${eventId} was published, but EventBridge could not put it into the consumer queue: the rule target's dead-letter queue ` +
                    (inTarget ? `holds it: ${reasonOf(inTarget)}` : `grew to ${depthText(targetDlq!)}`) +
                    " (queue policy, KMS, deleted queue; npm run redrive -- aws-consumer-target --dry-run prints the error)",
                eventId,
            );
        }
        try {
            const queue = await ports.consumerQueue.depth();
            if (total(queue) > 0) {
                return fail(
                    "consumer",
                    `event ${eventId} was published and the consumer queue holds ${depthText(queue)}, but the consumer has not applied it in ${waited}: ` +
                        "is the event source mapping enabled, is the function failing (its errors alarm)?",
                    eventId,
                );
            }
        } catch {
            /* say what we know below */
        }
        return fail(
            "bus/rule",
            `event ${eventId} was published (the relay got EventBridge's EventId) but reached neither the consumer queue nor a dead-letter queue in ${waited}: ` +
                `does the consumer rule's pattern match source ${targets.source} (azureEventSources), is the relay publishing to the same bus? ` +
                "Look at the rule's MatchedEvents / Invocations metrics",
            eventId,
        );
    }

    async function find(port: DeadLetterQueuePort): Promise<FoundDeadLetter | undefined> {
        try {
            return await port.find(eventId);
        } catch {
            return undefined;
        }
    }
}
