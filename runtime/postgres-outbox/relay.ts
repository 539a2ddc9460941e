/**
 * Relay core of the PostgreSQL outbox: claims pending rows, publishes them with PutEvents, and
 * settles each row by what EventBridge answered for its entry.
 *
 * - Claim: one statement, `SELECT … FOR UPDATE SKIP LOCKED` inside an UPDATE that moves the rows'
 *   `available_at` a lease into the future and stamps a fresh `claim_token`. Concurrent relays skip
 *   each other's locked rows, and once the claim commits the rows are not claimable until the lease
 *   ends, so two relays never publish the same claimed row in normal operation. A relay that dies
 *   after claiming gives its rows back when the lease ends (no sweeper needed).
 * - Publish: entries packed to the PutEvents limits (10 entries, 256 KB; runtime/relay.ts's planner).
 * - Settle: a row becomes `published` only after EventBridge returned an EventId for its entry.
 *   Transient entry failures are retried in-process (bounded, with backoff), then the row goes back
 *   with a growing `available_at`; after `maxEntryFailures` it is parked. Poison (invalid event,
 *   too large, non-retryable entry error) is parked at once with its reason, logged as
 *   RELAY_LOG_MESSAGES.parked, and counted in every run summary; the rest keeps flowing.
 * - A whole-request failure (network, credentials, throttled request) puts the request's rows back
 *   with backoff without counting against them, and ends the run early: the outage is the
 *   problem, not the rows. The backlog age in the run summary is what alarms then.
 *
 * The database clock decides leases and backoff (clock_timestamp()), so relays on different hosts
 * agree on when a lease has ended.
 */
import { randomUUID } from "crypto";
import { PutEventsCommand, PutEventsCommandOutput, PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import { parseDomainEvent, toPutEventsEntry, ValidationOptions } from "../event";
import { describeError, Logger } from "../logger";
import { planPutEventsRequests, PutEventsPort } from "../relay";
import { checkAzureOriginSize, SQS_DEFAULT_MAX_MESSAGE_BYTES } from "./limits";
import { checkOutboxTableName, DEFAULT_PG_OUTBOX_TABLE, PG_OUTBOX_STATUS, PgQueryable } from "./schema";

/** Log messages an alert can match (Azure Monitor log search on the Function's traces). */
export const RELAY_LOG_MESSAGES = {
  /** One line per parked row (level ERROR), with eventId and reason. Alert: any occurrence. */
  parked: "Outbox row parked",
  /** One line per run (level INFO, or WARN when not drained), with the counts of RelayRunSummary. */
  run: "Outbox relay run",
  /** A PutEvents request failed as a whole (level ERROR); its rows were put back. */
  requestFailed: "PutEvents request failed; rows put back",
} as const;

/** PutEventsResultEntry.ErrorCode values documented as retryable (EventBridge API reference, PutEventsResultEntry). */
export const RETRYABLE_PUT_EVENTS_ENTRY_CODES: readonly string[] = ["InternalFailure", "ThrottlingException"];

export interface PostgresRelayOptions {
  /** A `pg.Pool` (or client): every statement is a single autocommit statement. */
  db: PgQueryable;
  eventBridge: PutEventsPort;
  eventBusName: string;
  logger: Logger;
  /** Default `mesh_outbox`. */
  table?: string;
  /** Rows per claim. Default 100 (10 PutEvents requests). */
  batchSize?: number;
  /**
   * How long a claim keeps its rows from other relays. Must exceed the time one batch can take
   * (its PutEvents requests with the SDK's own retries and timeouts); a shorter lease lets a second
   * relay publish the same rows again (a duplicate, which the consumer absorbs). Default 120 s.
   */
  leaseMs?: number;
  /** PutEvents requests in flight at once. Default 4. */
  maxConcurrentRequests?: number;
  /** In-process retries of a transiently failed entry before its row is put back. Default 2. */
  entryRetries?: number;
  /** First in-process backoff; doubles with jitter. Default 100 ms. */
  entryRetryBaseDelayMs?: number;
  /** Transient entry failures (across claims) after which a row is parked. Default 8. */
  maxEntryFailures?: number;
  /** Backoff before a put-back row is claimable again: base × 2^(failures-1), capped. Default 1 s … 5 min. */
  retryBackoffBaseMs?: number;
  retryBackoffMaxMs?: number;
  /** See limits.ts. Default 256 KiB. */
  maxDeliveredBytes?: number;
  /** Default: any schema major (the relay is a transport; the consumer decides). */
  validation?: ValidationOptions;
}

export interface RelayBatchSummary {
  claimed: number;
  published: number;
  /** Rows put back for a later claim (transient entry failure or failed request). */
  retried: number;
  parked: number;
  requestFailures: number;
}

export interface RelayRunSummary extends RelayBatchSummary {
  batches: number;
  /** True when the last claim found nothing claimable. */
  drained: boolean;
  /** Why the run stopped: drained, budget (time is up), requestFailure (downstream failing). */
  stoppedBy: "drained" | "budget" | "requestFailure";
  durationMs: number;
  /** After the run: pending rows (claimable or leased or backing off). */
  pendingBacklog: number;
  /** Age of the oldest pending row, seconds (0 when none): the latency alarm's input. */
  oldestPendingAgeSeconds: number;
  /** Parked rows in the table (all time until purged): the poison alarm's input. */
  parkedTotal: number;
}

export interface ClaimedRow {
  eventId: string;
  text: string;
  claims: number;
  entryFailures: number;
  position: string;
}

export interface PostgresOutboxRelay {
  /** Claims up to `batchSize` rows (the lease starts now). Exposed so tests can crash after a claim. */
  claim(): Promise<{ token: string; rows: ClaimedRow[] }>;
  /** One claim → publish → settle cycle. */
  runOnce(): Promise<RelayBatchSummary>;
  /** Repeats `runOnce` until nothing is claimable, a request fails, or `budgetMs` has passed. */
  drain(options: { budgetMs: number }): Promise<RelayRunSummary>;
  /** Backlog figures from the table. */
  stats(): Promise<Pick<RelayRunSummary, "pendingBacklog" | "oldestPendingAgeSeconds" | "parkedTotal">>;
}

interface Ready {
  row: ClaimedRow;
  entry: PutEventsRequestEntry;
  size: number;
}

interface Settlement {
  published: string[];
  /** event id → [delay ms, error, counts as an entry failure] */
  retry: Map<string, { delayMs: number; error: string; countsAsEntryFailure: boolean }>;
  park: Map<string, string>;
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new Error(`createPostgresOutboxRelay: ${name} must be a positive integer, got ${value}`);
  return value;
}

export function createPostgresOutboxRelay(options: PostgresRelayOptions): PostgresOutboxRelay {
  const table = checkOutboxTableName(options.table ?? DEFAULT_PG_OUTBOX_TABLE, "createPostgresOutboxRelay: table");
  if (!options.eventBusName) throw new Error("createPostgresOutboxRelay: eventBusName is required");
  const batchSize = positiveInt("batchSize", options.batchSize ?? 100);
  const leaseMs = positiveInt("leaseMs", options.leaseMs ?? 120_000);
  const concurrency = positiveInt("maxConcurrentRequests", options.maxConcurrentRequests ?? 4);
  const entryRetries = options.entryRetries ?? 2;
  if (!Number.isInteger(entryRetries) || entryRetries < 0) throw new Error(`createPostgresOutboxRelay: entryRetries must be an integer ≥ 0, got ${entryRetries}`);
  const baseDelayMs = options.entryRetryBaseDelayMs ?? 100;
  const maxEntryFailures = positiveInt("maxEntryFailures", options.maxEntryFailures ?? 8);
  const backoffBase = positiveInt("retryBackoffBaseMs", options.retryBackoffBaseMs ?? 1_000);
  const backoffMax = positiveInt("retryBackoffMaxMs", options.retryBackoffMaxMs ?? 300_000);
  const maxDelivered = positiveInt("maxDeliveredBytes", options.maxDeliveredBytes ?? SQS_DEFAULT_MAX_MESSAGE_BYTES);
  const validation = options.validation ?? { supportedSchemaMajors: "any" };
  const log = options.logger;
  const db = options.db;

  const backoff = (failures: number): number => {
    const delay = Math.min(backoffMax, backoffBase * 2 ** Math.max(0, failures - 1));
    return delay / 2 + Math.random() * (delay / 2);
  };

  // One object holds the steps, so the relay packages cleanly as a Pulumi closure (its serializer
  // mishandles inner functions that refer to each other; runtime/README.md).
  const steps = {
    async claim(): Promise<{ token: string; rows: ClaimedRow[] }> {
      const token = randomUUID();
      const result = await db.query<{ event_id: string; event_text: string; claims: number; entry_failures: number; position: string }>(
        `WITH claimable AS (
           SELECT event_id FROM ${table}
            WHERE status = '${PG_OUTBOX_STATUS.pending}' AND available_at <= clock_timestamp()
            ORDER BY available_at, position
            LIMIT $1
            FOR UPDATE SKIP LOCKED)
         UPDATE ${table} AS o
            SET available_at = clock_timestamp() + make_interval(secs => $2::float8 / 1000),
                claim_token = $3, claims = o.claims + 1
           FROM claimable WHERE o.event_id = claimable.event_id
         RETURNING o.event_id, o.event_text, o.claims, o.entry_failures, o.position`,
        [batchSize, leaseMs, token],
      );
      const rows = result.rows
        .map((r) => ({ eventId: r.event_id, text: r.event_text, claims: r.claims, entryFailures: r.entry_failures, position: String(r.position) }))
        .sort((a, b) => (BigInt(a.position) < BigInt(b.position) ? -1 : 1));
      return { token, rows };
    },

    /** Validates claimed rows; poison goes straight to `park`. */
    prepare(rows: ClaimedRow[], settlement: Settlement): Ready[] {
      const ready: Ready[] = [];
      for (const row of rows) {
        const parsed = parseDomainEvent(row.text, validation);
        if (!parsed.ok) {
          settlement.park.set(row.eventId, `${parsed.error.fault}: ${parsed.error.field} ${parsed.error.detail}`);
          continue;
        }
        const event = parsed.value;
        if (event.metadata.event_id !== row.eventId) {
          settlement.park.set(row.eventId, `KeyMismatch: row key ${row.eventId} differs from metadata.event_id ${event.metadata.event_id}`);
          continue;
        }
        const size = checkAzureOriginSize(event, row.text, maxDelivered);
        if (!size.ok) {
          settlement.park.set(row.eventId, `${size.error.fault}: ${size.error.detail}`);
          continue;
        }
        ready.push({ row, entry: toPutEventsEntry(event, options.eventBusName, row.text), size: size.value });
      }
      return ready;
    },

    /** Sends one planned request, retrying transiently failed entries in-process. */
    async send(batch: Ready[], settlement: Settlement, counters: { requestFailures: number }): Promise<void> {
      let remaining = batch;
      for (let attempt = 0; ; attempt++) {
        let response: PutEventsCommandOutput;
        try {
          response = await options.eventBridge.send(new PutEventsCommand({ Entries: remaining.map((r) => r.entry) }));
        } catch (error) {
          counters.requestFailures++;
          const reason = `RequestFailed: ${describeError(error).name ?? "Error"}: ${describeError(error).message}`;
          for (const r of remaining) settlement.retry.set(r.row.eventId, { delayMs: backoff(r.row.entryFailures + 1), error: reason, countsAsEntryFailure: false });
          log.error(RELAY_LOG_MESSAGES.requestFailed, { error: describeError(error), eventIds: remaining.map((r) => r.row.eventId) });
          return;
        }
        const results = response.Entries ?? [];
        const again: Ready[] = [];
        remaining.forEach((r, i) => {
          const result = results[i];
          if (result !== undefined && !result.ErrorCode && result.EventId) {
            settlement.published.push(r.row.eventId);
            return;
          }
          const code = result?.ErrorCode ?? "NoResultForEntry";
          const why = `${code}: ${result?.ErrorMessage ?? "no result for this entry"}`;
          if (!RETRYABLE_PUT_EVENTS_ENTRY_CODES.includes(code) && code !== "NoResultForEntry") {
            settlement.park.set(r.row.eventId, `PutEventsEntryRejected: ${why}`);
            return;
          }
          if (attempt < entryRetries) {
            again.push(r);
            return;
          }
          const failures = r.row.entryFailures + 1;
          if (failures >= maxEntryFailures) {
            settlement.park.set(r.row.eventId, `RetriesExhausted: ${failures} transient failures, last ${why}`);
          } else {
            settlement.retry.set(r.row.eventId, { delayMs: backoff(failures), error: why, countsAsEntryFailure: true });
          }
        });
        if (again.length === 0) return;
        remaining = again;
        const delay = baseDelayMs * 2 ** attempt;
        await new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * (delay / 2)));
      }
    },

    async settle(token: string, settlement: Settlement): Promise<void> {
      if (settlement.published.length > 0) {
        // Not fenced by the claim token: EventBridge accepted the entry, which stays true even if
        // this relay's lease ran out meanwhile; marking it spares a needless second publication.
        await db.query(
          `UPDATE ${table} SET status = '${PG_OUTBOX_STATUS.published}', published_at = clock_timestamp(), claim_token = NULL, last_error = NULL
            WHERE event_id = ANY($1::uuid[]) AND status = '${PG_OUTBOX_STATUS.pending}'`,
          [settlement.published],
        );
      }
      if (settlement.retry.size > 0) {
        const ids = [...settlement.retry.keys()];
        const values = ids.map((id) => settlement.retry.get(id)!);
        await db.query(
          `UPDATE ${table} AS o
              SET available_at = clock_timestamp() + make_interval(secs => u.delay_ms / 1000), last_error = u.error,
                  entry_failures = o.entry_failures + u.counts, claim_token = NULL
             FROM unnest($1::uuid[], $2::float8[], $3::text[], $4::int[]) AS u(event_id, delay_ms, error, counts)
            WHERE o.event_id = u.event_id AND o.claim_token = $5 AND o.status = '${PG_OUTBOX_STATUS.pending}'`,
          [ids, values.map((v) => v.delayMs), values.map((v) => v.error.slice(0, 2000)), values.map((v) => (v.countsAsEntryFailure ? 1 : 0)), token],
        );
      }
      if (settlement.park.size > 0) {
        const ids = [...settlement.park.keys()];
        const parkedRows = await db.query<{ event_id: string }>(
          `UPDATE ${table} AS o
              SET status = '${PG_OUTBOX_STATUS.parked}', parked_reason = u.reason, parked_at = clock_timestamp(), claim_token = NULL
             FROM unnest($1::uuid[], $2::text[]) AS u(event_id, reason)
            WHERE o.event_id = u.event_id AND o.claim_token = $3 AND o.status = '${PG_OUTBOX_STATUS.pending}'
           RETURNING o.event_id`,
          [ids, ids.map((id) => settlement.park.get(id)!.slice(0, 2000)), token],
        );
        for (const { event_id } of parkedRows.rows) {
          log.error(RELAY_LOG_MESSAGES.parked, { eventId: event_id, reason: settlement.park.get(event_id), table });
        }
      }
    },

    async runOnce(): Promise<RelayBatchSummary> {
      const { token, rows } = await steps.claim();
      const settlement: Settlement = { published: [], retry: new Map(), park: new Map() };
      const counters = { requestFailures: 0 };
      const ready = steps.prepare(rows, settlement);
      const requests = planPutEventsRequests(ready);
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(concurrency, requests.length) }, async () => {
          while (next < requests.length) await steps.send(requests[next++], settlement, counters);
        }),
      );
      await steps.settle(token, settlement);
      return {
        claimed: rows.length,
        published: settlement.published.length,
        retried: settlement.retry.size,
        parked: settlement.park.size,
        requestFailures: counters.requestFailures,
      };
    },

    async stats() {
      const result = await db.query<{ pending: string; parked: string; oldest: number | null }>(
        `SELECT count(*) FILTER (WHERE status = '${PG_OUTBOX_STATUS.pending}') AS pending,
                count(*) FILTER (WHERE status = '${PG_OUTBOX_STATUS.parked}') AS parked,
                extract(epoch FROM clock_timestamp() - min(created_at) FILTER (WHERE status = '${PG_OUTBOX_STATUS.pending}'))::float8 AS oldest
           FROM ${table}`,
      );
      const row = result.rows[0];
      return { pendingBacklog: Number(row.pending), parkedTotal: Number(row.parked), oldestPendingAgeSeconds: Math.max(0, Math.round(row.oldest ?? 0)) };
    },

    async drain({ budgetMs }: { budgetMs: number }): Promise<RelayRunSummary> {
      positiveInt("budgetMs", budgetMs);
      const started = Date.now();
      const total = { claimed: 0, published: 0, retried: 0, parked: 0, requestFailures: 0, batches: 0 };
      let stoppedBy: RelayRunSummary["stoppedBy"] = "budget";
      while (Date.now() - started < budgetMs) {
        const batch = await steps.runOnce();
        total.batches++;
        total.claimed += batch.claimed;
        total.published += batch.published;
        total.retried += batch.retried;
        total.parked += batch.parked;
        total.requestFailures += batch.requestFailures;
        if (batch.claimed === 0) {
          stoppedBy = "drained";
          break;
        }
        if (batch.requestFailures > 0) {
          stoppedBy = "requestFailure";
          break;
        }
      }
      const summary: RelayRunSummary = { ...total, drained: stoppedBy === "drained", stoppedBy, durationMs: Date.now() - started, ...(await steps.stats()) };
      if (summary.drained) log.info(RELAY_LOG_MESSAGES.run, { ...summary, table });
      else log.warn(RELAY_LOG_MESSAGES.run, { ...summary, table });
      return summary;
    },
  };

  return { claim: steps.claim, runOnce: steps.runOnce, drain: steps.drain, stats: steps.stats };
}
