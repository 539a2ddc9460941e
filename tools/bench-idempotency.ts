/**
 * Idempotency benchmark: our DynamoDB idempotency store against Powertools for AWS Lambda's
 * DynamoDB persistence layer, side by side, on one DynamoDB Local this script starts.
 *
 *   npm run bench:idempotency     (BENCH_EVENTS=2000 BENCH_IN_FLIGHT=16 BENCH_ROUNDS=3 to change the size)
 *
 * Three sides process the same message stream (30 % duplicates, each arriving after its original)
 * with the same number of messages in flight, each on its own fresh table and its own client of the
 * same configuration, in alternating order over the rounds:
 *  - ours, consumer core: `createConsumer` (envelope parse and validation, claim, handler, fenced
 *    complete) over `createDynamoDbIdempotencyStore`;
 *  - ours, store direct: JSON.parse, claim, handler, complete;
 *  - Powertools: JSON.parse, then `makeIdempotent(handler)` with `DynamoDBPersistenceLayer`, keyed
 *    by the event id (`eventKeyJmesPath`), the same 7-day window, and a registered Lambda context so
 *    it writes its in-progress expiry (its counterpart of our lease).
 * The handler is the same on every side: it counts the effect per event id, which the bench then
 * checks from outside (every event applied exactly once, no duplicate applied). DynamoDB calls are
 * counted at each client's `send`, attributed to the message being handled (AsyncLocalStorage).
 * Figures are from DynamoDB Local (a Java process on this machine): see docs/benchmarks.md for what
 * they can and cannot say about the real service. A script that prints figures, not a timed test.
 */
import { AsyncLocalStorage } from "async_hooks";
import { randomUUID } from "crypto";
import * as fs from "fs";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { IdempotencyAlreadyInProgressError, IdempotencyConfig, makeIdempotent } from "@aws-lambda-powertools/idempotency";
import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import { createConsumer, type ConsumerMessage, type Settlement } from "../runtime/consumer";
import { createDynamoDbIdempotencyStore, idempotencyTableDefinition } from "../runtime/dynamodb-idempotency-store";
import { DEFAULT_DEDUPE_WINDOW_MS } from "../runtime/idempotency-store";
import { silentLogger } from "../runtime/logger";
import { makeStream as makeMessageStream, median, quantile, type StreamMessage } from "./bench/stream";
import { startDynamoDbLocal, type DynamoDbLocal } from "./local-servers/dynamodb-local";

export interface BenchOptions {
    /** Messages per side and round (duplicates included). */
    events: number;
    /** Messages handled concurrently by each side. */
    inFlight: number;
    /** Share of the messages that repeat an earlier event. */
    duplicateShare: number;
    /** Rounds per side; throughput is the median, latencies pool every round. */
    rounds: number;
    seed: number;
    /** Messages each side handles first, unmeasured (JIT, connections, DynamoDB Local's first tables). Default 400. */
    warmupEvents?: number;
}

export const DEFAULT_BENCH_OPTIONS: BenchOptions = { events: 2000, inFlight: 16, duplicateShare: 0.3, rounds: 3, seed: 42 };

/** The lease / in-progress expiry every side gets: the message lock of the consumer, a Lambda's remaining time for Powertools. */
const LEASE_MS = 30_000;

export interface SideResult {
    side: string;
    /** Median over the rounds. */
    eventsPerSecond: number;
    /** Per delivery, every round pooled, ms. */
    p50Ms: number;
    p99Ms: number;
    /** DynamoDB calls sent per message, per first delivery of an event, per duplicate. */
    callsPerMessage: number;
    callsPerNew: number;
    callsPerDuplicate: number;
    /** DynamoDB calls by operation, last round. */
    callsByOperation: Record<string, number>;
    /** CPU per message, ms, median over the rounds: this Node process (the side's client code), and the DynamoDB Local JVM (undefined if unreadable). */
    clientCpuMsPerMessage: number;
    serverCpuMsPerMessage: number | undefined;
    /** Deliveries given back because the event was in progress elsewhere (they come back, as SQS would redeliver). */
    redeliveries: number;
    /** Checked from the handler's effects, every round: events applied exactly once / unique events. */
    appliedOnce: number;
    uniqueEvents: number;
    /** Events applied more than once, or never (must be 0). */
    appliedTwice: number;
    neverApplied: number;
    /** Handler runs in all, every round (must equal uniqueEvents × rounds). */
    effects: number;
}

export interface BenchResult {
    options: BenchOptions;
    sides: SideResult[];
    /** Ours ÷ Powertools, events per second. */
    ratios: { consumerCore: number; storeDirect: number };
}

type Message = StreamMessage;

/** `duplicateShare` of the messages repeat an event seen at least 4 × inFlight messages earlier (retries and replays come late). */
export function makeStream(options: Pick<BenchOptions, "events" | "inFlight" | "duplicateShare" | "seed">): Message[] {
    return makeMessageStream({ ...options, minDuplicateDistance: 4 * options.inFlight, source: "mesh.azure.orders" });
}

interface Tally {
    calls: number;
}
const perMessage = new AsyncLocalStorage<Tally>();

/** A client of DynamoDB Local whose every call is counted, by operation and for the message being handled. */
function countingClient(ddb: DynamoDbLocal): { client: DynamoDBClient; byOperation: Record<string, number> } {
    const client = ddb.client();
    const byOperation: Record<string, number> = {};
    const send = client.send.bind(client) as (command: unknown, ...rest: unknown[]) => Promise<unknown>;
    client.send = ((command: { constructor: { name: string } }, ...rest: unknown[]) => {
        const tally = perMessage.getStore();
        if (tally) tally.calls++;
        const op = command.constructor.name.replace(/Command$/, "");
        byOperation[op] = (byOperation[op] ?? 0) + 1;
        return send(command, ...rest);
    }) as DynamoDBClient["send"];
    return { client, byOperation };
}

/** What one delivery came to: applied and acknowledged, a duplicate acknowledged, or given back to come again. */
type Verdict = "new" | "duplicate" | "again";
type Handle = (message: Message) => Promise<Verdict>;

interface Side {
    name: string;
    /** Fresh table and client; `effect` is the business handler's effect, counted per event id. */
    prepare(ddb: DynamoDbLocal, effect: (eventId: string) => void): Promise<{ handle: Handle; byOperation: Record<string, number>; close(): void }>;
}

async function freshTable(client: DynamoDBClient, input: ConstructorParameters<typeof CreateTableCommand>[0]): Promise<void> {
    await perMessage.exit(() => client.send(new CreateTableCommand(input)));
}

const eventIdOf = (envelope: unknown): string => {
    const id = (envelope as { detail?: { metadata?: { event_id?: unknown } } }).detail?.metadata?.event_id;
    if (typeof id !== "string" || id === "") throw new Error("message without detail.metadata.event_id");
    return id;
};

const OURS_CONSUMER: Side = {
    name: "ours: createConsumer + DynamoDB store",
    async prepare(ddb, effect) {
        const { client, byOperation } = countingClient(ddb);
        const tableName = `ours-${randomUUID()}`;
        await freshTable(client, idempotencyTableDefinition(tableName));
        const consumer = createConsumer({
            store: createDynamoDbIdempotencyStore(client, { tableName }),
            handler: async (event) => effect(event.metadata.event_id),
            logger: silentLogger,
            messageLockMs: LEASE_MS,
            // A delivery whose event is in progress elsewhere is given back at once, as on the Powertools side.
            inProgressMaxWaitMs: 0,
        });
        const settle: Settlement = { complete: async () => {}, abandon: async () => {}, deadLetter: async () => {} };
        const handle: Handle = async (m) => {
            const outcome = await consumer.handle({ body: m.body, messageId: m.eventId, deliveryCount: 1 } as ConsumerMessage, settle);
            if (outcome.kind === "processed") return "new";
            if (outcome.kind === "duplicate") return "duplicate";
            if (outcome.kind === "in-progress-elsewhere") return "again";
            throw new Error(`unexpected consumer outcome ${outcome.kind} for event ${m.eventId}`);
        };
        return { handle, byOperation, close: () => client.destroy() };
    },
};

const OURS_DIRECT: Side = {
    name: "ours: claim + complete",
    async prepare(ddb, effect) {
        const { client, byOperation } = countingClient(ddb);
        const tableName = `direct-${randomUUID()}`;
        await freshTable(client, idempotencyTableDefinition(tableName));
        const store = createDynamoDbIdempotencyStore(client, { tableName });
        const handle: Handle = async (m) => {
            const eventId = eventIdOf(JSON.parse(m.body));
            const claim = await store.claim(eventId, LEASE_MS);
            if (claim.status === "completed") return "duplicate";
            if (claim.status === "in-progress") return "again";
            effect(eventId);
            const done = await store.complete(eventId, claim.token);
            if (done !== "completed") throw new Error(`complete of event ${eventId} answered ${done}`);
            return "new";
        };
        return { handle, byOperation, close: () => client.destroy() };
    },
};

const POWERTOOLS: Side = {
    name: "Powertools 2.35.0: makeIdempotent + DynamoDBPersistenceLayer",
    async prepare(ddb, effect) {
        const { client, byOperation } = countingClient(ddb);
        const tableName = `powertools-${randomUUID()}`;
        // Powertools' documented table: partition key "id" (string), TTL on "expiration".
        await freshTable(client, { TableName: tableName, BillingMode: "PAY_PER_REQUEST", AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }], KeySchema: [{ AttributeName: "id", KeyType: "HASH" }] });
        const config = new IdempotencyConfig({ eventKeyJmesPath: "detail.metadata.event_id", expiresAfterSeconds: DEFAULT_DEDUPE_WINDOW_MS / 1000 });
        // Without a Lambda context Powertools writes no in-progress expiry (a crashed run would block
        // its event for the whole window); with one, the expiry is the invocation's remaining time.
        config.registerLambdaContext({ getRemainingTimeInMillis: () => LEASE_MS } as unknown as Parameters<IdempotencyConfig["registerLambdaContext"]>[0]);
        // Which delivery ran the handler: the wrapper returns the same value for a first run and a duplicate.
        const thisDelivery = new AsyncLocalStorage<{ ran: boolean }>();
        const process = makeIdempotent(
            async (envelope: Record<string, unknown>) => {
                const mark = thisDelivery.getStore();
                if (mark) mark.ran = true;
                effect(eventIdOf(envelope));
            },
            { persistenceStore: new DynamoDBPersistenceLayer({ tableName, awsSdkV3Client: client }), config },
        );
        const handle: Handle = async (m) => {
            const mark = { ran: false };
            try {
                await thisDelivery.run(mark, () => process(JSON.parse(m.body) as Record<string, unknown>));
            } catch (error) {
                if (error instanceof IdempotencyAlreadyInProgressError) return "again";
                throw error;
            }
            return mark.ran ? "new" : "duplicate";
        };
        return { handle, byOperation, close: () => client.destroy() };
    },
};

export const SIDES: Side[] = [OURS_CONSUMER, OURS_DIRECT, POWERTOOLS];

/**
 * CPU time (user + system, ms) the DynamoDB Local JVM listening on `endpoint`'s port has used, read
 * from /proc (Linux); undefined where that is not readable. It tells client time from server time.
 */
function serverCpuMs(endpoint: string): number | undefined {
    const port = new URL(endpoint).port;
    try {
        for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
            let args: string[];
            try {
                args = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
            } catch {
                continue;
            }
            const at = args.indexOf("-port");
            // The JVM itself, not the watchdog shell that started it with the same arguments.
            if (!/(^|\/)java$/.test(args[0]) || !args.some((a) => a.endsWith("DynamoDBLocal.jar")) || at < 0 || args[at + 1] !== port) continue;
            // Fields 14 and 15 of /proc/<pid>/stat are utime and stime in clock ticks (USER_HZ, 100 on Linux).
            const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
            return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
        }
    } catch {
        return undefined;
    }
    return undefined;
}

interface RoundResult {
    seconds: number;
    clientCpuMs: number;
    serverCpuMs: number | undefined;
    latenciesMs: number[];
    calls: { new: number[]; duplicate: number[]; again: number[] };
    byOperation: Record<string, number>;
    redeliveries: number;
    appliedOnce: number;
    appliedTwice: number;
    neverApplied: number;
    uniqueEvents: number;
    effects: number;
}

async function runRound(side: Side, ddb: DynamoDbLocal, stream: Message[], inFlight: number): Promise<RoundResult> {
    const effects = new Map<string, number>();
    const prepared = await side.prepare(ddb, (eventId) => effects.set(eventId, (effects.get(eventId) ?? 0) + 1));
    const queue = [...stream];
    const latenciesMs: number[] = [];
    const calls: RoundResult["calls"] = { new: [], duplicate: [], again: [] };
    let next = 0;
    const cpu0 = process.cpuUsage();
    const server0 = serverCpuMs(ddb.endpoint);
    const started = process.hrtime.bigint();
    try {
        await Promise.all(
            Array.from({ length: inFlight }, async () => {
                while (next < queue.length) {
                    const message = queue[next++];
                    const tally: Tally = { calls: 0 };
                    const t0 = process.hrtime.bigint();
                    const verdict = await perMessage.run(tally, () => prepared.handle(message));
                    latenciesMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
                    calls[verdict].push(tally.calls);
                    // Given back: it comes again later, as the queue would redeliver it.
                    if (verdict === "again") queue.push(message);
                }
            }),
        );
    } finally {
        prepared.close();
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    const server1 = serverCpuMs(ddb.endpoint);
    const unique = new Set(stream.map((m) => m.eventId));
    let appliedOnce = 0;
    let appliedTwice = 0;
    let neverApplied = 0;
    for (const id of unique) {
        const n = effects.get(id) ?? 0;
        if (n === 1) appliedOnce++;
        else if (n === 0) neverApplied++;
        else appliedTwice++;
    }
    return {
        seconds,
        clientCpuMs: (cpu.user + cpu.system) / 1000,
        serverCpuMs: server0 !== undefined && server1 !== undefined ? server1 - server0 : undefined,
        latenciesMs, calls, byOperation: prepared.byOperation, redeliveries: calls.again.length, appliedOnce, appliedTwice, neverApplied, uniqueEvents: unique.size, effects: [...effects.values()].reduce((a, b) => a + b, 0) };
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/** Runs every side on the same stream, `rounds` times in alternating order, against one DynamoDB Local. */
export async function runIdempotencyBench(ddb: DynamoDbLocal, options: BenchOptions = DEFAULT_BENCH_OPTIONS): Promise<BenchResult> {
    const stream = makeStream(options);
    const warm = makeStream({ ...options, events: options.warmupEvents ?? 400, seed: options.seed + 1 });
    if (warm.length > 0) for (const side of SIDES) await runRound(side, ddb, warm, options.inFlight);

    const rounds = new Map<string, RoundResult[]>(SIDES.map((s) => [s.name, []]));
    for (let round = 0; round < options.rounds; round++) {
        const order = round % 2 === 0 ? SIDES : [...SIDES].reverse();
        for (const side of order) rounds.get(side.name)!.push(await runRound(side, ddb, stream, options.inFlight));
    }
    const sides: SideResult[] = SIDES.map((side) => {
        const rs = rounds.get(side.name)!;
        const latencies = rs.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
        const all = rs.flatMap((r) => [...r.calls.new, ...r.calls.duplicate, ...r.calls.again]);
        const last = rs[rs.length - 1];
        return {
            side: side.name,
            eventsPerSecond: median(rs.map((r) => stream.length / r.seconds)),
            p50Ms: quantile(latencies, 0.5),
            p99Ms: quantile(latencies, 0.99),
            callsPerMessage: all.reduce((a, b) => a + b, 0) / (stream.length * rs.length),
            callsPerNew: mean(rs.flatMap((r) => r.calls.new)),
            callsPerDuplicate: mean(rs.flatMap((r) => r.calls.duplicate)),
            callsByOperation: last.byOperation,
            clientCpuMsPerMessage: median(rs.map((r) => r.clientCpuMs / stream.length)),
            serverCpuMsPerMessage: rs.every((r) => r.serverCpuMs !== undefined) ? median(rs.map((r) => r.serverCpuMs! / stream.length)) : undefined,
            redeliveries: rs.reduce((a, r) => a + r.redeliveries, 0),
            appliedOnce: Math.min(...rs.map((r) => r.appliedOnce)),
            uniqueEvents: last.uniqueEvents,
            appliedTwice: rs.reduce((a, r) => a + r.appliedTwice, 0),
            neverApplied: rs.reduce((a, r) => a + r.neverApplied, 0),
            effects: rs.reduce((a, r) => a + r.effects, 0),
        };
    });
    const rate = (name: string) => sides.find((s) => s.side === name)!.eventsPerSecond;
    return { options, sides, ratios: { consumerCore: rate(OURS_CONSUMER.name) / rate(POWERTOOLS.name), storeDirect: rate(OURS_DIRECT.name) / rate(POWERTOOLS.name) } };
}

/** The table the script prints. */
export function formatBench(result: BenchResult): string[] {
    const o = result.options;
    const header = ["side", "events/s", "p50 ms", "p99 ms", "calls/msg", "calls/new", "calls/dup", "client CPU ms/msg", "DDB Local CPU ms/msg", "again", "applied once"];
    const rows = result.sides.map((s) => [
        s.side,
        s.eventsPerSecond.toFixed(0),
        s.p50Ms.toFixed(2),
        s.p99Ms.toFixed(2),
        s.callsPerMessage.toFixed(2),
        s.callsPerNew.toFixed(2),
        s.callsPerDuplicate.toFixed(2),
        s.clientCpuMsPerMessage.toFixed(2),
        s.serverCpuMsPerMessage === undefined ? "n/a" : s.serverCpuMsPerMessage.toFixed(2),
        String(s.redeliveries),
        `${s.appliedOnce}/${s.uniqueEvents}${s.appliedTwice || s.neverApplied ? ` (twice ${s.appliedTwice}, never ${s.neverApplied})` : ""}`,
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
    return [
        `DynamoDB Local, ${o.events} messages per round (${Math.round(o.duplicateShare * 100)} % duplicates), ${o.inFlight} in flight, ${o.rounds} rounds (median events/s; latency per delivery over all rounds)`,
        line(header),
        widths.map((w) => "-".repeat(w)).join("  "),
        ...rows.map(line),
        "",
        ...result.sides.map((s) => `${s.side}: ${Object.entries(s.callsByOperation).map(([op, n]) => `${op} ${n}`).join(", ")} (last round, table creation included)`),
        "",
        `ours ÷ Powertools, events/s: consumer core ${result.ratios.consumerCore.toFixed(2)}×, store direct ${result.ratios.storeDirect.toFixed(2)}× (issue 13 aims for ≥ 1.5×)`,
    ];
}

async function main(): Promise<void> {
    const env = (key: string, fallback: number) => (process.env[key] !== undefined ? Number(process.env[key]) : fallback);
    const options: BenchOptions = {
        events: env("BENCH_EVENTS", DEFAULT_BENCH_OPTIONS.events),
        inFlight: env("BENCH_IN_FLIGHT", DEFAULT_BENCH_OPTIONS.inFlight),
        duplicateShare: env("BENCH_DUPLICATES", DEFAULT_BENCH_OPTIONS.duplicateShare),
        rounds: env("BENCH_ROUNDS", DEFAULT_BENCH_OPTIONS.rounds),
        seed: env("BENCH_SEED", DEFAULT_BENCH_OPTIONS.seed),
    };
    const ddb = await startDynamoDbLocal();
    try {
        const result = await runIdempotencyBench(ddb, options);
        for (const line of formatBench(result)) console.log(line);
        if (result.sides.some((s) => s.appliedTwice > 0 || s.neverApplied > 0)) {
            console.error("an event was applied twice or never: see the table");
            process.exitCode = 1;
        }
    } finally {
        await ddb.stop();
    }
}

if (require.main === module) {
    main().catch((error) => {
        console.error(error);
        process.exit(1);
    });
}
