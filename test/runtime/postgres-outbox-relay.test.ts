import { strict as assert } from "assert";
import { Pool } from "pg";
import { DomainEvent, putEventsEntrySize, toPutEventsEntry } from "../../runtime/event";
import { createPostgresOutboxRelay, PostgresRelayOptions, RELAY_LOG_MESSAGES } from "../../runtime/postgres-outbox/relay";
import { ensureOutboxSchema, outboxDdlStatements, purgePublishedOutboxRows } from "../../runtime/postgres-outbox/schema";
import { createPostgresOutboxWriter } from "../../runtime/postgres-outbox/writer";
import { EntryVerdict, PutEventsEndpoint, ReceivedEntry, startPutEventsEndpoint } from "../../tools/local-servers/put-events-endpoint";
import { PostgresServer, startPostgres } from "../../tools/local-servers/postgres";
import { makeEvent } from "../support/events";
import { memoryLogger } from "../support/memory-logger";

const BUS = "mesh-bus";

/** The relay core against a real PostgreSQL 15 and the local PutEvents endpoint (which enforces 10 entries / 256 KB). */
describe("PostgreSQL outbox relay (real PostgreSQL, local PutEvents endpoint)", function () {
  this.timeout(30_000);
  let server: PostgresServer;
  let pool: Pool;
  let events: PutEventsEndpoint;

  const idOf = (entry: ReceivedEntry): string => (JSON.parse(entry.Detail ?? "{}") as DomainEvent).metadata.event_id;
  const acceptedIds = () => events.accepted.map(idOf);
  const relay = (overrides: Partial<PostgresRelayOptions> = {}) =>
    createPostgresOutboxRelay({ db: pool, eventBridge: events.client(), eventBusName: BUS, logger: memoryLogger(), entryRetryBaseDelayMs: 5, ...overrides });
  const seed = async (list: DomainEvent[]) => {
    await createPostgresOutboxWriter({ pool }).commit(list, async () => undefined);
    return list.map((e) => e.metadata.event_id);
  };
  const rowsOf = async (ids: string[]) =>
    (await pool.query("SELECT event_id, status, parked_reason, entry_failures, last_error, claims FROM mesh_outbox WHERE event_id = ANY($1::uuid[])", [ids])).rows;
  const statusOf = async (ids: string[]) => Object.fromEntries((await rowsOf(ids)).map((r) => [r.event_id, r.status]));

  before(async () => {
    [server, events] = await Promise.all([startPostgres(), startPutEventsEndpoint()]);
    await server.createDatabase("shop");
    pool = new Pool({ ...server.superuserConfig("shop"), max: 8 });
    const client = await pool.connect();
    await ensureOutboxSchema(client);
    client.release();
  });
  after(async () => {
    await pool?.end();
    await Promise.all([server?.stop(), events?.stop()]);
  });
  beforeEach(async () => {
    events.reset();
    await pool.query("TRUNCATE mesh_outbox");
  });

  it("publishes in requests at exactly the API limits, and marks rows published only after EventBridge accepted them", async () => {
    // Two entries of exactly 128 KiB fill one 256 KiB request; a third must go in the next one.
    const padded = () => {
      const event = makeEvent({ data: { blob: "" } });
      const size = putEventsEntrySize(toPutEventsEntry(event, BUS, JSON.stringify(event)));
      event.data.blob = "x".repeat(128 * 1024 - size);
      return event;
    };
    const big = [padded(), padded(), padded()];
    const small = Array.from({ length: 25 }, () => makeEvent());
    const ids = [...(await seed(big)), ...(await seed(small))];
    const summary = await relay({ batchSize: 28 }).drain({ budgetMs: 10_000 });
    assert.equal(summary.published, 28);
    assert.equal(summary.drained, true);
    const sizes = events.requests.map((r) => r.entries.reduce((sum, e) => sum + putEventsEntrySize({ ...e, Time: e.Time === undefined ? undefined : new Date(e.Time * 1000) }), 0));
    const counts = events.requests.map((r) => r.entries.length);
    assert.ok(sizes.includes(256 * 1024), `one request is exactly 256 KiB (sizes ${sizes.join(", ")})`);
    assert.ok(counts.includes(10), `requests with exactly 10 entries (counts ${counts.join(", ")})`);
    assert.ok(counts.every((c) => c <= 10) && sizes.every((s) => s <= 256 * 1024));
    assert.deepEqual(acceptedIds().sort(), [...ids].sort());
    assert.ok(Object.values(await statusOf(ids)).every((s) => s === "published"));
    assert.equal(events.accepted[0].EventBusName, BUS);
  });

  it("retries a throttled entry in-process; puts it back with backoff when that is not enough; parks it after maxEntryFailures", async () => {
    const [quick, stubborn, hopeless, fine] = await seed([makeEvent(), makeEvent(), makeEvent(), makeEvent()]);
    const failures: Record<string, number> = { [quick]: 1, [stubborn]: 3, [hopeless]: 1000 };
    events.setBehaviour(() => ({
      kind: "respond",
      entry: (entry): EntryVerdict => {
        const id = idOf(entry);
        if ((failures[id] ?? 0) > 0) {
          failures[id]--;
          return { ok: false, errorCode: "ThrottlingException", errorMessage: "Rate exceeded" };
        }
        return { ok: true };
      },
    }));
    const r = relay({ entryRetries: 2, maxEntryFailures: 3, retryBackoffBaseMs: 20, retryBackoffMaxMs: 40 });
    const first = await r.runOnce();
    assert.deepEqual({ claimed: first.claimed, published: first.published, retried: first.retried }, { claimed: 4, published: 2, retried: 2 });
    assert.deepEqual(events.requests.map((q) => q.entries.length), [4, 3, 2], "only the failed entries are sent again");
    let rows = Object.fromEntries((await rowsOf([stubborn, hopeless])).map((x) => [x.event_id, x]));
    assert.equal(rows[stubborn].status, "pending");
    assert.equal(rows[stubborn].entry_failures, 1);
    assert.match(rows[stubborn].last_error, /ThrottlingException/);
    await new Promise((resolve) => setTimeout(resolve, 60));
    await r.drain({ budgetMs: 5_000 });
    assert.equal((await statusOf([stubborn]))[stubborn], "published", "the put-back row went out on a later claim");
    for (let i = 0; i < 5 && (await statusOf([hopeless]))[hopeless] === "pending"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 60));
      await r.drain({ budgetMs: 5_000 });
    }
    rows = Object.fromEntries((await rowsOf([hopeless])).map((x) => [x.event_id, x]));
    assert.equal(rows[hopeless].status, "parked");
    assert.match(rows[hopeless].parked_reason, /^RetriesExhausted: 3 transient failures, last ThrottlingException/);
    assert.deepEqual(acceptedIds().filter((id) => id === quick || id === fine).length, 2);
    assert.equal(acceptedIds().length, 3, "quick, fine and stubborn, each once");
  });

  it("parks poison rows with their reason, logs each for the alarm, and keeps the rest flowing", async () => {
    const good = await seed(Array.from({ length: 12 }, () => makeEvent()));
    const rejected = makeEvent();
    await seed([rejected]);
    // Rows the producer library would refuse, written behind its back.
    const raw = async (id: string, text: string) => pool.query("INSERT INTO mesh_outbox (event_id, event_text) VALUES ($1, $2)", [id, text]);
    const notJson = makeEvent().metadata.event_id;
    await raw(notJson, "{not json");
    const invalid = makeEvent({ metadata: { source: "aws.forged" } });
    await raw(invalid.metadata.event_id, JSON.stringify(invalid));
    const other = makeEvent();
    const mismatch = makeEvent().metadata.event_id;
    await raw(mismatch, JSON.stringify(other));
    const huge = makeEvent({ data: { blob: "x".repeat(300 * 1024) } });
    await raw(huge.metadata.event_id, JSON.stringify(huge));
    events.setBehaviour(() => ({
      kind: "respond",
      entry: (entry): EntryVerdict =>
        idOf(entry) === rejected.metadata.event_id ? { ok: false, errorCode: "NotAuthorizedForSourceException", errorMessage: "not authorized for source" } : { ok: true },
    }));
    const logger = memoryLogger();
    const summary = await relay({ logger, batchSize: 7 }).drain({ budgetMs: 10_000 });
    assert.equal(summary.published, 12);
    assert.equal(summary.parked, 5);
    assert.equal(summary.parkedTotal, 5);
    assert.equal(summary.pendingBacklog, 0);
    assert.deepEqual(acceptedIds().sort(), [...good].sort());
    const reasons = Object.fromEntries((await rowsOf([notJson, invalid.metadata.event_id, mismatch, huge.metadata.event_id, rejected.metadata.event_id])).map((r) => [r.event_id, `${r.status} ${r.parked_reason}`]));
    assert.match(reasons[notJson], /^parked NotJson/);
    assert.match(reasons[invalid.metadata.event_id], /^parked InvalidField: metadata.source/);
    assert.match(reasons[mismatch], /^parked KeyMismatch/);
    assert.match(reasons[huge.metadata.event_id], /^parked EntryTooLarge/);
    assert.match(reasons[rejected.metadata.event_id], /^parked PutEventsEntryRejected: NotAuthorizedForSourceException/);
    const parkedLines = logger.at("error").filter((l) => l.message === RELAY_LOG_MESSAGES.parked);
    assert.deepEqual(parkedLines.map((l) => l.attributes.eventId).sort(), Object.keys(reasons).sort());
    const run = logger.lines.find((l) => l.message === RELAY_LOG_MESSAGES.run)!;
    assert.equal(run.attributes.parked, 5);
    assert.equal(run.attributes.parkedTotal, 5);
  });

  it("two relays draining at once never publish the same row", async () => {
    const ids = await seed(Array.from({ length: 240 }, () => makeEvent()));
    events.setLatencyMs(15);
    const poolB = new Pool({ ...server.superuserConfig("shop"), max: 4 });
    try {
      const a = relay({ batchSize: 20 });
      const b = createPostgresOutboxRelay({ db: poolB, eventBridge: events.client(), eventBusName: BUS, logger: memoryLogger(), batchSize: 20 });
      const [sa, sb] = await Promise.all([a.drain({ budgetMs: 20_000 }), b.drain({ budgetMs: 20_000 })]);
      assert.ok(sa.published > 0 && sb.published > 0, `both relays worked (${sa.published} + ${sb.published})`);
      assert.equal(sa.published + sb.published, 240);
      const published = acceptedIds();
      assert.equal(published.length, 240, "no entry sent twice");
      assert.equal(new Set(published).size, 240);
      assert.deepEqual([...published].sort(), [...ids].sort());
      const claims = (await rowsOf(ids)).map((r) => r.claims);
      assert.ok(claims.every((c) => c === 1), "every row claimed exactly once");
    } finally {
      await poolB.end();
    }
  });

  it("a relay that crashed after claiming gives its rows back when the lease ends", async () => {
    const ids = await seed(Array.from({ length: 5 }, () => makeEvent()));
    const crashed = relay({ leaseMs: 800 });
    const claim = await crashed.claim();
    assert.equal(claim.rows.length, 5);
    // The crashed relay never publishes or settles. A healthy one cannot take the leased rows…
    const healthy = relay();
    assert.equal((await healthy.drain({ budgetMs: 5_000 })).published, 0);
    assert.equal(events.requests.length, 0);
    // …until the lease ends.
    await new Promise((resolve) => setTimeout(resolve, 900));
    const after = await healthy.drain({ budgetMs: 5_000 });
    assert.equal(after.published, 5);
    assert.deepEqual(acceptedIds().sort(), [...ids].sort());
  });

  it("a crash between EventBridge's acceptance and the mark publishes again after the lease (at-least-once; the consumer deduplicates)", async () => {
    const ids = await seed(Array.from({ length: 3 }, () => makeEvent()));
    const dies = {
      query: async (text: string, values?: unknown[]) => {
        if (text.includes("status = 'published'") && text.trimStart().startsWith("UPDATE")) throw new Error("process killed before marking");
        return pool.query(text, values);
      },
    };
    await assert.rejects(relay({ db: dies as unknown as Pool, leaseMs: 500 }).runOnce(), /killed/);
    assert.equal(events.accepted.length, 3);
    assert.ok(Object.values(await statusOf(ids)).every((s) => s === "pending"));
    await new Promise((resolve) => setTimeout(resolve, 600));
    await relay().drain({ budgetMs: 5_000 });
    assert.ok(Object.values(await statusOf(ids)).every((s) => s === "published"));
    assert.equal(events.accepted.length, 6, "each event reached EventBridge twice: the window the consumer's idempotency covers");
  });

  it("a failing PutEvents request puts its rows back without counting against them and ends the run", async () => {
    const ids = await seed(Array.from({ length: 30 }, () => makeEvent()));
    events.setBehaviour(() => ({ kind: "error", status: 500, type: "InternalException", message: "service unavailable" }));
    const logger = memoryLogger();
    const summary = await relay({ logger, batchSize: 10, retryBackoffBaseMs: 10, retryBackoffMaxMs: 20 }).drain({ budgetMs: 10_000 });
    assert.equal(summary.stoppedBy, "requestFailure");
    assert.equal(summary.batches, 1, "no further claims while the downstream fails");
    assert.equal(summary.pendingBacklog, 30);
    assert.ok(logger.lines.some((l) => l.message === RELAY_LOG_MESSAGES.requestFailed));
    assert.equal(logger.lines.find((l) => l.message === RELAY_LOG_MESSAGES.run)?.level, "warn");
    const rows = await rowsOf(ids);
    assert.ok(rows.every((r) => r.status === "pending" && r.entry_failures === 0));
    events.setBehaviour(() => ({ kind: "respond" }));
    await new Promise((resolve) => setTimeout(resolve, 30));
    const later = await relay().drain({ budgetMs: 10_000 });
    assert.equal(later.published, 30);
  });

  it("stops claiming when the time budget is spent, leaving the rest pending", async () => {
    await seed(Array.from({ length: 60 }, () => makeEvent()));
    events.setLatencyMs(150);
    const summary = await relay({ batchSize: 10, maxConcurrentRequests: 1 }).drain({ budgetMs: 200 });
    assert.equal(summary.stoppedBy, "budget");
    assert.equal(summary.drained, false);
    assert.ok(summary.published >= 10 && summary.published < 60);
    assert.equal(summary.pendingBacklog, 60 - summary.published);
    assert.ok(summary.oldestPendingAgeSeconds >= 0);
  });

  it("purges only published rows older than the retention, and the DDL statements apply one by one, twice", async () => {
    const [old, recent, parked, pending] = await seed([makeEvent(), makeEvent(), makeEvent(), makeEvent()]);
    await pool.query("UPDATE mesh_outbox SET status = 'published', published_at = clock_timestamp() - interval '2 hours' WHERE event_id = ANY($1::uuid[])", [[old]]);
    await pool.query("UPDATE mesh_outbox SET status = 'published', published_at = clock_timestamp() WHERE event_id = $1", [recent]);
    await pool.query("UPDATE mesh_outbox SET status = 'parked', parked_reason = 'test', parked_at = clock_timestamp() - interval '2 hours' WHERE event_id = $1", [parked]);
    assert.equal(await purgePublishedOutboxRows(pool, { olderThanMs: 3600_000 }), 1);
    assert.deepEqual(Object.keys(await statusOf([old, recent, parked, pending])).sort(), [recent, parked, pending].sort());
    for (let round = 0; round < 2; round++) for (const statement of outboxDdlStatements("app_outbox")) await pool.query(statement);
    assert.equal((await pool.query("SELECT count(*) AS n FROM app_outbox")).rows[0].n, "0");
  });

  it("a relay whose lease ran out cannot reschedule rows another relay has claimed since (claim-token fence)", async () => {
    const ids = await seed(Array.from({ length: 3 }, () => makeEvent()));
    events.setLatencyMs(1_000);
    // The first request (the stale relay's) is throttled entry by entry; later ones are accepted.
    events.setBehaviour((request) => (request.index === 0 ? { kind: "respond", entry: () => ({ ok: false, errorCode: "ThrottlingException" }) } : { kind: "respond" }));
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const stale = relay({ leaseMs: 500, entryRetries: 0, retryBackoffBaseMs: 1, retryBackoffMaxMs: 1 });
    const staleRun = stale.runOnce();
    await sleep(650);
    const owner = relay({ leaseMs: 10_000 });
    const ownerRun = owner.runOnce();
    await staleRun; // settles "retry in 1 ms" with its old token while the owner's request is in flight
    const third = await relay().claim();
    assert.deepEqual(third.rows, [], "the owner's lease still holds: the stale relay's backoff did not free the rows");
    const ownerSummary = await ownerRun;
    assert.equal(ownerSummary.published, 3);
    assert.ok(Object.values(await statusOf(ids)).every((s) => s === "published"));
    assert.deepEqual(acceptedIds().sort(), [...ids].sort(), "each event accepted once");
  });
});
