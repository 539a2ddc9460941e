/**
 * The PostgreSQL outbox table (Azure → AWS direction): its DDL, its statuses, and the one function
 * that applies it. Shared by the producer library (writer.ts) and the relay (relay.ts), so the
 * columns the relay reads can never drift from what producers write.
 */

/** The status column's values. Only `pending` rows are relayed. */
export const PG_OUTBOX_STATUS = {
  pending: "pending",
  published: "published",
  /** Poison: never sent again by itself; `parked_reason` says why (see the relay's alarm). */
  parked: "parked",
} as const;

export const DEFAULT_PG_OUTBOX_TABLE = "mesh_outbox";

// Lower-case identifiers only, optionally schema-qualified: the name goes into SQL text (DDL cannot
// take it as a parameter), so anything else is refused instead of quoted.
const TABLE_NAME = /^[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?$/;

/** Checks a table name before it is spliced into SQL; the error names the option. */
export function checkOutboxTableName(table: string, option = "table"): string {
  if (typeof table !== "string" || !TABLE_NAME.test(table)) {
    throw new Error(
      `${option} must be a lower-case SQL identifier, optionally schema-qualified (e.g. mesh_outbox or app.mesh_outbox), got ${JSON.stringify(table)}`,
    );
  }
  return table;
}

/**
 * The DDL for one outbox table. Why each column:
 * - `event_id` is the primary key: a retried commit cannot write an event twice, and a reused id
 *   with another body is detected (writer.ts compares `event_text`).
 * - `event_text` keeps the exact JSON text the producer measured, so the bytes sent are the bytes
 *   that were size-checked (as in the DynamoDB outbox).
 * - `available_at` is both the retry backoff and the claim lease: a claim moves it `leaseMs` into
 *   the future, so a relay that crashed after claiming gives its rows back when the lease ends.
 * - `claim_token` fences a relay whose lease ran out: it can no longer reschedule or park a row
 *   another relay has claimed since.
 * - `position` orders the backlog (oldest first); not a delivery order guarantee.
 * - The CHECK keeps `parked_reason` present exactly on parked rows, so a parked row always says why.
 */
export function outboxDdl(table: string = DEFAULT_PG_OUTBOX_TABLE): string {
  const t = checkOutboxTableName(table);
  const index = t.replace(".", "_");
  return `
CREATE TABLE IF NOT EXISTS ${t} (
  event_id       uuid PRIMARY KEY,
  position       bigint GENERATED ALWAYS AS IDENTITY,
  event_text     text NOT NULL,
  status         text NOT NULL DEFAULT '${PG_OUTBOX_STATUS.pending}'
                 CHECK (status IN ('${PG_OUTBOX_STATUS.pending}', '${PG_OUTBOX_STATUS.published}', '${PG_OUTBOX_STATUS.parked}')),
  created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  available_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  claim_token    uuid,
  claims         integer NOT NULL DEFAULT 0,
  entry_failures integer NOT NULL DEFAULT 0,
  last_error     text,
  published_at   timestamptz,
  parked_at      timestamptz,
  parked_reason  text,
  CONSTRAINT ${index}_parked_has_reason CHECK ((status = '${PG_OUTBOX_STATUS.parked}') = (parked_reason IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS ${index}_claimable ON ${t} (available_at, position) WHERE status = '${PG_OUTBOX_STATUS.pending}';
CREATE INDEX IF NOT EXISTS ${index}_parked ON ${t} (parked_at) WHERE status = '${PG_OUTBOX_STATUS.parked}';
CREATE INDEX IF NOT EXISTS ${index}_published ON ${t} (published_at) WHERE status = '${PG_OUTBOX_STATUS.published}';
`;
}

/** The DDL as separate idempotent statements, for callers that run one statement per query. */
export function outboxDdlStatements(table: string = DEFAULT_PG_OUTBOX_TABLE): string[] {
  return outboxDdl(table)
    .split(/;\s*\n/)
    .map((statement) => statement.trim().replace(/;$/, ""))
    .filter((statement) => statement.length > 0);
}

/** The part of a `pg` client the schema and writer use (`pg.Client` and `pg.PoolClient` have it). */
export interface PgQueryable {
  query<R extends Record<string, unknown> = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
}

/**
 * Creates the outbox table and its indexes if missing. Safe to run from several processes at once:
 * `CREATE … IF NOT EXISTS` alone can still collide on the catalog, so the DDL runs under a
 * transaction-scoped advisory lock. Run it from the producers' migrations (it needs CREATE on the
 * schema, which the relay's identity should not have).
 */
export async function ensureOutboxSchema(client: PgQueryable, table: string = DEFAULT_PG_OUTBOX_TABLE): Promise<void> {
  const ddl = outboxDdl(table);
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`multicloud-mesh/outbox-schema/${table}`]);
    await client.query(ddl);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw new Error(`ensureOutboxSchema(${table}) failed: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Deletes up to `limit` rows published more than `olderThanMs` ago (parked and pending rows are
 * never touched). An event id can be written again once its row is gone, so the retention is also
 * how long a retried commit is recognised: keep it well above any producer's retry horizon (the
 * DynamoDB outbox keeps items 7 days). Needs DELETE on the table. Returns the number deleted.
 */
export async function purgePublishedOutboxRows(
  db: PgQueryable,
  options: { table?: string; olderThanMs: number; limit?: number },
): Promise<number> {
  const table = checkOutboxTableName(options.table ?? DEFAULT_PG_OUTBOX_TABLE);
  if (!Number.isInteger(options.olderThanMs) || options.olderThanMs <= 0) throw new Error(`purgePublishedOutboxRows: olderThanMs must be a positive integer, got ${options.olderThanMs}`);
  const result = await db.query(
    `DELETE FROM ${table} WHERE event_id IN (
       SELECT event_id FROM ${table}
        WHERE status = '${PG_OUTBOX_STATUS.published}' AND published_at < clock_timestamp() - make_interval(secs => $1::float8 / 1000)
        LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [options.olderThanMs, options.limit ?? 1000],
  );
  return result.rowCount ?? 0;
}
