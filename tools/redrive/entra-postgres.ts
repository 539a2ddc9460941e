/**
 * A `pg.Pool` to the outbox's Azure Database for PostgreSQL flexible server as the person running
 * the tool: password authentication is off on that server, so the password is the user's own Entra
 * access token for https://ossrdbms-aad.database.windows.net (POSTGRES_ENTRA_SCOPE, the same
 * resource the relay uses), fetched per connection, over TLS with the server certificate verified.
 * The PostgreSQL role of an Entra user is their UPN ("Use Microsoft Entra ID for authentication
 * with Azure Database for PostgreSQL", Microsoft Learn); it is read from the token's `upn` (or
 * `preferred_username`, `unique_name`) claim unless given. A service principal's role is its
 * display name, which the token does not carry: give it with --pg-user.
 * Used by `npm run redrive -- outbox` and by `npm run smoke` (Azure → AWS).
 */
import { isIP } from "net";
import type { Pool } from "pg";
import { POSTGRES_ENTRA_SCOPE } from "../../runtime/azure-relay-host";

/** Azure Database for PostgreSQL listens on 5432. */
export const DEFAULT_PG_PORT = 5432;

/** The claim a PostgreSQL role name is taken from, for an Entra user's token. */
export function userNameOfToken(token: string): string | undefined {
    const payload = token.split(".")[1];
    if (!payload) return undefined;
    try {
        const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
        for (const claim of ["upn", "preferred_username", "unique_name"]) {
            const value = claims[claim];
            if (typeof value === "string" && value !== "") return value;
        }
    } catch {
        /* not a JWT: the caller says what to do */
    }
    return undefined;
}

export interface EntraPostgresTarget {
    host: string;
    port?: number;
    database: string;
    /** The PostgreSQL role; default: from the token. */
    user?: string;
    /** PEM of a CA to trust besides the system's (the tests' self-signed server). */
    caCertificate?: string;
}

/** The token source: DefaultAzureCredential in the tools (az login, AZURE_*, managed identity). */
export type TokenSource = (scope: string) => Promise<string>;

export async function defaultTokenSource(): Promise<TokenSource> {
    const { DefaultAzureCredential } = await import("@azure/identity");
    const credential = new DefaultAzureCredential();
    return async (scope) => {
        let token: { token: string } | null;
        try {
            token = await credential.getToken(scope);
        } catch (error) {
            throw new Error(`cannot get an Entra token for ${scope} with DefaultAzureCredential (az login?): ${(error as Error).message.split("\n")[0]}`);
        }
        if (!token?.token) throw new Error(`DefaultAzureCredential returned no token for ${scope}; run az login`);
        return token.token;
    };
}

export async function entraPostgresPool(target: EntraPostgresTarget, tokens?: TokenSource): Promise<Pool> {
    const { Pool: PgPool } = await import("pg");
    const getToken = tokens ?? (await defaultTokenSource());
    const first = await getToken(POSTGRES_ENTRA_SCOPE);
    const user = target.user ?? userNameOfToken(first);
    if (!user) throw new Error("the Entra token carries no user name (upn); give the PostgreSQL role with --pg-user (a service principal's role is its display name)");
    return new PgPool({
        host: target.host,
        port: target.port ?? DEFAULT_PG_PORT,
        database: target.database,
        user,
        password: () => getToken(POSTGRES_ENTRA_SCOPE),
        ssl: { rejectUnauthorized: true, ...(isIP(target.host) ? {} : { servername: target.host }), ...(target.caCertificate ? { ca: target.caCertificate } : {}) },
        max: 2,
        connectionTimeoutMillis: 15_000,
    });
}
