import { strict as assert } from "assert";
import { Pool, PoolClient } from "pg";
import { DomainEvent } from "../../runtime/event";
import { createPostgresOutboxWriter, PgOutboxCommitError, PgPoolLike } from "../../runtime/postgres-outbox/writer";
import { ensureOutboxSchema, outboxDdl } from "../../runtime/postgres-outbox/schema";
import { SQS_DEFAULT_MAX_MESSAGE_BYTES } from "../../runtime/postgres-outbox/limits";
import { PostgresServer, startPostgres } from "../../tools/local-servers/postgres";
import { makeEvent } from "../support/events";

/** The producer library on a real PostgreSQL 15: business rows and outbox rows in one transaction. */
describe("PostgreSQL outbox writer (real PostgreSQL)", function () {
  this.timeout(30_000);
  let server: PostgresServer;
  let pool: Pool;

  const placeOrder = (orderId: string) => async (client: PoolClient) => {
    await client.query("INSERT INTO orders (id, amount) VALUES ($1, $2)", [orderId, 1299]);
    return orderId;
  };
  const outboxRows = async (ids: string[]) =>
    (await pool.query("SELECT event_id, event_text, status FROM mesh_outbox WHERE event_id = ANY($1::uuid[]) ORDER BY position", [ids])).rows;
  const orderCount = async (id: string) => Number((await pool.query("SELECT count(*) AS n FROM orders WHERE id = $1", [id])).rows[0].n);

  before(async () => {
    server = await startPostgres();
    await server.createDatabase("shop");
    pool = new Pool({ ...server.superuserConfig("shop"), max: 6 });
    await pool.query("CREATE TABLE orders (id text PRIMARY KEY, amount int NOT NULL CHECK (amount > 0))");
    // Three at once: the advisory lock keeps concurrent migrations from colliding on the catalog.
    await Promise.all([0, 1, 2].map(async () => {
      const client = await pool.connect();
      try {
        await ensureOutboxSchema(client);
      } finally {
        client.release();
      }
    }));
  });
  after(async () => {
    await pool?.end();
    await server?.stop();
  });

  it("commits the business row and the outbox rows together, storing the exact JSON text", async () => {
    const writer = createPostgresOutboxWriter({ pool });
    const events = [makeEvent(), makeEvent()];
    const result = await writer.commit(events, placeOrder("o-commit"));
    assert.equal(result.outcome, "committed");
    assert.equal(result.outcome === "committed" && result.result, "o-commit");
    const rows = await outboxRows(events.map((e) => e.metadata.event_id));
    assert.deepEqual(rows.map((r) => r.event_text), events.map((e) => JSON.stringify(e)));
    assert.ok(rows.every((r) => r.status === "pending"));
    assert.equal(await orderCount("o-commit"), 1);
  });

  it("a failing business write leaves no event, and the error names the event ids", async () => {
    const writer = createPostgresOutboxWriter({ pool });
    await writer.commit([makeEvent()], placeOrder("o-dup"));
    const event = makeEvent();
    await assert.rejects(writer.commit([event], placeOrder("o-dup")), (e: PgOutboxCommitError) => {
      assert.equal(e.code, "BusinessWriteFailed");
      assert.equal(e.retryable, false);
      assert.ok(e.message.includes(event.metadata.event_id));
      assert.match(e.message, /duplicate key/);
      return true;
    });
    assert.deepEqual(await outboxRows([event.metadata.event_id]), []);

    const thrown = makeEvent();
    await assert.rejects(
      writer.commit([thrown], async (client) => {
        await client.query("INSERT INTO orders (id, amount) VALUES ('o-thrown', 1)");
        throw new Error("payment declined");
      }),
      (e: PgOutboxCommitError) => e.code === "BusinessWriteFailed" && /payment declined/.test(e.message),
    );
    assert.deepEqual(await outboxRows([thrown.metadata.event_id]), []);
    assert.equal(await orderCount("o-thrown"), 0, "the business write before the throw is rolled back too");
  });

  it("a retried commit writes nothing twice: the business writes do not run again", async () => {
    const writer = createPostgresOutboxWriter({ pool });
    const events = [makeEvent(), makeEvent()];
    let runs = 0;
    const work = async (client: PoolClient) => {
      runs++;
      await placeOrder("o-retried")(client);
    };
    assert.equal((await writer.commit(events, work)).outcome, "committed");
    const again = await writer.commit([events[1], events[0]], work);
    assert.equal(again.outcome, "already-committed");
    assert.equal(runs, 1);
    assert.equal(await orderCount("o-retried"), 1);
    assert.equal((await outboxRows(events.map((e) => e.metadata.event_id))).length, 2);
  });

  it("COMMIT's reply lost: the error says retry; the retry answers already-committed", async () => {
    // The COMMIT really runs on the server; only its reply is replaced by a connection error.
    const lossy: PgPoolLike = {
      async connect() {
        const client = await pool.connect();
        const query = client.query.bind(client) as (text: string, values?: unknown[]) => Promise<unknown>;
        (client as unknown as { query: unknown }).query = async (text: string, values?: unknown[]) => {
          const result = await query(text, values);
          if (text === "COMMIT") throw Object.assign(new Error("Connection terminated unexpectedly"), { code: "ECONNRESET" });
          return result;
        };
        return client;
      },
    };
    const event = makeEvent();
    await assert.rejects(createPostgresOutboxWriter({ pool: lossy }).commit([event], placeOrder("o-lost")), (e: PgOutboxCommitError) => {
      assert.equal(e.code, "CommitOutcomeUnknown");
      assert.equal(e.retryable, true);
      assert.ok(e.message.includes(event.metadata.event_id));
      return true;
    });
    const retry = await createPostgresOutboxWriter({ pool }).commit([event], placeOrder("o-lost"));
    assert.equal(retry.outcome, "already-committed");
    assert.equal(await orderCount("o-lost"), 1);
  });

  it("two producers committing the same events at once: one commits, the other finds it committed", async () => {
    const writer = createPostgresOutboxWriter({ pool });
    const events = [makeEvent()];
    let runs = 0;
    const slowWork = async (client: PoolClient) => {
      runs++;
      await client.query("SELECT pg_sleep(0.2)");
      await placeOrder("o-race")(client);
    };
    const outcomes = await Promise.all([writer.commit(events, slowWork), writer.commit(events, slowWork)]);
    assert.deepEqual(outcomes.map((o) => o.outcome).sort(), ["already-committed", "committed"]);
    assert.equal(runs, 1);
    assert.equal(await orderCount("o-race"), 1);
  });

  it("an event id reused with a different body is refused, naming the id; nothing is written", async () => {
    const writer = createPostgresOutboxWriter({ pool });
    const original = makeEvent();
    await writer.commit([original], placeOrder("o-reuse-1"));
    const impostor: DomainEvent = { ...original, data: { orderId: "o-reuse-2", amountCents: 1 } };
    await assert.rejects(writer.commit([impostor], placeOrder("o-reuse-2")), (e: PgOutboxCommitError) => {
      assert.equal(e.code, "EventIdReused");
      assert.ok(e.message.includes(original.metadata.event_id));
      return true;
    });
    assert.equal(await orderCount("o-reuse-2"), 0);
    assert.equal((await outboxRows([original.metadata.event_id]))[0].event_text, JSON.stringify(original));

    const fresh = makeEvent();
    await assert.rejects(writer.commit([original, fresh], placeOrder("o-partial")), (e: PgOutboxCommitError) => e.code === "PartiallyWritten" && e.message.includes(original.metadata.event_id));
    assert.deepEqual(await outboxRows([fresh.metadata.event_id]), []);
  });

  it("refuses bad input before touching the database, naming the event", async () => {
    const writer = createPostgresOutboxWriter({ pool });
    const noWork = async () => assert.fail("work must not run");
    const bad = makeEvent({ metadata: { timestamp: "yesterday" } });
    await assert.rejects(writer.commit([bad], noWork), (e: PgOutboxCommitError) => e.code === "InvalidEvent" && e.message.includes(bad.metadata.event_id) && /metadata.timestamp/.test(e.message));
    const big = makeEvent({ data: { blob: "x".repeat(SQS_DEFAULT_MAX_MESSAGE_BYTES) } });
    await assert.rejects(writer.commit([big], noWork), (e: PgOutboxCommitError) => e.code === "EventTooLarge" && e.message.includes(big.metadata.event_id));
    const twice = makeEvent();
    await assert.rejects(writer.commit([twice, twice], noWork), (e: PgOutboxCommitError) => e.code === "DuplicateEventInCommit" && e.message.includes(twice.metadata.event_id));
    await assert.rejects(writer.commit([], noWork), (e: PgOutboxCommitError) => e.code === "NoEvents");
    assert.deepEqual(await outboxRows([bad.metadata.event_id, big.metadata.event_id, twice.metadata.event_id]), []);
  });

  it("appendToTransaction works inside the caller's own transaction and reports what was already there", async () => {
    const writer = createPostgresOutboxWriter({ pool });
    const events = [makeEvent()];
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await client.query("INSERT INTO orders (id, amount) VALUES ('o-own', 5)");
      assert.deepEqual(await writer.appendToTransaction(client, events), { inserted: [events[0].metadata.event_id], alreadyPresent: [] });
      await client.query("COMMIT");
      await client.query("BEGIN");
      assert.deepEqual(await writer.appendToTransaction(client, events), { inserted: [], alreadyPresent: [events[0].metadata.event_id] });
      await client.query("ROLLBACK");
    } finally {
      client.release();
    }
    assert.equal((await outboxRows([events[0].metadata.event_id])).length, 1);
  });

  it("the DDL refuses a table name it would have to quote, and keeps parked rows explained", async () => {
    assert.throws(() => outboxDdl("Outbox; DROP TABLE orders"), /lower-case SQL identifier/);
    const event = makeEvent();
    await createPostgresOutboxWriter({ pool }).commit([event], async () => undefined);
    await assert.rejects(pool.query("UPDATE mesh_outbox SET status = 'parked' WHERE event_id = $1", [event.metadata.event_id]), /parked_has_reason/);
  });
});
