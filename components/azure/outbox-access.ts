import * as pulumi from "@pulumi/pulumi";
import * as setup from "./outbox-access-setup";
import { credentialKind } from "./package-deployment";

/** What the resource stores; the inputs of every create/update. */
export interface OutboxAccessState {
    host: string;
    port: number;
    tls: boolean;
    database: string;
    adminUser: string;
    adminObjectId: string;
    relayRoleName: string;
    relayObjectId: string;
    schemaStatements: string[];
    outboxTable: string;
    relayPrivileges: string[];
    retryInitialDelayMs: number;
    retryMaxDelayMs: number;
    retryBudgetMs: number;
    /** Outputs: what the server reported after the grants. */
    grantedPrivileges?: string[];
}

export interface OutboxAccessArgs {
    /** Server FQDN (`<server>.postgres.database.azure.com`). */
    host: pulumi.Input<string>;
    /** Server port (5432). */
    port?: pulumi.Input<number>;
    /** Require TLS and verify the server certificate (default true; only a local test server turns it off). */
    tls?: pulumi.Input<boolean>;
    /** The outbox database. */
    database: pulumi.Input<string>;
    /** PostgreSQL user of the Entra administrator: the `principalName` the server knows the deployer by. */
    adminUser: pulumi.Input<string>;
    /** Entra object id of that administrator (the deployer). */
    adminObjectId: pulumi.Input<string>;
    /** Role name for the relay (the relay identity's resource name). */
    relayRoleName: pulumi.Input<string>;
    /** Entra object id (principal id) of the relay identity: the role is mapped to exactly this object. */
    relayObjectId: pulumi.Input<string>;
    /** Idempotent outbox DDL (from the runtime's schema module). */
    schemaStatements: pulumi.Input<pulumi.Input<string>[]>;
    /** The outbox table (`schema.table`). */
    outboxTable: pulumi.Input<string>;
    /** Table privileges of the relay on the outbox table, exactly. */
    relayPrivileges: pulumi.Input<pulumi.Input<string>[]>;
    /** Retry of each step while the administrator and firewall rules take effect (ms). */
    retry?: { initialDelayMs: number; maxDelayMs: number; budgetMs: number };
}

/** The deployer's Entra token for Azure Database for PostgreSQL. */
export type PostgresTokenSource = () => Promise<string>;

/**
 * The deployer's credential, found as the azure-native provider finds it (ARM_CLIENT_ID /
 * ARM_CLIENT_SECRET / ARM_TENANT_ID, else DefaultAzureCredential), read in the provider process
 * when a token is needed (the same rule as package-deployment.ts).
 */
export function deployerPostgresToken(): PostgresTokenSource {
    let credential: { getToken(scope: string): Promise<{ token: string } | null> } | undefined;
    return async () => {
        if (!credential) {
            const identity = require("@azure/identity");
            const env = process.env;
            credential =
                credentialKind(env) === "client-secret"
                    ? new identity.ClientSecretCredential(env.ARM_TENANT_ID, env.ARM_CLIENT_ID, env.ARM_CLIENT_SECRET)
                    : new identity.DefaultAzureCredential();
        }
        const token = await credential!.getToken(setup.POSTGRES_ENTRA_SCOPE);
        if (!token) throw new Error(`no Entra ID token for ${setup.POSTGRES_ENTRA_SCOPE} from the deployer's credential`);
        return token.token;
    };
}

/** Ports in a provider process: node-postgres, the token source, timers, stderr. */
export function accessPorts(token: PostgresTokenSource, trust: { ca?: string } = {}): setup.AccessPorts {
    return {
        token,
        connect: async (p) => {
            const { Client } = require("pg");
            const client = new Client({
                host: p.host,
                port: p.port,
                database: p.database,
                user: p.user,
                password: p.password,
                // Azure's certificate chains to public roots Node trusts; `ca` is only for a local test server.
                ssl: p.tls ? { rejectUnauthorized: true, minVersion: "TLSv1.2", ...(trust.ca ? { ca: trust.ca } : {}) } : false,
                connectionTimeoutMillis: 30_000,
            });
            try {
                await client.connect();
            } catch (error) {
                await client.end().catch(() => undefined);
                throw error;
            }
            return client;
        },
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        log: (line) => process.stderr.write(`[outbox access] ${line}\n`),
    };
}

function requestOf(s: OutboxAccessState): setup.AccessRequest {
    return {
        host: s.host,
        port: s.port,
        tls: s.tls,
        database: s.database,
        adminUser: s.adminUser,
        adminObjectId: s.adminObjectId || undefined,
        relayRoleName: s.relayRoleName,
        relayObjectId: s.relayObjectId,
        schemaStatements: s.schemaStatements,
        outboxTable: s.outboxTable,
        relayPrivileges: s.relayPrivileges,
        retry: { initialDelayMs: s.retryInitialDelayMs, maxDelayMs: s.retryMaxDelayMs, budgetMs: s.retryBudgetMs },
    };
}

/**
 * The dynamic provider. Pulumi serializes it with what it captures (this module's functions and
 * `token`) and runs it in the engine's process; `pg` and `@azure/identity` are required inside.
 */
export function outboxAccessProvider(token: PostgresTokenSource, trust: { ca?: string } = {}): pulumi.dynamic.ResourceProvider {
    // Inside the factory: an exported constant would be read through `exports`, which the serialized provider lacks.
    const applyKeys = ["host", "port", "database", "relayRoleName", "relayObjectId", "schemaStatements", "outboxTable", "relayPrivileges", "adminUser"] as const;
    const applyTo = async (state: OutboxAccessState): Promise<OutboxAccessState> => {
        const result = await setup.ensureOutboxAccess(requestOf(state), accessPorts(token, trust));
        return { ...state, grantedPrivileges: result.grantedPrivileges };
    };
    return {
        create: async (inputs: OutboxAccessState) => {
            const outs = await applyTo(inputs);
            return { id: `${inputs.host}/${inputs.database}/${inputs.relayRoleName}`, outs };
        },
        diff: async (_id: string, olds: OutboxAccessState, news: OutboxAccessState) => {
            const changed = applyKeys.filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
            // A new identity or role name is a new role: replace, so the state names the role that exists.
            const replaces = changed.filter((k) => k === "relayObjectId" || k === "relayRoleName" || k === "host");
            return { changes: changed.length > 0, replaces, deleteBeforeReplace: false };
        },
        update: async (_id: string, _olds: OutboxAccessState, news: OutboxAccessState) => ({ outs: await applyTo(news) }),
        // The role goes with the server; dropping it here would stop a relay that still runs, and a
        // role mapped to a deleted identity cannot sign in (no token is issued for it).
        delete: async () => {},
    };
}

/**
 * Runs on `pulumi up`: signs in to the outbox server as its Entra administrator (the deployer, with
 * the deployer's own token), maps a role to exactly the relay identity's object id, applies the
 * outbox schema and grants the relay exactly `relayPrivileges` on the outbox table
 * (outbox-access-setup.ts). Again whenever the schema, the identity or the privileges change.
 */
export class OutboxAccess extends pulumi.dynamic.Resource {
    declare public readonly grantedPrivileges: pulumi.Output<string[]>;
    declare public readonly relayRoleName: pulumi.Output<string>;

    constructor(name: string, args: OutboxAccessArgs, opts?: pulumi.CustomResourceOptions, token: PostgresTokenSource = deployerPostgresToken()) {
        const retry = args.retry ?? { initialDelayMs: 5_000, maxDelayMs: 60_000, budgetMs: 15 * 60_000 };
        super(
            outboxAccessProvider(token),
            name,
            {
                host: args.host,
                port: args.port ?? 5432,
                tls: args.tls ?? true,
                database: args.database,
                adminUser: args.adminUser,
                adminObjectId: args.adminObjectId,
                relayRoleName: args.relayRoleName,
                relayObjectId: args.relayObjectId,
                schemaStatements: args.schemaStatements,
                outboxTable: args.outboxTable,
                relayPrivileges: args.relayPrivileges,
                retryInitialDelayMs: retry.initialDelayMs,
                retryMaxDelayMs: retry.maxDelayMs,
                retryBudgetMs: retry.budgetMs,
                grantedPrivileges: undefined,
            },
            opts,
            "multicloud-mesh",
            "OutboxAccess",
        );
    }
}
