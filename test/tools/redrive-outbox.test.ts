import { strict as assert } from "assert";
import { Pool } from "pg";
import type { DomainEvent } from "../../runtime/event";
import { createPostgresOutboxRelay } from "../../runtime/postgres-outbox/relay";
import { ensureOutboxSchema } from "../../runtime/postgres-outbox/schema";
import { createPostgresOutboxWriter } from "../../runtime/postgres-outbox/writer";
import { EntryVerdict, PutEventsEndpoint, ReceivedEntry, startPutEventsEndpoint } from "../../tools/local-servers/put-events-endpoint";
import { PostgresServer, startPostgres } from "../../tools/local-servers/postgres";
import { listParkedRows, unparkOutboxRows, UnparkOptions } from "../../tools/redrive/outbox-parked";
import { makeEvent } from "../support/events";
import { memoryLogger } from "../support/memory-logger";

/**
 * `npm run redrive -- outbox` on a real PostgreSQL 15: rows parked by the REAL relay core (against
 * the local PutEvents endpoint), listed, returned to pending in one transaction by an operator role
 * that is not the superuser, and published by the relay afterwards.
 */
describe("redrive: parked rows of the PostgreSQL outbox (real PostgreSQL)", function () {
    this.timeout(30_000);
    let server: PostgresServer;
    let admin: Pool;
    let operator: Pool;
    let events: PutEventsEndpoint;
    let lines: string[];

    const idOf = (entry: ReceivedEntry): string => (JSON.parse(entry.Detail ?? "{}") as DomainEvent).metadata.event_id;
    const relay = () => createPostgresOutboxRelay({ db: admin, eventBridge: events.client(), eventBusName: "mesh-bus", logger: memoryLogger(), entryRetries: 0, maxEntryFailures: 2, retryBackoffBaseMs: 1, retryBackoffMaxMs: 1 });
    const rows = async () =>
        Object.fromEntries(
            (await admin.query("SELECT event_id, status, parked_reason, entry_failures, last_error FROM mesh_outbox")).rows.map((r) => [r.event_id as string, r]),
        );
    const unpark = async (extra: Partial<UnparkOptions>) => {
        const client = await operator.connect();
        try {
            return await unparkOutboxRows({ client, selection: {}, dryRun: false, print: (l) => lines.push(l), ...extra });
        } finally {
            client.release();
        }
    };

    let rejected: string;
    let exhausted: string;
    let notJson: string;
    let published: string;

    before(async () => {
        [server, events] = await Promise.all([startPostgres(), startPutEventsEndpoint()]);
        await server.createDatabase("shop");
        admin = new Pool({ ...server.superuserConfig("shop"), max: 4 });
        const c = await admin.connect();
        await ensureOutboxSchema(c);
        c.release();
        // The operator gets only what the command needs (docs/operations.md).
        await server.createRole("ops_alice", "s3cret-pw");
        await server.sql("shop", "GRANT SELECT, UPDATE ON mesh_outbox TO ops_alice");
        operator = new Pool({ host: server.host, port: server.port, database: "shop", user: "ops_alice", password: "s3cret-pw", max: 2 });
    });
    after(async () => {
        await operator?.end();
        await admin?.end();
        await Promise.all([server?.stop(), events?.stop()]);
    });
    beforeEach(async () => {
        lines = [];
        events.reset();
        await admin.query("TRUNCATE mesh_outbox");
        const list = [makeEvent(), makeEvent(), makeEvent()];
        [rejected, exhausted, published] = list.map((e) => e.metadata.event_id);
        await createPostgresOutboxWriter({ pool: admin }).commit(list, async () => undefined);
        notJson = makeEvent().metadata.event_id;
        await admin.query("INSERT INTO mesh_outbox (event_id, event_text) VALUES ($1, '{not json')", [notJson]);
        events.setBehaviour(() => ({
            kind: "respond",
            entry: (entry): EntryVerdict =>
                idOf(entry) === rejected
                    ? { ok: false, errorCode: "AccessDeniedException", errorMessage: "not authorized to perform events:PutEvents" }
                    : idOf(entry) === exhausted
                      ? { ok: false, errorCode: "ThrottlingException", errorMessage: "Rate exceeded" }
                      : { ok: true },
        }));
        // Two claims: the throttled row is put back once (entry_failures 1), then parked.
        for (let i = 0; i < 5 && (await rows())[exhausted].status === "pending"; i++) {
            await new Promise((resolve) => setTimeout(resolve, 10));
            await relay().drain({ budgetMs: 5_000 });
        }
        const r = await rows();
        assert.equal(r[exhausted].entry_failures, 1);
        assert.deepEqual([r[rejected].status, r[exhausted].status, r[notJson].status, r[published].status], ["parked", "parked", "parked", "published"], "the relay parked three");
        events.setBehaviour(() => ({ kind: "respond" }));
        events.reset();
    });

    it("lists parked rows with their reasons, by reason class or event id", async () => {
        const all = await listParkedRows(operator, {});
        assert.deepEqual(all.map((r) => r.eventId).sort(), [rejected, exhausted, notJson].sort());
        const byId = Object.fromEntries(all.map((r) => [r.eventId, r]));
        assert.equal(byId[rejected].reasonClass, "PutEventsEntryRejected");
        assert.match(byId[rejected].reason, /AccessDeniedException/);
        assert.equal(byId[rejected].type, "OrderPlaced");
        assert.equal(byId[exhausted].reasonClass, "RetriesExhausted");
        assert.equal(byId[notJson].reasonClass, "NotJson");
        assert.deepEqual((await listParkedRows(operator, { selection: { reasonClasses: ["RetriesExhausted"] } })).map((r) => r.eventId), [exhausted]);
        assert.deepEqual((await listParkedRows(operator, { selection: { eventIds: [notJson] } })).map((r) => r.eventId), [notJson]);
    });

    it("returns chosen rows to pending in one transaction with who and when, and the relay then publishes them", async () => {
        const summary = await unpark({ selection: { eventIds: [rejected], reasonClasses: ["RetriesExhausted"] } });
        assert.equal(summary.unparked, 2);
        const r = await rows();
        for (const id of [rejected, exhausted]) {
            assert.equal(r[id].status, "pending");
            assert.equal(r[id].parked_reason, null);
            assert.equal(r[id].entry_failures, 0, "the relay's retry budget starts again");
            assert.match(r[id].last_error, /^unparked by ops_alice at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ; was parked at .*: (PutEventsEntryRejected|RetriesExhausted)/);
        }
        assert.equal(r[notJson].status, "parked", "not chosen, not touched");
        assert.match(lines.join("\n"), /summary: 2 row\(s\) back to pending \(unparked by ops_alice at /);

        await relay().drain({ budgetMs: 5_000 });
        assert.deepEqual(events.accepted.map(idOf).sort(), [rejected, exhausted].sort());
        const after = await rows();
        assert.equal(after[rejected].status, "published");
        assert.equal(after[exhausted].status, "published");
    });

    it("refuses a reason the relay decides from the row's text, and changes nothing else chosen with it", async () => {
        const refused = await unpark({ selection: { eventIds: [notJson, rejected] } });
        assert.equal(refused.unparked, 0);
        assert.match(refused.refusedBecause!, new RegExp(`${notJson} parked for NotJson.*--allow-reason NotJson`));
        const r = await rows();
        assert.equal(r[notJson].status, "parked");
        assert.equal(r[rejected].status, "parked", "all or nothing");

        const allowed = await unpark({ selection: { reasonClasses: ["NotJson"] }, allowReasons: ["NotJson"] });
        assert.equal(allowed.unparked, 1);
        assert.equal((await rows())[notJson].status, "pending");
    });

    it("refuses an event id that is not parked, naming its state, and changes nothing", async () => {
        const missing = makeEvent().metadata.event_id;
        const summary = await unpark({ selection: { eventIds: [rejected, published, missing] } });
        assert.equal(summary.unparked, 0);
        assert.match(summary.refusedBecause!, new RegExp(`${published} is published, not parked; ${missing} is not in the outbox`));
        assert.equal((await rows())[rejected].status, "parked");
    });

    it("--dry-run and --max", async () => {
        const dry = await unpark({ selection: { reasonClasses: ["RetriesExhausted", "PutEventsEntryRejected"] }, dryRun: true });
        assert.equal(dry.matched.length, 2);
        assert.equal(dry.unparked, 0);
        const r = await rows();
        assert.equal(r[rejected].status, "parked");
        assert.equal(r[exhausted].status, "parked");
        assert.match(lines.join("\n"), /would unpark/);

        const one = await unpark({ selection: { reasonClasses: ["RetriesExhausted", "PutEventsEntryRejected"] }, max: 1 });
        assert.equal(one.unparked, 1);
        assert.equal(Object.values(await rows()).filter((x) => x.status === "pending").length, 1);
    });

    it("needs a selection, and names a malformed event id", async () => {
        await assert.rejects(unpark({ selection: {} }), /choose the rows to unpark: --event-id ID/);
        await assert.rejects(unpark({ selection: { eventIds: ["evt-1"] } }), /--event-id "evt-1" is not an outbox event id/);
    });
});
