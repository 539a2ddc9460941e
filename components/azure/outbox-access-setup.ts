/**
 * Gives the outbox relay's managed identity a PostgreSQL role with rights on the outbox table and
 * nothing else, and applies the outbox schema, by connecting as the server's Microsoft Entra
 * administrator (the deployer) with the deployer's own Entra token. No @pulumi import: the dynamic
 * provider in outbox-access.ts serializes this code, and the tests run it against a real
 * PostgreSQL (test/components/azure-outbox-access.test.ts).
 *
 * What documents each step (Microsoft Learn, MicrosoftDocs/azure-databases-docs
 * articles/postgresql/flexible-server/how-to-manage-azure-ad-users.md, "Manage Microsoft Entra
 * roles"): only a Microsoft Entra administrator creates Entra-mapped roles, with
 * `pg_catalog.pgaadauth_create_principal_with_oid(roleName, objectId, objectType, isAdmin, isMfa)`,
 * objectType `service` for a managed identity; `pg_catalog.pgaadauth_list_principals(isAdmin)`
 * lists roles with their object ids. A client signs in with the Entra principal's name as user
 * and an access token for `https://ossrdbms-aad.database.windows.net` as password
 * (how-to-configure-sign-in-azure-ad-authentication.md, "Retrieve the Microsoft Entra access token").
 *
 * Every step retries with capped backoff while the server cannot be reached or refuses the
 * sign-in (the Entra administrator and firewall rules take effect some time after ARM reports
 * them), and fails at once on any other error, naming the step.
 */

/** Scope of Entra tokens that Azure Database for PostgreSQL accepts as passwords. */
export const POSTGRES_ENTRA_SCOPE = "https://ossrdbms-aad.database.windows.net/.default";
/** The database Entra roles are created from (roles are server-wide; `postgres` always exists). */
export const ADMIN_DATABASE = "postgres";

export interface SqlClient {
    query(text: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
    end(): Promise<void>;
}

export interface ConnectParams {
    host: string;
    port: number;
    database: string;
    user: string;
    password: string;
    /** Verify the server's certificate and require TLS (always in Azure). */
    tls: boolean;
}

export interface AccessPorts {
    /** The deployer's Entra access token for POSTGRES_ENTRA_SCOPE. */
    token(): Promise<string>;
    connect(params: ConnectParams): Promise<SqlClient>;
    sleep(ms: number): Promise<void>;
    log(line: string): void;
}

export interface AccessRequest {
    host: string;
    port: number;
    tls: boolean;
    /** The outbox database. */
    database: string;
    /** PostgreSQL user name of the Entra administrator (its `principalName` on the server). */
    adminUser: string;
    /** Entra object id of the administrator; a token of another principal fails at once. */
    adminObjectId?: string;
    /** Name of the relay's role (the identity's resource name). */
    relayRoleName: string;
    /** Entra object id (principal id) of the relay's managed identity. */
    relayObjectId: string;
    /** Idempotent DDL of the outbox, applied in order inside one transaction. */
    schemaStatements: string[];
    /** The outbox table, `schema.table` or `table` (schema public). */
    outboxTable: string;
    /** Table privileges the relay gets on the outbox table, e.g. SELECT, UPDATE. */
    relayPrivileges: string[];
    retry: { initialDelayMs: number; maxDelayMs: number; budgetMs: number };
}

export type AccessStep = "connect as Entra administrator" | "create the relay's role" | "apply the outbox schema" | "grant the relay its rights";

export class OutboxAccessError extends Error {
    constructor(
        public readonly step: AccessStep,
        message: string,
    ) {
        super(`outbox access, step "${step}": ${message}`);
        this.name = "OutboxAccessError";
    }
}

/** Table privileges PostgreSQL knows (GRANT ... ON TABLE); anything else is refused before SQL is built. */
export const TABLE_PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"] as const;

/** A double-quoted SQL identifier (PostgreSQL: `"` doubled inside). */
export function quoteIdent(name: string): string {
    if (name.length === 0 || name.length > 63 || name.includes("\u0000")) throw new Error(`not a PostgreSQL identifier: ${JSON.stringify(name)}`);
    return `"${name.replace(/"/g, '""')}"`;
}

/** `schema.table` → [`schema`, `table`]; a bare name is in `public`. */
export function splitTable(qualified: string): [string, string] {
    const parts = qualified.split(".");
    if (parts.length === 1) return ["public", parts[0]];
    if (parts.length === 2 && parts[0] && parts[1]) return [parts[0], parts[1]];
    throw new Error(`outboxTable ${JSON.stringify(qualified)} must be "table" or "schema.table"`);
}

/** SQLSTATEs and network failures that mean "not yet": sign-in refused, server starting, too many connections. */
export function isRetryableSqlError(error: unknown): boolean {
    const e = error as { code?: unknown } | undefined;
    const code = typeof e?.code === "string" ? e.code : "";
    if (["28P01", "28000", "57P03", "53300", "08001", "08006"].includes(code)) return true;
    return ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH"].includes(code);
}

function describe(error: unknown): string {
    const e = error as { code?: unknown; message?: unknown };
    const code = typeof e?.code === "string" ? ` [${e.code}]` : "";
    return `${e instanceof Error ? e.message : String(error)}${code}`;
}

/** The `oid` claim of a JWT access token, or undefined when it is not a readable JWT. */
export function tokenObjectId(token: string): string | undefined {
    const payload = token.split(".")[1];
    if (!payload) return undefined;
    try {
        const claims = JSON.parse(Buffer.from(payload.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("utf8")) as { oid?: unknown };
        return typeof claims.oid === "string" ? claims.oid : undefined;
    } catch {
        return undefined;
    }
}

function validate(request: AccessRequest): void {
    const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
    if (!GUID.test(request.relayObjectId)) throw new OutboxAccessError("create the relay's role", `relayObjectId ${JSON.stringify(request.relayObjectId)} is not an Entra object id (GUID)`);
    quoteIdent(request.relayRoleName);
    splitTable(request.outboxTable).forEach(quoteIdent);
    if (request.relayPrivileges.length === 0) throw new OutboxAccessError("grant the relay its rights", "relayPrivileges is empty: the relay could not read the outbox");
    const unknown = request.relayPrivileges.filter((p) => !(TABLE_PRIVILEGES as readonly string[]).includes(p));
    if (unknown.length > 0) throw new OutboxAccessError("grant the relay its rights", `relayPrivileges ${unknown.join(", ")} are not table privileges (${TABLE_PRIVILEGES.join(", ")})`);
    if (request.schemaStatements.length === 0) throw new OutboxAccessError("apply the outbox schema", "schemaStatements is empty");
}

async function withRetry<T>(step: AccessStep, request: AccessRequest, ports: AccessPorts, attempt: () => Promise<T>): Promise<T> {
    let waited = 0;
    let delay = request.retry.initialDelayMs;
    for (let n = 1; ; n++) {
        try {
            return await attempt();
        } catch (error) {
            if (error instanceof OutboxAccessError) throw error;
            if (!isRetryableSqlError(error)) throw new OutboxAccessError(step, `failed: ${describe(error)}`);
            if (waited + delay > request.retry.budgetMs) {
                throw new OutboxAccessError(
                    step,
                    `gave up after ${n} attempts over ${Math.round(waited / 1000)} s; last: ${describe(error)}. ` +
                        "The Entra administrator or a firewall rule may not be in effect yet (docs/azure-outbox-infrastructure.md): run `pulumi up` again.",
                );
            }
            ports.log(`${step}: not yet (${describe(error)}); retrying in ${Math.round(delay / 1000)} s`);
            await ports.sleep(delay);
            waited += delay;
            delay = Math.min(request.retry.maxDelayMs, delay * 2);
        }
    }
}

async function signIn(request: AccessRequest, ports: AccessPorts, database: string): Promise<SqlClient> {
    return withRetry("connect as Entra administrator", request, ports, async () => {
        const token = await ports.token();
        const oid = tokenObjectId(token);
        if (request.adminObjectId && oid && oid.toLowerCase() !== request.adminObjectId.toLowerCase()) {
            throw new OutboxAccessError(
                "connect as Entra administrator",
                `the Azure credential of this process is principal ${oid}, but the server's Entra administrator is ${request.adminObjectId}. Sign both in as the same principal.`,
            );
        }
        return ports.connect({ host: request.host, port: request.port, database, user: request.adminUser, password: token, tls: request.tls });
    });
}

async function using<T>(client: SqlClient, work: (c: SqlClient) => Promise<T>): Promise<T> {
    try {
        return await work(client);
    } finally {
        await client.end().catch(() => undefined);
    }
}

export interface AccessResult {
    /** True when this run created the role; false when it existed, mapped to the same identity. */
    roleCreated: boolean;
    /** What the relay may do on the outbox table, as the server reports it after the grants. */
    grantedPrivileges: string[];
}

/** Creates (or confirms) the relay's role, applies the schema and grants exactly `relayPrivileges`. */
export async function ensureOutboxAccess(request: AccessRequest, ports: AccessPorts): Promise<AccessResult> {
    validate(request);
    const role = request.relayRoleName;

    const roleCreated = await using(await signIn(request, ports, ADMIN_DATABASE), (admin) =>
        withRetry("create the relay's role", request, ports, async () => {
            const principals = await admin.query("SELECT rolname, objectid FROM pg_catalog.pgaadauth_list_principals(false)");
            const mapped = principals.rows.find((r) => r.rolname === role);
            if (mapped) {
                if (String(mapped.objectid).toLowerCase() !== request.relayObjectId.toLowerCase()) {
                    throw new OutboxAccessError("create the relay's role", `role ${role} exists but is mapped to Entra object ${String(mapped.objectid)}, not the relay identity ${request.relayObjectId}; drop it or rename the identity`);
                }
                return false;
            }
            const plain = await admin.query("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", [role]);
            if (plain.rows.length > 0) {
                throw new OutboxAccessError("create the relay's role", `role ${role} exists but is not mapped to any Entra principal; it cannot be the relay's`);
            }
            // Not an administrator (isAdmin false: no azure_pg_admin, no CREATEROLE/CREATEDB), no MFA claim check for a managed identity.
            await admin.query("SELECT * FROM pg_catalog.pgaadauth_create_principal_with_oid($1, $2, 'service', false, false)", [role, request.relayObjectId]);
            return true;
        }),
    );
    ports.log(`create the relay's role: ${role} ${roleCreated ? "created" : "already mapped to the relay identity"}`);

    const [schema, table] = splitTable(request.outboxTable);
    const target = `${quoteIdent(schema)}.${quoteIdent(table)}`;
    const granted = await using(await signIn(request, ports, request.database), async (db) => {
        await withRetry("apply the outbox schema", request, ports, async () => {
            await db.query("BEGIN");
            try {
                for (const statement of request.schemaStatements) await db.query(statement);
                await db.query("COMMIT");
            } catch (error) {
                await db.query("ROLLBACK").catch(() => undefined);
                throw error;
            }
        });
        return withRetry("grant the relay its rights", request, ports, async () => {
            const r = quoteIdent(role);
            await db.query("BEGIN");
            try {
                await db.query(`GRANT CONNECT ON DATABASE ${quoteIdent(request.database)} TO ${r}`);
                await db.query(`GRANT USAGE ON SCHEMA ${quoteIdent(schema)} TO ${r}`);
                // Exactly the requested privileges: whatever an earlier run granted beyond them goes.
                await db.query(`REVOKE ALL ON TABLE ${target} FROM ${r}`);
                await db.query(`GRANT ${request.relayPrivileges.join(", ")} ON TABLE ${target} TO ${r}`);
                await db.query("COMMIT");
            } catch (error) {
                await db.query("ROLLBACK").catch(() => undefined);
                throw error;
            }
            // What the role can do, whichever way it got it (directly, through PUBLIC or a group role).
            const held: string[] = [];
            for (const privilege of TABLE_PRIVILEGES) {
                const check = await db.query("SELECT has_table_privilege($1, $2, $3) AS held", [role, target, privilege]);
                if (check.rows[0]?.held === true) held.push(privilege);
            }
            return held;
        });
    });
    const missing = request.relayPrivileges.filter((p) => !granted.includes(p));
    const extra = granted.filter((p) => !request.relayPrivileges.includes(p));
    if (missing.length > 0 || extra.length > 0) {
        throw new OutboxAccessError(
            "grant the relay its rights",
            `the server reports ${granted.join(", ") || "nothing"} for ${role} on ${request.outboxTable}; wanted exactly ${request.relayPrivileges.join(", ")}` +
                (extra.length > 0 ? ` (held through PUBLIC or a group role: ${extra.join(", ")})` : ""),
        );
    }
    ports.log(`grant the relay its rights: ${role} has ${granted.join(", ")} on ${request.outboxTable}`);
    return { roleCreated, grantedPrivileges: granted };
}
