import { strict as assert } from "assert";
import { Client } from "pg";
import { startPostgres, PostgresServer } from "../../tools/local-servers/postgres";
import { accessPorts, outboxAccessProvider, OutboxAccessState } from "../../components/azure/outbox-access";
import { AccessRequest, ensureOutboxAccess, OutboxAccessError } from "../../components/azure/outbox-access-setup";
import { RELAY_TABLE_PRIVILEGES, runtimeOutboxSchema } from "../../components/azure/outbox-postgres";
import { createAzureDatabase, createEntraAdmin, fakeEntraToken, installPgaadauthModel } from "../support/pgaadauth-model";

const DEPLOYER = "00000000-0000-4000-8000-000000000003";
const RELAY_OID = "11111111-2222-4333-8444-555555555555";
const ADMIN = "deployer@example.com";
const TOKEN = fakeEntraToken(DEPLOYER);

/**
 * The outbox-access step (components/azure/outbox-access*.ts) against a real PostgreSQL 15 that
 * requires TLS 1.2+ and SCRAM, with a model of Azure's pgaadauth functions (test/support/
 * pgaadauth-model.ts): the real SQL creates the role, applies the runtime's DDL and grants.
 */
describe("outbox access on a real PostgreSQL (relay role, schema, least privilege)", function () {
    this.timeout(60_000);
    let server: PostgresServer;
    const logs: string[] = [];

    before(async () => {
        server = await startPostgres({ tls: true });
        await installPgaadauthModel(server);
        await createEntraAdmin(server, ADMIN, DEPLOYER, TOKEN);
        await createAzureDatabase(server, "mesh_outbox");
        // A business table in the same database: the relay must not reach it.
        await server.sql("mesh_outbox", "CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders VALUES (1)");
    });
    after(async () => server?.stop());

    const request = (overrides: Partial<AccessRequest> = {}): AccessRequest => ({
        host: "localhost",
        port: server.port,
        tls: true,
        database: "mesh_outbox",
        adminUser: ADMIN,
        adminObjectId: DEPLOYER,
        relayRoleName: "mesh-dev-relay-identity1a2b3c4d",
        relayObjectId: RELAY_OID,
        ...runtimeOutboxSchema(),
        schemaStatements: runtimeOutboxSchema().statements as string[],
        outboxTable: "mesh_outbox",
        relayPrivileges: [...RELAY_TABLE_PRIVILEGES],
        retry: { initialDelayMs: 10, maxDelayMs: 20, budgetMs: 200 },
        ...overrides,
    });
    const ports = (token: () => Promise<string> = async () => TOKEN) => ({ ...accessPorts(token, { ca: server.caCertificate }), log: (l: string) => logs.push(l) });

    /** What the relay's role can do, tried as that role (SET ROLE from the superuser). */
    async function asRelay(role: string, statement: string): Promise<"ok" | string> {
        const client = new Client(server.superuserConfig("mesh_outbox"));
        await client.connect();
        try {
            await client.query("BEGIN");
            await client.query(`SET LOCAL ROLE "${role}"`);
            await client.query(statement);
            return "ok";
        } catch (error) {
            return (error as { code?: string }).code ?? String(error);
        } finally {
            await client.query("ROLLBACK").catch(() => undefined);
            await client.end();
        }
    }

    it("creates the role mapped to exactly the relay identity (service principal, not admin), applies the runtime's DDL, grants SELECT and UPDATE only", async () => {
        const result = await ensureOutboxAccess(request(), ports());
        assert.deepEqual(result, { roleCreated: true, grantedPrivileges: ["SELECT", "UPDATE"] });
        const mapped = await server.sql("postgres", "SELECT rolname, principaltype, objectid, isadmin FROM pgaadauth_model.principals WHERE rolname = $1", ["mesh-dev-relay-identity1a2b3c4d"]);
        assert.deepEqual(mapped, [{ rolname: "mesh-dev-relay-identity1a2b3c4d", principaltype: "service", objectid: RELAY_OID, isadmin: false }]);
        const role = await server.sql("postgres", "SELECT rolsuper, rolcreaterole, rolcreatedb, pg_has_role(oid, 'azure_pg_admin', 'MEMBER') AS admin FROM pg_roles WHERE rolname = $1", ["mesh-dev-relay-identity1a2b3c4d"]);
        assert.deepEqual(role, [{ rolsuper: false, rolcreaterole: false, rolcreatedb: false, admin: false }]);
        const columns = await server.sql("mesh_outbox", "SELECT column_name FROM information_schema.columns WHERE table_name = 'mesh_outbox' ORDER BY ordinal_position");
        assert.deepEqual(columns.map((c) => c.column_name).slice(0, 4), ["event_id", "position", "event_text", "status"]);

        const r = "mesh-dev-relay-identity1a2b3c4d";
        assert.equal(await asRelay(r, "SELECT event_id FROM mesh_outbox WHERE status = 'pending' FOR UPDATE SKIP LOCKED"), "ok");
        assert.equal(await asRelay(r, "UPDATE mesh_outbox SET status = 'published' WHERE false"), "ok");
        // 42501 insufficient_privilege: no producer writes, no deletes, nothing else in the database.
        assert.equal(await asRelay(r, "INSERT INTO mesh_outbox (event_id, event_text) VALUES (gen_random_uuid(), '{}')"), "42501");
        assert.equal(await asRelay(r, "DELETE FROM mesh_outbox"), "42501");
        assert.equal(await asRelay(r, "SELECT * FROM orders"), "42501");
        assert.equal(await asRelay(r, "CREATE TABLE public.sneaky (x int)"), "42501");
    });

    it("is idempotent, and takes back a privilege granted beyond the list", async () => {
        await server.sql("mesh_outbox", `GRANT DELETE ON mesh_outbox TO "mesh-dev-relay-identity1a2b3c4d"`);
        const again = await ensureOutboxAccess(request(), ports());
        assert.deepEqual(again, { roleCreated: false, grantedPrivileges: ["SELECT", "UPDATE"] });
        assert.equal(await asRelay("mesh-dev-relay-identity1a2b3c4d", "DELETE FROM mesh_outbox"), "42501");
    });

    it("refuses a role name already mapped to another Entra object, naming the step", async () => {
        await assert.rejects(
            ensureOutboxAccess(request({ relayObjectId: "99999999-2222-4333-8444-555555555555" }), ports()),
            (e: unknown) => e instanceof OutboxAccessError && e.step === "create the relay's role" && /mapped to Entra object 11111111-/.test(e.message),
        );
    });

    it("refuses a token of another principal than the server's administrator, at once", async () => {
        await assert.rejects(
            ensureOutboxAccess(request(), ports(async () => fakeEntraToken("22222222-2222-4333-8444-555555555555"))),
            /step "connect as Entra administrator": the Azure credential of this process is principal 22222222-/,
        );
    });

    it("retries a refused sign-in (administrator not in effect yet) and succeeds; gives up after the budget, naming the step and the SQLSTATE", async () => {
        let calls = 0;
        const flaky = async () => (++calls <= 2 ? fakeEntraToken(DEPLOYER, "not-yet") : TOKEN);
        logs.length = 0;
        await ensureOutboxAccess(request({ retry: { initialDelayMs: 10, maxDelayMs: 20, budgetMs: 5_000 } }), ports(flaky));
        assert.ok(logs.some((l) => /connect as Entra administrator: not yet .*28P01/.test(l)), logs.join("\n"));
        await assert.rejects(
            ensureOutboxAccess(request(), ports(async () => fakeEntraToken(DEPLOYER, "never"))),
            /step "connect as Entra administrator": gave up after \d+ attempts .*\[28P01\]/,
        );
    });

    it("never signs in without TLS: a server that only accepts TLS refuses a plain connection with the same token", async () => {
        await assert.rejects(ensureOutboxAccess(request({ tls: false, retry: { initialDelayMs: 5, maxDelayMs: 5, budgetMs: 10 } }), ports()), /connect as Entra administrator/);
    });

    it("the dynamic provider creates through the same path and replaces on a new identity", async () => {
        const provider = outboxAccessProvider(async () => TOKEN, { ca: server.caCertificate });
        const state: OutboxAccessState = {
            host: "localhost",
            port: server.port,
            tls: true,
            database: "mesh_outbox",
            adminUser: ADMIN,
            adminObjectId: DEPLOYER,
            relayRoleName: "mesh-dev-relay-identity9z9z9z9z",
            relayObjectId: "33333333-2222-4333-8444-555555555555",
            schemaStatements: runtimeOutboxSchema().statements as string[],
            outboxTable: "mesh_outbox",
            relayPrivileges: ["SELECT", "UPDATE"],
            retryInitialDelayMs: 10,
            retryMaxDelayMs: 20,
            retryBudgetMs: 200,
        };
        const created = await provider.create!(state);
        assert.equal(created.id, `localhost/mesh_outbox/mesh-dev-relay-identity9z9z9z9z`);
        assert.deepEqual(created.outs.grantedPrivileges, ["SELECT", "UPDATE"]);
        const diff = await provider.diff!(created.id, state, { ...state, relayObjectId: RELAY_OID });
        assert.deepEqual([diff.changes, diff.replaces], [true, ["relayObjectId"]]);
        const same = await provider.diff!(created.id, state, { ...state, packagePath: "elsewhere" } as OutboxAccessState);
        assert.equal(same.changes, false);
    });
});
