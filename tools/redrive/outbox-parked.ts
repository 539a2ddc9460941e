/**
 * The PostgreSQL outbox's parked rows (Azure → AWS direction; runtime/postgres-outbox): list them
 * with their reasons, and return chosen ones to `pending` so the relay sends them again.
 *
 * Why a reason can be refused. `parked_reason` starts with a class (relay.ts):
 * - a body fault (runtime/event.ts EventFault: NotJson, InvalidField, UnsupportedSchemaVersion,
 *   EntryTooLarge, …) or `KeyMismatch`: decided by the row's own text, which this tool never
 *   changes; the relay would park it again on its next claim. Refused unless the operator names
 *   the class (`allowReasons`), e.g. after deploying a relay with other limits.
 * - `PutEventsEntryRejected` (a non-retryable entry error, e.g. access denied or a bus that did not
 *   exist) and `RetriesExhausted` (transient failures `maxEntryFailures` times): the cause was
 *   outside the row; once it is fixed the row can go.
 *
 * All chosen rows change in ONE transaction, or none: they are locked (`FOR UPDATE`), checked, and
 * updated together; a row that is not parked (any more), a requested id that does not exist, or a
 * refused reason rolls everything back. The relay claims only `pending` rows, so it never sees a
 * half-done unpark.
 *
 * Audit. The outbox schema (runtime/postgres-outbox/schema.ts) has no audit column. The only free
 * text is `last_error`, which the relay overwrites on the row's next failure and clears when the
 * row is published; the unpark writes there who (`session_user`, the PostgreSQL role the operator
 * logged in as: with Entra authentication, their UPN) and when (the database clock), and what the
 * row was parked for. The same line is printed. A durable trail needs a schema change (an audit
 * table) or the server's own logging (log_statement = mod on Azure Database for PostgreSQL).
 */
import type { PoolClient } from "pg";
import { parseDomainEvent } from "../../runtime/event";
import { checkOutboxTableName, DEFAULT_PG_OUTBOX_TABLE, PG_OUTBOX_STATUS, PgQueryable } from "../../runtime/postgres-outbox/schema";
import { BODY_FAULTS } from "./consumer-dlq";
import type { Print } from "./aws";

/** Classes the relay decides from the row's text alone: unparked unchanged, parked again. */
export const ROW_FAULTS: readonly string[] = [...BODY_FAULTS, "KeyMismatch"];

export interface ParkedRow {
    eventId: string;
    /** The class: the text before the first ':' of parked_reason. */
    reasonClass: string;
    reason: string;
    parkedAt: Date;
    createdAt: Date;
    entryFailures: number;
    /** From the row's text when it parses: type and source. */
    type?: string;
    source?: string;
}

export function reasonClassOf(reason: string): string {
    const i = reason.indexOf(":");
    return (i < 0 ? reason : reason.slice(0, i)).trim();
}

interface Row extends Record<string, unknown> {
    event_id: string;
    parked_reason: string;
    parked_at: Date;
    created_at: Date;
    entry_failures: number;
    event_text: string;
}

function toParked(row: Row): ParkedRow {
    const parsed = parseDomainEvent(row.event_text, { supportedSchemaMajors: "any" });
    return {
        eventId: row.event_id,
        reasonClass: reasonClassOf(row.parked_reason),
        reason: row.parked_reason,
        parkedAt: row.parked_at,
        createdAt: row.created_at,
        entryFailures: row.entry_failures,
        ...(parsed.ok ? { type: parsed.value.metadata.type, source: parsed.value.metadata.source } : {}),
    };
}

export function describeParked(r: ParkedRow): string {
    return `${r.eventId}${r.type ? ` (${r.source} / ${r.type})` : ""}: parked ${r.parkedAt.toISOString()}, ${r.reason}`;
}

export interface ParkedSelection {
    /** Rows by event id. */
    eventIds?: readonly string[];
    /** Rows whose reason class is one of these. */
    reasonClasses?: readonly string[];
}

const COLUMNS = "event_id, parked_reason, parked_at, created_at, entry_failures, event_text";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function whereSelected(selection: ParkedSelection): { sql: string; values: unknown[] } {
    const ids = selection.eventIds ?? [];
    const classes = selection.reasonClasses ?? [];
    for (const id of ids) if (!UUID.test(id)) throw new Error(`--event-id ${JSON.stringify(id)} is not an outbox event id (a lowercase UUID)`);
    if (ids.length === 0 && classes.length === 0) return { sql: "TRUE", values: [] };
    // split_part(reason, ':', 1) is the class the relay wrote before the first colon.
    return { sql: "(event_id = ANY($1::uuid[]) OR trim(split_part(parked_reason, ':', 1)) = ANY($2::text[]))", values: [ids, classes] };
}

/** Parked rows, oldest park first (the `<table>_parked` index), at most `max`. */
export async function listParkedRows(db: PgQueryable, options: { table?: string; selection?: ParkedSelection; max?: number }): Promise<ParkedRow[]> {
    const table = checkOutboxTableName(options.table ?? DEFAULT_PG_OUTBOX_TABLE, "--pg-table");
    const where = whereSelected(options.selection ?? {});
    const limit = `$${where.values.length + 1}`;
    const result = await db.query<Row>(
        `SELECT ${COLUMNS} FROM ${table} WHERE status = '${PG_OUTBOX_STATUS.parked}' AND ${where.sql} ORDER BY parked_at, position LIMIT ${limit}`,
        [...where.values, options.max ?? 1000],
    );
    return result.rows.map(toParked);
}

export interface UnparkOptions {
    /** A client for one transaction (pg.Pool#connect()). */
    client: Pick<PoolClient, "query">;
    table?: string;
    selection: ParkedSelection;
    /** Reason classes of ROW_FAULTS the operator allows back. */
    allowReasons?: readonly string[];
    dryRun: boolean;
    /** At most this many rows (default 1000). More matching rows are left for another run. */
    max?: number;
    print: Print;
}

export interface UnparkSummary {
    matched: ParkedRow[];
    /** Returned to pending (0 on a dry run or when refused). */
    unparked: number;
    /** Why nothing changed, when the run refused. */
    refusedBecause?: string;
    /** The audit line written to last_error. */
    audit?: string;
}

/** Returns the selected parked rows to `pending` in one transaction (see the file's comment). */
export async function unparkOutboxRows(options: UnparkOptions): Promise<UnparkSummary> {
    const { client, selection, dryRun, print } = options;
    const table = checkOutboxTableName(options.table ?? DEFAULT_PG_OUTBOX_TABLE, "--pg-table");
    const ids = selection.eventIds ?? [];
    if (ids.length === 0 && (selection.reasonClasses ?? []).length === 0) {
        throw new Error("choose the rows to unpark: --event-id ID (repeatable) and/or --reason CLASS (e.g. RetriesExhausted)");
    }
    const allowed = new Set(options.allowReasons ?? []);
    const where = whereSelected(selection);
    await client.query("BEGIN");
    try {
        const found = await client.query<Row>(
            `SELECT ${COLUMNS} FROM ${table} WHERE status = '${PG_OUTBOX_STATUS.parked}' AND ${where.sql} ORDER BY parked_at, position LIMIT $3 FOR UPDATE`,
            [...where.values, options.max ?? 1000],
        );
        const matched = found.rows.map(toParked);
        const refuse = async (why: string): Promise<UnparkSummary> => {
            await client.query("ROLLBACK");
            print(`refused, nothing changed: ${why}`);
            return { matched, unparked: 0, refusedBecause: why };
        };
        for (const r of matched) print(`  ${dryRun ? "would unpark" : "unpark"} ${describeParked(r)}`);
        const missing = ids.filter((id) => !matched.some((r) => r.eventId === id));
        if (missing.length > 0) {
            const states = await client.query<{ event_id: string; status: string }>(`SELECT event_id, status FROM ${table} WHERE event_id = ANY($1::uuid[])`, [missing]);
            const stateOf = (id: string) => states.rows.find((s) => s.event_id === id)?.status;
            return await refuse(missing.map((id) => `${id} is ${stateOf(id) ? `${stateOf(id)}, not parked` : "not in the outbox"}`).join("; "));
        }
        const blocked = matched.filter((r) => ROW_FAULTS.includes(r.reasonClass) && !allowed.has(r.reasonClass));
        if (blocked.length > 0) {
            const classes = [...new Set(blocked.map((r) => r.reasonClass))];
            return await refuse(
                `${blocked.map((r) => r.eventId).join(", ")} parked for ${classes.join(", ")}: the relay decides that from the row's own text and would park it again. ` +
                    `Pass --allow-reason ${classes.join(" --allow-reason ")} once the relay accepts such rows`,
            );
        }
        if (matched.length === 0) {
            await client.query("ROLLBACK");
            print("no parked row matches; nothing changed");
            return { matched, unparked: 0 };
        }
        if (dryRun) {
            await client.query("ROLLBACK");
            print(`[dry run] ${matched.length} row(s) would return to pending; nothing changed`);
            return { matched, unparked: 0 };
        }
        // parked_reason must be NULL unless parked (the table's CHECK); entry_failures restarts so a
        // RetriesExhausted row gets the relay's full retry budget again.
        const updated = await client.query<{ event_id: string; audit: string }>(
            `UPDATE ${table}
                SET status = '${PG_OUTBOX_STATUS.pending}', available_at = clock_timestamp(), claim_token = NULL, entry_failures = 0,
                    parked_at = NULL, parked_reason = NULL,
                    last_error = format('unparked by %s at %s; was parked at %s: %s', session_user, to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                        to_char(parked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), parked_reason)
              WHERE event_id = ANY($1::uuid[]) AND status = '${PG_OUTBOX_STATUS.parked}'
          RETURNING event_id, last_error AS audit`,
            [matched.map((r) => r.eventId)],
        );
        if (updated.rows.length !== matched.length) return await refuse(`expected to update ${matched.length} row(s), updated ${updated.rows.length}`);
        await client.query("COMMIT");
        const who = /^unparked by (\S+) at (\S+);/.exec(updated.rows[0].audit);
        const audit = who ? `unparked by ${who[1]} at ${who[2]}` : updated.rows[0].audit;
        print(`summary: ${updated.rows.length} row(s) back to pending (${audit}); the relay sends them on its next run. The consumer drops any it already applied.`);
        return { matched, unparked: updated.rows.length, audit };
    } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
    }
}
