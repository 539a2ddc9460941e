import type { PostgresServer } from "../../tools/local-servers/postgres";

/**
 * A MODEL of Azure Database for PostgreSQL's Entra functions, installed into a real local
 * PostgreSQL 15 so the outbox-access step runs its real SQL against a real engine. Faithful to what
 * Microsoft Learn documents (MicrosoftDocs/azure-databases-docs, flexible-server/
 * how-to-manage-azure-ad-users.md): `pgaadauth_create_principal_with_oid(roleName, objectId,
 * objectType, isAdmin, isMfa)` creates a login role mapped to an Entra object (`user`, `group` or
 * `service`), returns "Created role for <roleName>", and only a Microsoft Entra administrator may
 * call it; `pgaadauth_list_principals(isAdminValue)` lists the mapped roles. What it cannot model:
 * token validation at sign-in (here the admin's "token" is its SCRAM password) — that part is only
 * verified in Azure.
 */
export async function installPgaadauthModel(server: PostgresServer): Promise<void> {
    await server.sql(
        "postgres",
        `CREATE ROLE azure_pg_admin NOLOGIN;
         CREATE SCHEMA pgaadauth_model;
         CREATE TABLE pgaadauth_model.principals (rolname name PRIMARY KEY, principaltype text NOT NULL, objectid text NOT NULL, isadmin boolean NOT NULL, ismfa boolean NOT NULL);
         CREATE FUNCTION pg_catalog.pgaadauth_create_principal_with_oid(roleName text, objectId text, objectType text, isAdmin boolean, isMfa boolean) RETURNS text
         LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
         BEGIN
           IF NOT pg_has_role(session_user, 'azure_pg_admin', 'MEMBER') THEN
             RAISE EXCEPTION 'only a Microsoft Entra administrator can create Entra roles' USING ERRCODE = '42501';
           END IF;
           IF objectType NOT IN ('user', 'group', 'service') THEN
             RAISE EXCEPTION 'objectType must be user, group or service, got %', objectType USING ERRCODE = '22023';
           END IF;
           EXECUTE format('CREATE ROLE %I LOGIN', roleName);
           IF isAdmin THEN
             EXECUTE format('GRANT azure_pg_admin TO %I', roleName);
             EXECUTE format('ALTER ROLE %I CREATEROLE CREATEDB', roleName);
           END IF;
           INSERT INTO pgaadauth_model.principals VALUES (roleName, objectType, objectId, isAdmin, isMfa);
           RETURN 'Created role for ' || roleName;
         END $$;
         CREATE FUNCTION pg_catalog.pgaadauth_list_principals(isAdminValue boolean)
         RETURNS TABLE(rolname name, principalType text, objectId text, tenantId text, isMfa integer, isAdmin integer)
         LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
           SELECT p.rolname, p.principaltype, p.objectid, ''::text, p.ismfa::int, p.isadmin::int
             FROM pgaadauth_model.principals p WHERE NOT isAdminValue OR p.isadmin
         $$;`,
    );
}

/**
 * The Entra administrator as Azure creates it from AdministratorsMicrosoftEntra: a login role named
 * after the principal, member of azure_pg_admin with CREATEROLE and CREATEDB, mapped to its object id.
 * Its password here is the "token" the test's token source hands out.
 */
export async function createEntraAdmin(server: PostgresServer, name: string, objectId: string, token: string): Promise<void> {
    await server.sql("postgres", `CREATE ROLE "${name}" LOGIN CREATEROLE CREATEDB PASSWORD '${token.replace(/'/g, "''")}' IN ROLE azure_pg_admin`);
    await server.sql("postgres", "INSERT INTO pgaadauth_model.principals VALUES ($1, 'user', $2, true, false)", [name, objectId]);
}

/** A database as the ARM API creates it: owned by azure_pg_admin, so its Entra administrators manage it. */
export async function createAzureDatabase(server: PostgresServer, name: string): Promise<void> {
    await server.sql("postgres", `CREATE DATABASE ${name} OWNER azure_pg_admin`);
}

/** A JWT-shaped token whose payload carries `oid` (signature not checked by anyone here). */
export function fakeEntraToken(oid: string, salt = "a"): string {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    return `${b64({ alg: "none", typ: "JWT" })}.${b64({ oid, aud: "https://ossrdbms-aad.database.windows.net", salt })}.sig`;
}
