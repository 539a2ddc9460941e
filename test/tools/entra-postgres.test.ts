import { strict as assert } from "assert";
import { POSTGRES_ENTRA_SCOPE } from "../../runtime/azure-relay-host";
import { PostgresServer, startPostgres } from "../../tools/local-servers/postgres";
import { entraPostgresPool, userNameOfToken } from "../../tools/redrive/entra-postgres";

/** A token-shaped string (header.payload.signature) with the given claims; the server only compares it as a password. */
const fakeJwt = (claims: Record<string, unknown>) =>
    [{ alg: "none" }, claims].map((part) => Buffer.from(JSON.stringify(part)).toString("base64url")).join(".") + ".sig";

/**
 * The tools' connection to the outbox server as the operator, against a real PostgreSQL 15 that
 * requires TLS (plain connections rejected, like Azure's server). Entra ID itself cannot run here:
 * the role's password is set to the token string, which is what the pool must present.
 */
describe("tools: PostgreSQL with the user's Entra token (real PostgreSQL, TLS only)", function () {
    this.timeout(30_000);
    let server: PostgresServer;
    const upn = "alice@contoso.com";
    const token = fakeJwt({ upn, oid: "00000000-0000-0000-0000-00000000000a" });

    before(async () => {
        server = await startPostgres({ tls: true });
        await server.createDatabase("outbox");
        await server.sql("postgres", `CREATE ROLE "${upn}" LOGIN PASSWORD '${token}'`);
    });
    after(async () => server?.stop());

    it("logs in as the token's UPN with the token as password, over verified TLS, asking for the PostgreSQL scope", async () => {
        const scopes: string[] = [];
        const pool = await entraPostgresPool({ host: server.host, port: server.port, database: "outbox", caCertificate: server.caCertificate }, async (scope) => {
            scopes.push(scope);
            return token;
        });
        try {
            const row = (await pool.query("SELECT session_user AS who, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).rows[0];
            assert.deepEqual(row, { who: upn, ssl: true });
            assert.ok(scopes.length >= 1 && scopes.every((s) => s === POSTGRES_ENTRA_SCOPE));
        } finally {
            await pool.end();
        }
    });

    it("refuses a server certificate it cannot verify", async () => {
        const pool = await entraPostgresPool({ host: server.host, port: server.port, database: "outbox" }, async () => token);
        try {
            await assert.rejects(pool.query("SELECT 1"), /self[- ]signed certificate/);
        } finally {
            await pool.end();
        }
    });

    it("reads upn, then preferred_username, then unique_name; a token without one needs --pg-user", async () => {
        assert.equal(userNameOfToken(fakeJwt({ preferred_username: "bob@contoso.com" })), "bob@contoso.com");
        assert.equal(userNameOfToken(fakeJwt({ unique_name: "carol@contoso.com", upn: "" })), "carol@contoso.com");
        assert.equal(userNameOfToken("not-a-jwt"), undefined);
        await assert.rejects(entraPostgresPool({ host: "h", database: "d" }, async () => fakeJwt({ appid: "x" })), /give the PostgreSQL role with --pg-user/);
    });
});
