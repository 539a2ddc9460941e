/**
 * One smoke run: connection → dead-letter baselines → one event through the real outbox writer →
 * wait for the consumer's idempotency record to read `done:` → dead-letter queues empty. When the
 * wait times out, the run looks at every place the event could have stopped and names the hop.
 *
 * The oracle is Redis itself (the record the consumer writes only after the handler succeeded),
 * never a report of the consumer's; and the event is the producer's own, written the way a
 * producer writes it.
 */
import { hostname } from "os";
import { randomUUID } from "crypto";
import type { DomainEvent } from "../../runtime/event";
import { createOutboxWriter, OutboxCommitError } from "../../runtime/outbox-writer";
import { recordState } from "../../runtime/idempotency-store";
import type { PeekedMessage, QueueDepth, SmokePorts } from "./ports";
import type { SmokeTargets } from "./targets";

export type Hop = "connection" | "outbox write" | "relay/bus" | "delivery" | "consumer" | "DLQ";

export const SMOKE_EVENT_TYPE = "MeshSmokeTest";

export interface SmokeReport {
    verdict: "PASS" | "FAIL";
    /** The hop that failed (FAIL only). */
    hop?: Hop;
    /** What went wrong and what to look at next (FAIL only). */
    reason?: string;
    eventId?: string;
    /** Outbox commit started → `done:` record seen; resolution: the poll interval. */
    latencyMs?: number;
    /** Notes printed along the way (state found at each step). */
    notes: string[];
}

export interface SmokeOptions {
    print(line: string): void;
    /** One progress line, overwritten in place on a terminal. */
    progress(line: string): void;
    now?: () => number;
    sleep?: (ms: number) => Promise<void>;
    /** Peek this many dead letters at most (default 100). */
    peekMax?: number;
}

const describe = (error: unknown) => ((error as Error)?.name && (error as Error).name !== "Error" ? `${(error as Error).name}: ` : "") + ((error as Error)?.message ?? String(error)).split("\n")[0];
const depthText = (d: QueueDepth) => `${d.visible} visible, ${d.inFlight} in flight`;
const total = (d: QueueDepth) => d.visible + d.inFlight;

export function smokeEvent(source: string, now: Date = new Date()): DomainEvent {
    return {
        metadata: { event_id: randomUUID(), type: SMOKE_EVENT_TYPE, source, timestamp: now.toISOString(), schema_version: "1.0" },
        data: { sentBy: "npm run smoke", host: hostname() },
    };
}

export async function runSmoke(ports: SmokePorts, targets: SmokeTargets, options: SmokeOptions): Promise<SmokeReport> {
    const now = options.now ?? Date.now;
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const peekMax = options.peekMax ?? 100;
    const notes: string[] = [];
    const note = (line: string) => {
        notes.push(line);
        options.print(line);
    };
    const fail = (hop: Hop, reason: string, eventId?: string): SmokeReport => ({ verdict: "FAIL", hop, reason, eventId, notes });

    // 1. The connection first: with it DEAUTHORIZED every event ends in the dead-letter queue, so
    //    writing one would only add a dead letter.
    try {
        const connection = await ports.connection.describe();
        if (connection.state !== "AUTHORIZED") {
            return fail(
                "connection",
                `EventBridge connection ${targets.connectionName} is ${connection.state}${connection.reason ? ` (${connection.reason})` : ""}, not AUTHORIZED; ` +
                    "no event was written. A DEAUTHORIZED OAuth connection usually means the client secret expired or was rotated away: see docs/operations.md (rotation).",
            );
        }
        note(`connection   ${targets.connectionName}: AUTHORIZED`);
    } catch (error) {
        return fail("connection", `cannot describe EventBridge connection ${targets.connectionName}: ${describe(error)}; no event was written`);
    }

    // 2. Baselines, and proof that everything the wait needs can be read, before writing anything.
    let awsBefore: QueueDepth;
    let relayBefore: QueueDepth | undefined;
    let serviceBusBefore: PeekedMessage[];
    try {
        awsBefore = await ports.awsDeadLetters.depth();
        relayBefore = ports.relayFailures ? await ports.relayFailures.depth() : undefined;
    } catch (error) {
        return fail("DLQ", `cannot read the SQS dead-letter / relay-failure queue depth: ${describe(error)}; no event was written`);
    }
    try {
        serviceBusBefore = await ports.serviceBus.peekDeadLetters(peekMax);
    } catch (error) {
        return fail("DLQ", `cannot peek ${targets.queueName}/$DeadLetterQueue: ${describe(error)} (peek needs Azure Service Bus Data Receiver on the queue); no event was written`);
    }
    note(
        `before       SQS dead-letter queue ${depthText(awsBefore)}` +
            (relayBefore ? `; relay failure queue ${depthText(relayBefore)}` : "") +
            `; Service Bus dead-letter queue ${serviceBusBefore.length >= peekMax ? `at least ${peekMax}` : serviceBusBefore.length}`,
    );
    try {
        await ports.idempotency.get(`${targets.keyPrefix}smoke-probe-${randomUUID()}`);
    } catch (error) {
        return fail(
            "consumer",
            `cannot read the consumer's Redis ${targets.redisHost}:${targets.redisPort}: ${describe(error)}. ` +
                "Your Entra object id needs an access policy assignment on the Redis database (docs/smoke.md); no event was written",
        );
    }

    // 3. One event, through the writer producers use.
    const event = smokeEvent(targets.source, new Date(now()));
    const eventId = event.metadata.event_id;
    const key = targets.keyPrefix + eventId;
    const writer = createOutboxWriter({ dynamodb: ports.outbox, outboxTableName: targets.outboxTableName });
    const started = now();
    try {
        await writer.commit([], [event]);
    } catch (error) {
        const detail = error instanceof OutboxCommitError ? error.message : describe(error);
        return fail("outbox write", `writing event ${eventId} to ${targets.outboxTableName} failed: ${detail}`, eventId);
    }
    note(`outbox write ${targets.outboxTableName}: event ${eventId} (source ${targets.source}, type ${SMOKE_EVENT_TYPE})`);

    // 4. Wait for the record. A dead-lettered smoke event ends the wait early.
    let record: string | null = null;
    let claimedAt: number | undefined;
    let lastRedisError: unknown;
    for (let polls = 0; ; polls++) {
        try {
            record = await ports.idempotency.get(key);
            lastRedisError = undefined;
        } catch (error) {
            lastRedisError = error;
        }
        const elapsed = now() - started;
        if (recordState(record) === "held" && claimedAt === undefined) claimedAt = elapsed;
        if (recordState(record) === "done") break;
        options.progress(
            `waiting for the consumer to apply ${eventId}: ${(elapsed / 1000).toFixed(1)} s of ${targets.timeoutMs / 1000} s, ` +
                `record ${record ? recordState(record) : lastRedisError ? `unreadable (${describe(lastRedisError)})` : "absent"}`,
        );
        if (polls % 10 === 9) {
            const deadLettered = await findIn(() => ports.serviceBus.peekDeadLetters(peekMax), eventId);
            if (deadLettered) return fail("consumer", `event ${eventId} was dead-lettered by Service Bus: ${reasonOf(deadLettered)}`, eventId);
        }
        if (elapsed >= targets.timeoutMs) {
            options.progress("");
            return diagnoseTimeout();
        }
        await sleep(targets.pollMs);
    }
    options.progress("");
    const latencyMs = now() - started;
    note(
        `consumer     applied: ${key} = done:… after ${(latencyMs / 1000).toFixed(2)} s` +
            (claimedAt !== undefined ? ` (claimed by ${(claimedAt / 1000).toFixed(2)} s)` : "") +
            `, ±${targets.pollMs} ms polling`,
    );

    // 5. Dead letters: the path works, but anything dead-lettered is an event someone has to redrive.
    const problems: string[] = [];
    try {
        const aws = await ports.awsDeadLetters.depth();
        if (total(aws) > 0) problems.push(`SQS dead-letter queue holds ${depthText(aws)} (npm run redrive -- aws)`);
        if (ports.relayFailures) {
            const relay = await ports.relayFailures.depth();
            if (total(relay) > 0) problems.push(`relay failure queue holds ${depthText(relay)} (records the relay gave up on; see docs/operations.md)`);
        }
        const azure = await ports.serviceBus.peekDeadLetters(peekMax);
        if (azure.length > 0) {
            problems.push(
                `${targets.queueName}/$DeadLetterQueue holds ${azure.length >= peekMax ? `at least ${peekMax}` : azure.length} message(s), first: ${reasonOf(azure[0])} (npm run redrive -- azure)`,
            );
        }
    } catch (error) {
        problems.push(`cannot read a dead-letter queue: ${describe(error)}`);
    }
    if (problems.length > 0) {
        return { verdict: "FAIL", hop: "DLQ", reason: `event ${eventId} was applied, but ${problems.join("; ")}`, eventId, latencyMs, notes };
    }
    note("DLQ          SQS dead-letter queue, relay failure queue and Service Bus dead-letter queue are empty");
    return { verdict: "PASS", eventId, latencyMs, notes };

    async function diagnoseTimeout(): Promise<SmokeReport> {
        const waited = `${targets.timeoutMs / 1000} s`;
        const deadLettered = await findIn(() => ports.serviceBus.peekDeadLetters(peekMax), eventId);
        if (deadLettered) return fail("consumer", `event ${eventId} was dead-lettered by Service Bus: ${reasonOf(deadLettered)}`, eventId);
        if (recordState(record) === "held") {
            return fail("consumer", `after ${waited} the consumer has claimed ${eventId} but not completed it (handler running, stuck or crashed mid-event); see the consumer app's logs`, eventId);
        }
        if (lastRedisError) return fail("consumer", `Redis became unreadable while waiting: ${describe(lastRedisError)}`, eventId);
        const waiting = await findIn(() => ports.serviceBus.peekQueue(peekMax), eventId);
        if (waiting) {
            return fail(
                "consumer",
                `event ${eventId} reached Service Bus queue ${targets.queueName} but no consumer took it in ${waited}: is the consumer app running and ` +
                    "are its triggers synced (docs/azure-consumer-hosting.md)?",
                eventId,
            );
        }
        const grew = async (port: SmokePorts["awsDeadLetters"] | undefined, before: QueueDepth | undefined) => {
            if (!port || !before) return undefined;
            try {
                const after = await port.depth();
                return total(after) > total(before) ? after : undefined;
            } catch {
                return undefined;
            }
        };
        const awsAfter = await grew(ports.awsDeadLetters, awsBefore);
        if (awsAfter) {
            return fail(
                "delivery",
                `event ${eventId} did not reach the consumer in ${waited} and the SQS dead-letter queue grew to ${depthText(awsAfter)}: ` +
                    "EventBridge gave up delivering to Service Bus (the message attributes ERROR_CODE / ERROR_MESSAGE say why; npm run redrive -- aws --dry-run prints them)",
                eventId,
            );
        }
        const relayAfter = await grew(ports.relayFailures, relayBefore);
        if (relayAfter) {
            return fail("relay/bus", `the relay failure queue grew to ${depthText(relayAfter)} while waiting: the relay gave up on outbox records; see the relay function's logs`, eventId);
        }
        try {
            const connection = await ports.connection.describe();
            if (connection.state !== "AUTHORIZED") {
                return fail("connection", `EventBridge connection ${targets.connectionName} became ${connection.state}${connection.reason ? ` (${connection.reason})` : ""} while waiting`, eventId);
            }
        } catch {
            /* the earlier check passed; say what we know below */
        }
        return fail(
            "relay/bus",
            `event ${eventId} is in the outbox but reached neither Service Bus nor a dead-letter queue in ${waited}: the relay (stream trigger, ` +
                "PutEvents permission), the bus rule (does it match source " + targets.source + "?) or the API destination (still retrying?) holds it. " +
                "Look at the relay function's logs and the rule's Invocations / FailedInvocations metrics; a longer --timeout tells a slow retry from a dead hop",
            eventId,
        );
    }
}

async function findIn(peek: () => Promise<PeekedMessage[]>, eventId: string): Promise<PeekedMessage | undefined> {
    try {
        return (await peek()).find((m) => m.eventId === eventId);
    } catch {
        return undefined;
    }
}

function reasonOf(m: PeekedMessage): string {
    return `${m.deadLetterReason ?? "no reason"}${m.deadLetterErrorDescription ? `: ${m.deadLetterErrorDescription}` : ""} (message ${m.messageId ?? "?"})`;
}
