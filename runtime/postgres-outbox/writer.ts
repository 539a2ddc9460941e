/**
 * Producer side of the PostgreSQL outbox (Azure → AWS): the caller's business writes and one
 * outbox row per event commit in ONE PostgreSQL transaction, so an event exists if and only if its
 * state change does. Mirrors runtime/outbox-writer.ts (same envelope, validation and size checks).
 *
 * API: `commit(events, work)`. The writer opens the transaction, inserts the outbox rows FIRST,
 * then calls `work(client)` with the transaction's client for the business writes, then commits.
 * Why a callback owning the transaction rather than "call us inside your transaction": retry
 * safety needs the writer to see the outcome before the business writes run. When a commit's reply
 * was lost (connection dropped during COMMIT) the caller retries the same commit; its event ids are
 * then already in the outbox with the same bodies, so the writer rolls back WITHOUT running `work`
 * and answers `already-committed`: nothing is written twice, business rows included. A caller that
 * must use its own transaction (an ORM's) can call `appendToTransaction(client, events)` and act on
 * its answer (`alreadyPresent`) itself.
 */
import type { PoolClient } from "pg";
import { DomainEvent, EventValidationError, validateDomainEvent, ValidationOptions } from "../event";
import { checkAzureOriginSize, SQS_DEFAULT_MAX_MESSAGE_BYTES } from "./limits";
import { checkOutboxTableName, DEFAULT_PG_OUTBOX_TABLE, PgQueryable } from "./schema";

/** What the writer needs from a `pg.Pool`: a client for one transaction. */
export interface PgPoolLike {
  connect(): Promise<PoolClient>;
}

export interface PostgresOutboxWriterOptions {
  pool: PgPoolLike;
  /** Outbox table (created by `ensureOutboxSchema`). Default `mesh_outbox`. */
  table?: string;
  validation?: ValidationOptions;
  /** Largest delivered SQS message accepted (see limits.ts). Default 256 KiB. */
  maxDeliveredBytes?: number;
}

export type PgCommitResult<T> =
  | { outcome: "committed"; eventIds: string[]; result: T }
  /** A previous attempt of this commit landed: nothing was written now and `work` did not run. */
  | { outcome: "already-committed"; eventIds: string[] };

export type PgOutboxErrorCode =
  // Refused before touching the database:
  | "NoEvents"
  | "InvalidEvent"
  | "EventTooLarge"
  | "DuplicateEventInCommit"
  // Refused by what the database holds or says:
  | "EventIdReused"
  | "PartiallyWritten"
  | "BusinessWriteFailed"
  | "TransactionConflict"
  | "CommitOutcomeUnknown"
  | "DatabaseError";

export class PgOutboxCommitError extends Error {
  override readonly name = "PgOutboxCommitError";
  constructor(
    readonly code: PgOutboxErrorCode,
    message: string,
    readonly eventIds: readonly string[],
    /** True when calling commit again with the same arguments may succeed (and stays safe). */
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    // Set again: the closure serializer turns `super(…)` into `Error.call(this, …)` (see event.ts).
    this.message = message;
  }
}

export interface AppendResult {
  inserted: string[];
  /** Event ids that were already in the outbox with the same body (a retry of a landed commit). */
  alreadyPresent: string[];
}

export interface PostgresOutboxWriter {
  commit<T>(events: readonly DomainEvent[], work: (client: PoolClient) => Promise<T>): Promise<PgCommitResult<T>>;
  /**
   * For callers inside their own transaction: validates and inserts the rows on `client`. Throws
   * `EventIdReused` if an id is present with another body. The caller must roll back (or skip its
   * business writes) when `alreadyPresent` is not empty: that commit happened before.
   */
  appendToTransaction(client: PgQueryable, events: readonly DomainEvent[]): Promise<AppendResult>;
}

// SQLSTATEs: 40001 serialization_failure, 40P01 deadlock_detected (PostgreSQL docs, Appendix A).
const CONFLICT_STATES: readonly string[] = ["40001", "40P01"];
// Class 08 (connection exception), 57P01..03 (admin/crash shutdown, cannot connect now).
const CONNECTION_STATES: readonly string[] = ["57P01", "57P02", "57P03"];
const CONNECTION_CODES: readonly string[] = ["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT"];

function isConnectionFailure(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== "string") return /Connection terminated|connection.*(closed|ended)/i.test(String((error as Error)?.message));
  return code.startsWith("08") || CONNECTION_STATES.includes(code) || CONNECTION_CODES.includes(code);
}

interface PreparedEvent {
  id: string;
  text: string;
}

export function createPostgresOutboxWriter(options: PostgresOutboxWriterOptions): PostgresOutboxWriter {
  const table = checkOutboxTableName(options.table ?? DEFAULT_PG_OUTBOX_TABLE, "createPostgresOutboxWriter: table");
  const maxDelivered = options.maxDeliveredBytes ?? SQS_DEFAULT_MAX_MESSAGE_BYTES;
  if (!Number.isInteger(maxDelivered) || maxDelivered <= 0) {
    throw new Error(`createPostgresOutboxWriter: maxDeliveredBytes must be a positive integer, got ${maxDelivered}`);
  }

  const prepare = (events: readonly DomainEvent[]): PreparedEvent[] => {
    const ids = events.map((e) => (typeof e?.metadata?.event_id === "string" ? e.metadata.event_id : "?"));
    const refuse = (code: PgOutboxErrorCode, message: string): never => {
      throw new PgOutboxCommitError(code, `${message} Nothing was written.`, ids, false);
    };
    if (!Array.isArray(events) || events.length === 0) refuse("NoEvents", "commit() needs at least one event.");
    const seen: string[] = [];
    return events.map((event) => {
      const valid = validateDomainEvent(event, options.validation);
      if (!valid.ok) refuse("InvalidEvent", (valid as { error: EventValidationError }).error.message + ".");
      const id = event.metadata.event_id;
      if (seen.includes(id)) refuse("DuplicateEventInCommit", `event ${id} appears twice in one commit.`);
      seen.push(id);
      const text = JSON.stringify(event);
      const size = checkAzureOriginSize(event, text, maxDelivered);
      if (!size.ok) refuse("EventTooLarge", (size as { error: EventValidationError }).error.message + ".");
      return { id, text };
    });
  };

  const append = async (client: PgQueryable, prepared: PreparedEvent[]): Promise<AppendResult> => {
    const ids = prepared.map((p) => p.id);
    // ON CONFLICT DO NOTHING waits for a concurrent insert of the same id to commit or roll back,
    // so the comparison below always sees the winner's row.
    const insert = await client.query<{ event_id: string }>(
      `INSERT INTO ${table} (event_id, event_text) SELECT * FROM unnest($1::uuid[], $2::text[]) ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
      [ids, prepared.map((p) => p.text)],
    );
    const inserted = insert.rows.map((r) => r.event_id);
    const missing = prepared.filter((p) => !inserted.includes(p.id));
    if (missing.length === 0) return { inserted, alreadyPresent: [] };
    const existing = await client.query<{ event_id: string; event_text: string }>(
      `SELECT event_id, event_text FROM ${table} WHERE event_id = ANY($1::uuid[])`,
      [missing.map((p) => p.id)],
    );
    const reused = missing.filter((p) => existing.rows.find((r) => r.event_id === p.id)?.event_text !== p.text);
    if (reused.length > 0) {
      const which = reused.map((p) => p.id);
      throw new PgOutboxCommitError(
        "EventIdReused",
        `event id${which.length > 1 ? "s" : ""} ${which.join(", ")} already in the outbox with a different body: an event id was reused ` +
          "for another event. Nothing was written; give the new event a new id.",
        ids,
        false,
      );
    }
    return { inserted, alreadyPresent: missing.map((p) => p.id) };
  };

  return {
    async appendToTransaction(client, events) {
      return append(client, prepare(events));
    },

    async commit<T>(events: readonly DomainEvent[], work: (client: PoolClient) => Promise<T>): Promise<PgCommitResult<T>> {
      if (typeof work !== "function") throw new Error("commit(events, work): work must be a function receiving the transaction's client");
      const prepared = prepare(events);
      const ids = prepared.map((p) => p.id);
      const list = ids.join(", ");
      let client: PoolClient;
      try {
        client = await options.pool.connect();
      } catch (error) {
        throw new PgOutboxCommitError("DatabaseError", `could not connect to write events ${list}: ${(error as Error).message}. Nothing was written.`, ids, true, { cause: error });
      }
      let broken = false;
      const rollback = async () => {
        await client.query("ROLLBACK").catch(() => {
          broken = true;
        });
      };
      try {
        await client.query("BEGIN");
        let appended: AppendResult;
        try {
          appended = await append(client, prepared);
        } catch (error) {
          await rollback();
          if (error instanceof PgOutboxCommitError) throw error;
          throw translate(error, "writing the outbox rows", ids);
        }
        if (appended.alreadyPresent.length === prepared.length) {
          await rollback();
          return { outcome: "already-committed", eventIds: ids };
        }
        if (appended.alreadyPresent.length > 0) {
          await rollback();
          throw new PgOutboxCommitError(
            "PartiallyWritten",
            `events ${appended.alreadyPresent.join(", ")} are already in the outbox but ${appended.inserted.join(", ")} are not: ` +
              "this is not a retry of one earlier commit (its events would all be there). Nothing was written.",
            ids,
            false,
          );
        }
        let result: T;
        try {
          result = await work(client);
        } catch (error) {
          await rollback();
          const translated = translate(error, "the business writes", ids);
          throw new PgOutboxCommitError(
            // Before COMMIT nothing is in doubt: a lost connection here rolled the transaction back.
            translated.code === "TransactionConflict" ? "TransactionConflict" : "BusinessWriteFailed",
            `business writes failed, transaction rolled back: events ${list} were not recorded (${(error as Error)?.message ?? String(error)}).`,
            ids,
            translated.retryable,
            { cause: error },
          );
        }
        try {
          await client.query("COMMIT");
        } catch (error) {
          broken = true;
          throw translate(error, "COMMIT", ids);
        }
        return { outcome: "committed", eventIds: ids, result };
      } finally {
        // A client whose transaction state is unknown must not go back to the pool.
        client.release(broken ? true : undefined);
      }
    },
  };
}

function translate(error: unknown, step: string, ids: string[]): PgOutboxCommitError {
  const code = (error as { code?: unknown })?.code;
  const text = (error as Error)?.message ?? String(error);
  const list = ids.join(", ");
  if (typeof code === "string" && CONFLICT_STATES.includes(code)) {
    return new PgOutboxCommitError("TransactionConflict", `${step} for events ${list} hit a ${code} conflict and was rolled back: ${text}. Retry the commit.`, ids, true, { cause: error });
  }
  if (isConnectionFailure(error)) {
    return new PgOutboxCommitError(
      "CommitOutcomeUnknown",
      `connection lost during ${step} for events ${list} (${text}); the transaction may or may not have committed. ` +
        "Retry the same commit: if it landed, the retry answers already-committed and writes nothing.",
      ids,
      true,
      { cause: error },
    );
  }
  return new PgOutboxCommitError("DatabaseError", `${step} for events ${list} failed: ${text}`, ids, false, { cause: error });
}
