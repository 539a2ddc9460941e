/**
 * The bug classes the reverse fault simulation (Azure → AWS, tools/sim-reverse) claims to rule out,
 * each as one small patch to a copy of the source. Same rule as mutants.ts: the `find` text must
 * occur exactly once in its file, or the suite stops before running anything.
 */
export type ReverseMutantArea = "outbox writer" | "relay" | "store" | "SQS host" | "SQS model" | "EventBridge model" | "Lambda mapping model";

export interface ReverseMutant {
  id: string;
  area: ReverseMutantArea;
  /** The bug class, as a reader of issue 13 would name it. */
  bug: string;
  file: string;
  find: string;
  replace: string;
  /** In the subset CI runs (test/sim/reverse-mutants.test.ts). */
  fast?: boolean;
}

const WRITER = "runtime/postgres-outbox/writer.ts";
const RELAY = "runtime/postgres-outbox/relay.ts";
const STORE = "runtime/dynamodb-idempotency-store.ts";
const HOST = "runtime/sqs-consumer.ts";

export const REVERSE_MUTANTS: readonly ReverseMutant[] = [
  // ── PostgreSQL outbox writer ─────────────────────────────────────────────────────────────
  {
    id: "rev-writer-event-outside-transaction",
    area: "outbox writer",
    bug: "the outbox row is written outside the producer's transaction (autocommit on the pool)",
    file: WRITER,
    find: `          appended = await append(client, prepared);`,
    replace: `          appended = await append(options.pool as unknown as PgQueryable, prepared);`,
  },
  {
    id: "rev-writer-commits-before-business",
    area: "outbox writer",
    bug: "the events are committed before the business writes run (two transactions)",
    file: WRITER,
    find: `          result = await work(client);`,
    replace: `          await client.query("COMMIT");
          await client.query("BEGIN");
          result = await work(client);`,
  },
  {
    id: "rev-writer-retry-writes-twice",
    area: "outbox writer",
    bug: "a retried commit (its reply was lost) runs the business writes again",
    file: WRITER,
    find: `        if (appended.alreadyPresent.length === prepared.length) {
          await rollback();
          return { outcome: "already-committed", eventIds: ids };
        }`,
    replace: `        if (appended.alreadyPresent.length === prepared.length) {
          const again = await work(client);
          await client.query("COMMIT");
          return { outcome: "committed", eventIds: ids, result: again };
        }`,
  },
  // ── relay ────────────────────────────────────────────────────────────────────────────────
  {
    id: "rev-relay-marks-before-acceptance",
    area: "relay",
    bug: "rows marked published right after the claim, before EventBridge accepted them",
    file: RELAY,
    find: `      const ready = steps.prepare(rows, settlement);`,
    replace: `      await steps.settle(token, { published: rows.map((r) => r.eventId), retry: new Map(), park: new Map() });
      const ready = steps.prepare(rows, settlement);`,
    fast: true,
  },
  {
    id: "rev-relay-ignores-failed-entries",
    area: "relay",
    bug: "an entry EventBridge failed is marked published (FailedEntryCount ignored)",
    file: RELAY,
    find: `          if (result !== undefined && !result.ErrorCode && result.EventId) {`,
    replace: `          if (result !== undefined) {`,
  },
  {
    id: "rev-relay-no-skip-locked",
    area: "relay",
    bug: "the claim takes no row locks (no FOR UPDATE SKIP LOCKED): concurrent relays claim the same rows",
    file: RELAY,
    find: `            LIMIT $1
            FOR UPDATE SKIP LOCKED)`,
    replace: `            LIMIT $1)`,
  },
  {
    id: "rev-relay-lease-ignored",
    area: "relay",
    bug: "the claim ignores the lease: rows another relay holds (or that back off) are claimed again",
    file: RELAY,
    find: `WHERE status = '\${PG_OUTBOX_STATUS.pending}' AND available_at <= clock_timestamp()`,
    replace: `WHERE status = '\${PG_OUTBOX_STATUS.pending}'`,
  },
  {
    id: "rev-relay-parks-transient-failure",
    area: "relay",
    bug: "healthy rows parked: a retryable entry failure (InternalFailure, ThrottlingException) parked as poison",
    file: RELAY,
    find: `if (!RETRYABLE_PUT_EVENTS_ENTRY_CODES.includes(code) && code !== "NoResultForEntry") {`,
    replace: `if (RETRYABLE_PUT_EVENTS_ENTRY_CODES.includes(code) || code === "NoResultForEntry") {`,
  },
  {
    id: "rev-relay-parks-after-one-put-back",
    area: "relay",
    bug: "healthy rows parked: RetriesExhausted after the first put-back instead of maxEntryFailures",
    file: RELAY,
    find: `          if (failures >= maxEntryFailures) {`,
    replace: `          if (failures >= 1) {`,
  },
  // ── DynamoDB idempotency store ───────────────────────────────────────────────────────────
  {
    id: "rev-store-claim-takes-live-lease",
    area: "store",
    bug: "broken mutual exclusion: a claim takes over another holder's live lease",
    file: STORE,
    find: `      if (r.leaseUntil > now) return { result: { status: "in-progress", retryAfterMs: r.leaseUntil - now } };`,
    replace: `      // mutant: a live lease held by another token is not respected`,
  },
  {
    id: "rev-store-claim-ignores-done",
    area: "store",
    bug: "dedupe disabled: a claim on a completed event succeeds",
    file: STORE,
    find: `    case "done":
      return { result: { status: "completed" } };`,
    replace: `    case "done":
      return claimed(1);`,
    fast: true,
  },
  {
    id: "rev-store-window-in-seconds",
    area: "store",
    bug: "dedupe window shrunk to nothing: expiresAt written in seconds (the TTL's unit) but compared in ms",
    file: STORE,
    find: `      expiresAt: N(expiresAt),`,
    replace: `      expiresAt: N(Math.ceil(expiresAt / 1000)),`,
  },
  {
    id: "rev-store-lease-never-expires",
    area: "store",
    bug: "a lease without expiry: a crashed holder blocks its event until SQS dead-letters it",
    file: STORE,
    find: `    if (s.state === "held") item.leaseUntil = N(s.leaseUntil);`,
    replace: `    if (s.state === "held") item.leaseUntil = N(s.leaseUntil + 315360000000);`,
  },
  // ── SQS consumer host ────────────────────────────────────────────────────────────────────
  {
    id: "rev-host-deletes-failed-records",
    area: "SQS host",
    bug: "a record the core abandoned is reported as a success, so Lambda deletes it",
    file: HOST,
    find: `(action === "complete" || action === "deadLetter")`,
    replace: `action !== undefined`,
  },
  {
    id: "rev-host-drops-dead-letter-reason",
    area: "SQS host",
    bug: "the dead-letter copy loses its reason (SQS keeps none of its own)",
    file: HOST,
    find: `            [DEAD_LETTER_ATTRIBUTES.reason]: clip(reason),
`,
    replace: ``,
  },
  {
    id: "rev-host-no-poison-dead-letter",
    area: "SQS host",
    bug: "poison is not dead-lettered on first delivery: it is returned until the redrive policy moves it, reason lost",
    file: HOST,
    find: `      deadLetter: async (reason, description) => {
`,
    replace: `      deadLetter: async (reason, description) => {
        void [reason, description];
        action = "abandon";
        return;
`,
  },
  // ── models ───────────────────────────────────────────────────────────────────────────────
  {
    id: "rev-sqs-model-no-visibility-timeout",
    area: "SQS model",
    bug: "a received message stays visible (no visibility timeout): copies run at once and burn receives",
    file: "tools/sim-reverse/sqs-model.ts",
    find: `      m.visibleAt = this.options.receiveLeavesVisible?.(m.messageId, m.receiveCount) ? now : now + this.options.visibilityTimeoutMs;`,
    replace: `      m.visibleAt = now;`,
  },
  {
    id: "rev-eventbridge-model-no-target-retry",
    area: "EventBridge model",
    bug: "healthy events dead-lettered: the SQS target is not retried (MaximumRetryAttempts ignored)",
    file: "tools/sim-reverse/eventbridge-model.ts",
    find: `attempt <= this.options.maximumRetryAttempts + 1;`,
    replace: `attempt <= 1;`,
  },
  {
    id: "rev-mapping-deletes-timed-out-batch",
    area: "Lambda mapping model",
    bug: "the batch of an invocation that timed out or crashed is deleted instead of coming back",
    file: "tools/sim-reverse/simulation.ts",
    find: `      void invocation;
      return;`,
    replace: `      for (const m of records) queue.delete(m.messageId, m.receiptHandle);
      void invocation;
      return;`,
  },
];

/** Applies a mutant to a file's text; throws when the anchor is missing or ambiguous. */
export function applyReverseMutant(text: string, mutant: Pick<ReverseMutant, "id" | "file" | "find" | "replace">): string {
  const first = text.indexOf(mutant.find);
  if (first < 0) throw new Error(`mutant ${mutant.id}: anchor not found in ${mutant.file} (re-anchor it after the refactor)`);
  if (text.indexOf(mutant.find, first + 1) >= 0) throw new Error(`mutant ${mutant.id}: anchor occurs more than once in ${mutant.file}`);
  return text.slice(0, first) + mutant.replace + text.slice(first + mutant.find.length);
}
