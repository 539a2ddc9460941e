/**
 * The Azure → AWS direction under seeded faults. REAL: PostgreSQL 15 (outbox and business table,
 * written by the real writer), the real relay core (three relays at once, killed at chosen points),
 * DynamoDB Local behind the real DynamoDB idempotency store, the real consumer core and SQS host.
 * MODELS: EventBridge (eventbridge-model.ts), the SQS queue (sqs-model.ts), and the Lambda event
 * source mapping (the poll loop below). The oracle (oracle.ts) reads the databases and the
 * harness's own measurements.
 */
import { randomBytes } from "crypto";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { Pool } from "pg";
import { createConsumer } from "../../runtime/consumer";
import { createDynamoDbIdempotencyStore, DynamoDbSender, idempotencyTableDefinition } from "../../runtime/dynamodb-idempotency-store";
import type { IdempotencyStore } from "../../runtime/idempotency-store";
import { DomainEvent } from "../../runtime/event";
import type { Logger } from "../../runtime/logger";
import { createPostgresOutboxRelay, createPostgresOutboxWriter, ensureOutboxSchema, PgQueryable } from "../../runtime/postgres-outbox";
import { createSqsBatchHandler } from "../../runtime/sqs-consumer";
import { draw, seededUuid } from "../sim/random";
import { EventBridgeModel } from "./eventbridge-model";
import { emptyMeasurements, FaultCounts, RATES, zeroCounts } from "./faults";
import { DEAD, Life } from "./life";
import { judge, Verdict } from "./oracle";
import { SqsQueueModel } from "./sqs-model";

/** Timings, shortened from production so a run takes seconds (docs/simulation-reverse.md). */
export const TIMING = {
  functionTimeoutMs: 4000,
  /** Production sets 6 × the function timeout; here 1.25 × keeps runs short (still ≥ the timeout, as AWS requires). */
  visibilityTimeoutMs: 5000,
  maxReceiveCount: 5,
  batchSize: 5,
  concurrentInvocations: 3,
  /** Relay instances claiming at once (a Function app scaled out); their claims race for the same rows. */
  relays: 3,
  relayLeaseMs: 1000,
  relayBatchSize: 20,
  targetMaximumRetryAttempts: 2,
} as const;

export interface ReverseSimOptions {
  seed: number;
  events: number;
  pgConfig: { host: string; port: number; user: string; database: string };
  /** A database the harness may create new databases from (the superuser's). */
  adminPool: Pool;
  dynamoDb: DynamoDBClient;
  wallLimitMs?: number;
}

export interface ReverseSimReport {
  seed: number;
  events: number;
  durationMs: number;
  finished: boolean;
  faults: FaultCounts;
  /** Relay runs that threw (not injected: e.g. the database refused a connection); the next run starts over. */
  relayRunFailures: number;
  verdict: Verdict;
  /** DIAGNOSTIC, not judged: each unexplained redriven message's receives, as the consumer host reported them. */
  diagnostics: string[];
}

/**
 * The oracle's witness of the claim rule, in the database itself: a claim (a new claim_token on a
 * pending row) while the row's available_at is still in the future took a row under another
 * relay's live lease, or one backing off. Judged on the database clock at the moment of the
 * write, so no harness timing can excuse or invent it.
 */
const CLAIM_AUDIT_DDL = `
CREATE TABLE claim_audit (event_id uuid NOT NULL, live_until timestamptz NOT NULL, claimed_at timestamptz NOT NULL);
CREATE FUNCTION audit_claim() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.available_at > clock_timestamp() THEN
    INSERT INTO claim_audit VALUES (NEW.event_id, OLD.available_at, clock_timestamp());
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER mesh_outbox_claim_audit BEFORE UPDATE ON mesh_outbox FOR EACH ROW
  WHEN (NEW.claim_token IS NOT NULL AND NEW.claim_token IS DISTINCT FROM OLD.claim_token AND OLD.status = 'pending')
  EXECUTE FUNCTION audit_claim();`;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function silentLogger(): Logger {
  const noop = () => undefined;
  return { debug: noop, info: noop, warn: noop, error: noop };
}

export async function runReverseSimulation(options: ReverseSimOptions): Promise<ReverseSimReport> {
  const { seed } = options;
  const started = Date.now();
  const suffix = `${seed}_${randomBytes(3).toString("hex")}`;
  const dbName = `simrev_${suffix}`;
  await options.adminPool.query(`CREATE DATABASE ${dbName}`);
  const pool = new Pool({ ...options.pgConfig, database: dbName, max: 8 });
  // Killed relays and invocations leave queries behind; the final DROP … WITH (FORCE) ends their sessions.
  pool.on("error", () => undefined);
  const tableName = `simrev-${suffix}`;
  await options.dynamoDb.send(new CreateTableCommand(idempotencyTableDefinition(tableName)));
  const setup = await pool.connect();
  try {
    await ensureOutboxSchema(setup);
    await setup.query("CREATE TABLE orders (order_id text PRIMARY KEY, event_id uuid NOT NULL UNIQUE)");
    // The oracle's ledger: the handler's effect is this conditional upsert keyed by the event id.
    await setup.query("CREATE TABLE effect_ledger (event_id uuid PRIMARY KEY, applied integer NOT NULL)");
    await setup.query(CLAIM_AUDIT_DDL);
  } finally {
    setup.release();
  }

  const faults = zeroCounts();
  const seen = emptyMeasurements();
  const fires = (rate: number, key: string) => draw(seed, key) < rate;
  const counters = new Map<string, number>();
  const bump = (key: string) => {
    const n = (counters.get(key) ?? 0) + 1;
    counters.set(key, n);
    return n;
  };

  const dlq = new SqsQueueModel({ visibilityTimeoutMs: 1, maxReceiveCount: 1_000_000, loseDelete: () => false });
  const queue = new SqsQueueModel({
    visibilityTimeoutMs: TIMING.visibilityTimeoutMs,
    maxReceiveCount: TIMING.maxReceiveCount,
    loseDelete: (id, n) => {
      if (!fires(RATES.sqsDeleteLost, `lose|${id}|${n}`)) return false;
      faults.sqsDeleteLost++;
      // The next receive of this message exists only because of the injected lost delete.
      seen.faultedReceives.add(`${id}|${n}`);
      return true;
    },
    receiveLeavesVisible: (id, n) => {
      if (!fires(RATES.sqsReceivedTwice, `twicerecv|${id}|${n}`)) return false;
      faults.sqsReceivedTwice++;
      // Both receives exist because of the fault: the copy, and the original whose receipt handle it made stale.
      seen.faultedReceives.add(`${id}|${n}`);
      seen.faultedReceives.add(`${id}|${n + 1}`);
      return true;
    },
  });
  const bus = new EventBridgeModel(
    {
      throttleRequest: (id, n) => fires(RATES.putEventsThrottled, `throttle|${id}|${n}`) && ++faults.putEventsThrottled > 0,
      entryFailure: (id, n) => {
        const streak = fires(RATES.entryFailureStreak, `streak|${id}`) ? 3 + Math.floor(draw(seed, `streaklen|${id}`) * 4) : 0;
        if (n > streak && !fires(RATES.entryFails, `entry|${id}|${n}`)) return undefined;
        if (n === 1 && streak > 0) faults.entryFailureStreaks++;
        faults.entryFails++;
        return draw(seed, `entrycode|${id}|${n}`) < 0.5 ? "InternalFailure" : "ThrottlingException";
      },
      targetDeliveryFails: (id, n) => fires(RATES.targetDeliveryFails, `target|${id}|${n}`) && ++faults.targetDeliveryFails > 0,
      deliverTwice: (id) => fires(RATES.targetDeliversTwice, `twice|${id}`) && ++faults.targetDeliversTwice > 0,
    },
    queue,
    { sourcePrefix: "azure.", maximumRetryAttempts: TIMING.targetMaximumRetryAttempts, retryDelayMs: 5 },
  );

  let stop = false;
  let relayRunFailures = 0;
  let producerDone = false;

  // ---- Producer: the REAL writer, business row and event in one transaction.
  const producer = async () => {
    const writer = createPostgresOutboxWriter({ pool, validation: { supportedSchemaMajors: "any" } });
    let next = 0;
    const commits: DomainEvent[][] = [];
    for (let made = 0; made < options.events; ) {
      const size = draw(seed, `size|${commits.length}`) < 0.3 ? 2 : 1;
      commits.push(
        Array.from({ length: Math.min(size, options.events - made) }, (_, j) => {
          const id = seededUuid(seed, `event|${commits.length}|${j}`);
          const poison = draw(seed, `poison|${id}`) < RATES.poison;
          return {
            metadata: { event_id: id, type: "OrderPlaced", source: "azure.shop", timestamp: new Date().toISOString(), schema_version: poison ? "2.0" : "1.0" },
            data: { order: `o-${commits.length}-${j}` },
          };
        }),
      );
      made += commits[commits.length - 1].length;
    }
    const worker = async () => {
      while (next < commits.length) {
        const i = next++;
        const events = commits[i];
        const ids = events.map((e) => e.metadata.event_id);
        const failBusiness = fires(RATES.businessWriteFails, `biz|${i}`);
        try {
          await writer.commit(events, async (client) => {
            for (const e of events) await client.query("INSERT INTO orders (order_id, event_id) VALUES ($1, $2)", [e.data.order, e.metadata.event_id]);
            if (failBusiness) throw new Error("injected: business write failed after its rows were written");
          });
          ids.forEach((id) => seen.committed.add(id));
          for (const e of events.filter((x) => x.metadata.schema_version === "2.0")) {
            seen.poison.add(e.metadata.event_id);
            faults.poison++;
          }
        } catch (error) {
          if (!failBusiness) {
            seen.commitErrors.push(`commit of ${ids.join(",")} refused: ${(error as Error).message}`);
            continue;
          }
          faults.businessWriteFails++;
          ids.forEach((id) => seen.refused.add(id));
          continue;
        }
        if (fires(RATES.commitRetried, `retry|${i}`)) {
          faults.commitRetried++;
          try {
            const again = await writer.commit(events, async () => {
              throw new Error("work must not run on a retry of a landed commit");
            });
            if (again.outcome !== "already-committed") seen.retriedCommitWrongAnswer.push(`${ids.join(",")} (answered ${again.outcome})`);
          } catch (error) {
            seen.retriedCommitWrongAnswer.push(`${ids.join(",")} (threw: ${(error as Error).message})`);
          }
        }
        await sleep(3);
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    // Rows written behind the library's back: not valid events; the relay must park them.
    for (let k = 0; k < 2; k++) {
      const id = seededUuid(seed, `corrupt|${k}`);
      const text = JSON.stringify({ metadata: { event_id: id, type: "OrderPlaced", source: "aws.not-allowed", timestamp: new Date().toISOString(), schema_version: "1" }, data: {} });
      await pool.query("INSERT INTO mesh_outbox (event_id, event_text) VALUES ($1, $2)", [id, text]);
      seen.corrupt.add(id);
      faults.corruptRows++;
    }
    producerDone = true;
  };

  // ---- Relays: the REAL relay core; each incarnation can be killed.
  const relayLoop = async (name: string) => {
    while (!stop) {
      const life = new Life();
      const db: PgQueryable = {
        query: (text, values) =>
          life.gate(async () => {
            const result = await pool.query(text, values);
            // A claim is recognised by what it returns (claimed rows with their text and claim count),
            // not by its SQL, so a relay whose claim statement is broken still gets crashed.
            const first = result.rows[0] as { event_id?: string; event_text?: string; claims?: number } | undefined;
            if (first?.event_id !== undefined && first.event_text !== undefined && first.claims !== undefined) {
              if (fires(RATES.relayCrashAfterClaim, `claimcrash|${first.event_id}|${first.claims}`)) {
                faults.relayCrashAfterClaim++;
                life.kill();
              }
            }
            return result as never;
          }),
      };
      const eventBridge = {
        send: (command: Parameters<EventBridgeModel["send"]>[0]) =>
          life.gate(async () => {
            const output = await bus.send(command);
            const firstId = (JSON.parse(command.input.Entries?.[0]?.Detail ?? "{}") as DomainEvent).metadata?.event_id;
            if (firstId && (output.Entries ?? []).some((e) => e.EventId) && fires(RATES.relayCrashAfterAccept, `acceptcrash|${firstId}|${bump(`send|${firstId}`)}`)) {
              faults.relayCrashAfterAccept++;
              life.kill();
            }
            return output;
          }),
      };
      const relay = createPostgresOutboxRelay({
        db,
        eventBridge,
        eventBusName: "mesh-bus",
        logger: silentLogger(),
        batchSize: TIMING.relayBatchSize,
        leaseMs: TIMING.relayLeaseMs,
        entryRetryBaseDelayMs: 5,
        retryBackoffBaseMs: 50,
        retryBackoffMaxMs: 500,
        maxConcurrentRequests: 2,
      });
      while (!stop && !life.killed) {
        // A relay run that fails (database busy) ends like a Function invocation that threw: the next one starts over.
        const result = await Promise.race([relay.runOnce(), life.dead]).catch(() => "failed" as const);
        if (result === DEAD) break;
        if (result === "failed") {
          relayRunFailures++;
          await sleep(50);
          continue;
        }
        if (result.claimed === 0) await sleep(25);
      }
      void name;
    }
  };

  // ---- The Lambda event source mapping (MODEL) invoking the REAL SQS host + consumer core.
  // DIAGNOSTIC only (the oracle never reads it): what the consumer said about each receive, shown
  // next to a dead letter the oracle could not explain.
  const receiveDiagnostics = new Map<string, string>();
  let inFlight = 0;
  let invocationNo = 0;
  const invoke = async (records: ReturnType<SqsQueueModel["receive"]>) => {
    const start = Date.now();
    const life = new Life(start + TIMING.functionTimeoutMs);
    const invocation = ++invocationNo;
    const effects: string[] = [];
    const pendingEffects: Promise<unknown>[] = [];
    let injectedCrash = false;
    const sender: DynamoDbSender = { send: ((command: never) => life.gate(() => options.dynamoDb.send(command))) as DynamoDbSender["send"] };
    const realStore = createDynamoDbIdempotencyStore(sender, { tableName });
    // Records this invocation itself completed (the answer reached it before it died).
    const completedHere = new Set<string>();
    const store: IdempotencyStore = {
      claim: (id, leaseMs, token) => realStore.claim(id, leaseMs, token),
      release: (id, token) => realStore.release(id, token),
      complete: async (id, token) => {
        const result = await realStore.complete(id, token);
        if (result === "completed") completedHere.add(id);
        return result;
      },
    };
    const consumer = createConsumer({
      store,
      logger: silentLogger(),
      messageLockMs: TIMING.functionTimeoutMs,
      handler: async (event, context) => {
        const id = event.metadata.event_id;
        const key = `${id}|${bump(`run|${id}`)}`;
        if (fires(RATES.handlerThrows, `throw|${key}`)) {
          faults.handlerThrows++;
          seen.faultedReceives.add(`${context.messageId}|${context.deliveryCount}`);
          throw new Error(`injected handler failure for ${id}`);
        }
        if (fires(RATES.consumerCrashBeforeEffect, `crashbefore|${key}`)) {
          faults.consumerCrashBeforeEffect++;
          injectedCrash = true;
          life.kill();
          return new Promise<void>(() => undefined);
        }
        if (fires(RATES.handlerStalls, `stall|${key}`)) {
          faults.handlerStalls++;
          seen.faultedReceives.add(`${context.messageId}|${context.deliveryCount}`);
          await sleep(TIMING.functionTimeoutMs + 100);
        }
        // A dead invocation (killed, or past its timeout) applies nothing more.
        if (life.killed) return new Promise<void>(() => undefined);
        const applied = pool.query(
          "INSERT INTO effect_ledger (event_id, applied) VALUES ($1, 1) ON CONFLICT (event_id) DO UPDATE SET applied = effect_ledger.applied + 1",
          [id],
        );
        pendingEffects.push(applied.then(() => effects.push(id)).catch(() => undefined));
        await life.gate(() => applied);
        if (fires(RATES.consumerCrashAfterEffect, `crashafter|${key}`)) {
          faults.consumerCrashAfterEffect++;
          injectedCrash = true;
          life.kill();
          return new Promise<void>(() => undefined);
        }
      },
    });
    const receiveOf = new Map(records.map((m) => [m.messageId, m.receiveCount]));
    const host = createSqsBatchHandler({
      consumer,
      logger: silentLogger(),
      visibilityTimeoutMs: TIMING.visibilityTimeoutMs,
      returnMarginMs: 200,
      deadLetters: {
        sendToDeadLetterQueue: ({ body, attributes }) =>
          life.gate(async () => {
            dlq.send(body, attributes);
          }),
      },
    }, (r) => receiveDiagnostics.set(`${r.messageId}|${receiveOf.get(r.messageId)}`, `${r.outcome?.kind ?? "threw"}${r.failed ? " (returned)" : ""}`));
    const context = { getRemainingTimeInMillis: () => TIMING.functionTimeoutMs - (Date.now() - start) };
    const event = {
      Records: records.map((m) => ({ messageId: m.messageId, receiptHandle: m.receiptHandle, body: m.body, attributes: { ApproximateReceiveCount: String(m.receiveCount) } })),
    };
    const timeout = sleep(TIMING.functionTimeoutMs).then(() => "timeout" as const);
    let result: Awaited<ReturnType<typeof host>> | typeof DEAD | "timeout" | "error";
    try {
      result = await Promise.race([host(event, context), life.dead, timeout]);
    } catch {
      result = "error";
    }
    if (result === DEAD || result === "timeout" || result === "error") {
      if (result === "timeout" || (result === DEAD && !injectedCrash)) faults.lambdaTimeouts++;
      life.kill();
      // The whole batch comes back after the visibility timeout; every one of its receives failed by a fault.
      for (const m of records) seen.faultedReceives.add(`${m.messageId}|${m.receiveCount}`);
      for (const m of records) receiveDiagnostics.set(`${m.messageId}|${m.receiveCount}`, `invocation ${result === "error" ? "threw" : "died"} after ${Date.now() - start} ms`);
      await Promise.all(pendingEffects);
      // An effect applied here that this invocation never saw completed may be applied again by the
      // redelivery: one excuse per such effect. (Reading the record's state instead would miss the
      // case where another invocation completed it after this one's lease ran out.)
      for (const id of effects) if (!completedHere.has(id)) seen.excusedRepeats.set(id, (seen.excusedRepeats.get(id) ?? 0) + 1);
      void invocation;
      return;
    }
    const failed = new Set(result.batchItemFailures.map((f) => f.itemIdentifier));
    for (const m of records) if (!failed.has(m.messageId)) queue.delete(m.messageId, m.receiptHandle);
  };

  const poller = async () => {
    while (!stop) {
      const records = queue.receive(TIMING.batchSize);
      if (records.length === 0) {
        await sleep(20);
        continue;
      }
      inFlight++;
      try {
        await invoke(records);
      } finally {
        inFlight--;
      }
    }
  };

  const wallLimit = options.wallLimitMs ?? 90_000;
  const loops = [producer(), ...Array.from({ length: TIMING.relays }, (_, i) => relayLoop(`relay-${i + 1}`)), ...Array.from({ length: TIMING.concurrentInvocations }, poller)];
  let finished = false;
  const watcher = (async () => {
    while (Date.now() - started < wallLimit) {
      await sleep(200);
      if (!producerDone || bus.busy || queue.depth > 0 || inFlight > 0) continue;
      const pending = await pool.query<{ n: string }>("SELECT count(*) AS n FROM mesh_outbox WHERE status = 'pending'");
      if (Number(pending.rows[0].n) === 0 && !bus.busy && queue.depth === 0 && inFlight === 0) {
        finished = true;
        break;
      }
    }
    stop = true;
  })();
  await watcher;
  await Promise.race([Promise.all(loops), sleep(3000)]);

  const verdict = await judge({
    pool,
    seen,
    accepted: bus.accepted,
    entryFailures: bus.entryFailures,
    targetFailures: bus.targetFailures,
    targetDeadLetters: bus.targetDeadLetters,
    consumerDeadLetters: dlq.receive(1_000_000).map((m) => ({ messageId: m.messageId, body: m.body, attributes: m.attributes, receiveCount: 0, via: "consumer" as const })),
    redriven: queue.deadLetters,
    maxReceiveCount: TIMING.maxReceiveCount,
    targetAttempts: TIMING.targetMaximumRetryAttempts + 1,
  });
  const diagnostics = queue.deadLetters
    .filter((d) => verdict.unexplainedDeadLetters.some((u) => d.body.includes(u.eventId)))
    .map((d) => `${d.messageId}: ${Array.from({ length: d.receiveCount }, (_, i) => `#${i + 1} ${receiveDiagnostics.get(`${d.messageId}|${i + 1}`) ?? "?"}${seen.faultedReceives.has(`${d.messageId}|${i + 1}`) ? " [fault]" : ""}`).join("; ")}`);
  await pool.end();
  await options.adminPool.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
  return { seed, events: options.events, durationMs: Date.now() - started, finished, faults, relayRunFailures, verdict, diagnostics };
}
