/**
 * The outbox relay inside Azure Functions (Node.js v4 programming model, timer trigger): reads its
 * app settings, connects to PostgreSQL with the managed identity's Entra token as the password,
 * gets AWS credentials from the same identity through AssumeRoleWithWebIdentity, and drains the
 * outbox into EventBridge until nothing is claimable or the time budget ends.
 *
 * Latency: a committed row waits for the next timer tick (the schedule's period) and then for the
 * rows ahead of it in that run; a run claims batch after batch until a claim comes back empty, so in
 * normal operation (the relay keeps up) an event reaches EventBridge within one period plus one
 * run. Runs do not overlap (a timer function runs as a singleton across instances and does not
 * start again while an invocation is outstanding: "Timer trigger for Azure Functions", Microsoft
 * Learn); FOR UPDATE SKIP LOCKED still keeps any second relay (a slot, a manual run) off claimed rows.
 *
 * Nothing happens at import. The closure built by components/ calls
 * `createOutboxRelayTimerHandler(readRelaySettings(process.env))` once per worker; clients are
 * created on the first invocation and reused.
 */
import type { ConnectionOptions } from "tls";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { STSClient } from "@aws-sdk/client-sts";
import { ManagedIdentityCredential } from "@azure/identity";
import { Pool } from "pg";
import { createWebIdentityCredentialsProvider, EntraTokenSource } from "./aws-web-identity";
import { createJsonLogger, describeError, Logger } from "./logger";
import { createPostgresOutboxRelay, PostgresOutboxRelay, RelayRunSummary } from "./postgres-outbox/relay";
import { checkOutboxTableName, DEFAULT_PG_OUTBOX_TABLE, PgQueryable, purgePublishedOutboxRows } from "./postgres-outbox/schema";
import type { PutEventsPort } from "./relay";

/**
 * Entra ID scope of Azure Database for PostgreSQL (flexible server): the access token requested
 * for it is the connection password ("Use Microsoft Entra ID for authentication with Azure
 * Database for PostgreSQL", Microsoft Learn: resource https://ossrdbms-aad.database.windows.net).
 */
export const POSTGRES_ENTRA_SCOPE = "https://ossrdbms-aad.database.windows.net/.default";

/** Longest single AWS HTTP request (STS, PutEvents) before the SDK gives up on it. */
export const AWS_REQUEST_TIMEOUT_MS = 10_000;

/**
 * Log lines of the host that an Azure Monitor log search alert reads. `backlog`: one per invocation,
 * whatever its outcome (INFO), with `oldestPendingAgeSeconds`, `pendingBacklog` and `parkedTotal`
 * as top-level fields of the JSON line (the trace's message), so the alert's query can
 * `parse_json(message)` them. A key of this object is a contract with components/azure/outbox-relay-app.ts.
 */
export const RELAY_HOST_LOG_MESSAGES = {
  backlog: "Outbox backlog",
} as const;

/** App settings the relay reads; each error names the setting. Keys are a contract with components/. */
export const RELAY_SETTING_NAMES = {
  pgHost: "MESH_OUTBOX_PG_HOST",
  pgPort: "MESH_OUTBOX_PG_PORT",
  pgDatabase: "MESH_OUTBOX_PG_DATABASE",
  /** The PostgreSQL role of the managed identity (created by the Entra admin, named after the identity). */
  pgUser: "MESH_OUTBOX_PG_USER",
  outboxTable: "MESH_OUTBOX_TABLE",
  awsRoleArn: "MESH_AWS_ROLE_ARN",
  awsRegion: "MESH_AWS_REGION",
  eventBusName: "MESH_EVENT_BUS_NAME",
  /** Application ID URI (or client id) of the Entra app standing for AWS; the trust pins it as `aud`. */
  audience: "MESH_AWS_TOKEN_AUDIENCE",
  roleSessionName: "MESH_AWS_ROLE_SESSION_NAME",
  /** Client id of the user-assigned managed identity (same setting name as the consumer's). */
  clientId: "AZURE_CLIENT_ID",
  budgetMs: "MESH_RELAY_BUDGET_MS",
  leaseMs: "MESH_RELAY_LEASE_MS",
  batchSize: "MESH_RELAY_BATCH_SIZE",
  /** Optional: delete published rows older than this many hours after each run (needs DELETE on the table). Unset: keep them. */
  retentionHours: "MESH_OUTBOX_RETENTION_HOURS",
} as const;

export interface RelaySettings {
  pg: { host: string; port: number; database: string; user: string; table: string };
  aws: { roleArn: string; region: string; eventBusName: string; roleSessionName: string };
  entra: { audience: string; clientId: string };
  /** How long one invocation keeps claiming batches. Keep it below the timer period and the function timeout minus one lease. */
  budgetMs: number;
  leaseMs: number;
  batchSize: number;
  /** Published rows older than this are deleted after each run; undefined keeps them. */
  retentionMs?: number;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
// EventBridge API reference, PutEventsRequestEntry.EventBusName: 1–1600 characters, a name or a bus ARN.
const EVENT_BUS = /^(arn:aws[\w-]*:events:[a-z]{2}-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[/.\-_A-Za-z0-9]{1,256}$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const ROLE_SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

/** Reads and checks the relay's app settings; throws one error listing every bad setting. */
export function readRelaySettings(env: Record<string, string | undefined>): RelaySettings {
  const n = RELAY_SETTING_NAMES;
  const problems: string[] = [];
  const required = (name: string, pattern?: RegExp, shape?: string): string => {
    const value = env[name];
    if (value === undefined || value.trim() === "") {
      problems.push(`${name} is not set`);
      return "";
    }
    if (pattern && !pattern.test(value)) problems.push(`${name}=${JSON.stringify(value)} is not ${shape}`);
    return value;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) problems.push(`${name}=${JSON.stringify(raw)} is not an integer in ${min}..${max}`);
    return value;
  };
  const host = required(n.pgHost);
  const port = integer(n.pgPort, 5432, 1, 65_535);
  const database = required(n.pgDatabase);
  const user = required(n.pgUser);
  const table = env[n.outboxTable] || DEFAULT_PG_OUTBOX_TABLE;
  try {
    checkOutboxTableName(table, n.outboxTable);
  } catch (error) {
    problems.push((error as Error).message);
  }
  const roleArn = required(n.awsRoleArn, ROLE_ARN, "an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>)");
  const region = required(n.awsRegion, REGION, "an AWS region such as eu-west-1");
  const eventBusName = required(n.eventBusName, EVENT_BUS, "an EventBridge bus name or ARN");
  const audience = required(n.audience);
  const clientId = required(n.clientId, GUID, "a client id (GUID) of the user-assigned managed identity");
  const roleSessionName = env[n.roleSessionName] || "mesh-outbox-relay";
  if (!ROLE_SESSION_NAME.test(roleSessionName)) problems.push(`${n.roleSessionName}=${JSON.stringify(roleSessionName)} is not 2-64 characters of [A-Za-z0-9_+=,.@-]`);
  const budgetMs = integer(n.budgetMs, 50_000, 1_000, 600_000);
  const leaseMs = integer(n.leaseMs, 120_000, 5_000, 3_600_000);
  const batchSize = integer(n.batchSize, 100, 1, 1_000);
  const retentionHours = env[n.retentionHours] ? integer(n.retentionHours, 0, 1, 24 * 366) : undefined;
  if (problems.length > 0) {
    throw new Error(`outbox relay settings are invalid; events stay pending in the outbox until they are fixed:\n  - ${problems.join("\n  - ")}`);
  }
  return {
    pg: { host, port, database, user, table },
    aws: { roleArn, region, eventBusName, roleSessionName },
    entra: { audience, clientId },
    budgetMs,
    leaseMs,
    batchSize,
    retentionMs: retentionHours === undefined ? undefined : retentionHours * 3600_000,
  };
}

/** The logging surface of a Functions v4 `InvocationContext` that the relay uses. */
export interface InvocationContextLike {
  log(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/** What tests (and other hosts) can replace; production passes nothing. */
export interface RelayHostDeps {
  /** Default: ManagedIdentityCredential with the settings' client id. */
  tokenSource?: EntraTokenSource;
  /** Default: a `pg.Pool` with the Entra token as the password, fetched per connection. */
  db?: PgQueryable;
  /** Default: an EventBridgeClient with web-identity credentials. */
  eventBridge?: PutEventsPort;
  /** Endpoint overrides for local models (default: the AWS regional endpoints). */
  stsEndpoint?: string;
  eventBridgeEndpoint?: string;
  /** Default AWS_REQUEST_TIMEOUT_MS. */
  awsRequestTimeoutMs?: number;
  /** TLS for PostgreSQL. Default: verified TLS to the host name (the server requires TLS). */
  pgSsl?: ConnectionOptions | false;
  logger?: Logger;
}

export interface OutboxRelayTimerHandler {
  (timer?: unknown, context?: InvocationContextLike): Promise<RelayRunSummary>;
  /** Ends the pool and the AWS clients this handler created (tests, graceful shutdown). */
  close(): Promise<void>;
}

export function createOutboxRelayTimerHandler(settings: RelaySettings, deps: RelayHostDeps = {}): OutboxRelayTimerHandler {
  // One object holds the lazily built clients and the steps (closure serializer; runtime/README.md).
  const state = {
    relay: undefined as PostgresOutboxRelay | undefined,
    db: undefined as PgQueryable | undefined,
    closers: [] as Array<() => Promise<void> | void>,
    context: undefined as InvocationContextLike | undefined,
    write(line: string): void {
      const context = state.context;
      if (!context) process.stdout.write(line + "\n");
      else if (line.includes('"level":"ERROR"')) context.error(line);
      else context.log(line);
    },
    logger: undefined as Logger | undefined,
    build(): PostgresOutboxRelay {
      const logger = deps.logger ?? createJsonLogger({ service: "outbox-relay", write: (line) => state.write(line) });
      state.logger = logger;
      const tokenSource: EntraTokenSource =
        deps.tokenSource ?? (new ManagedIdentityCredential({ clientId: settings.entra.clientId }) as unknown as EntraTokenSource);
      let db = deps.db;
      if (!db) {
        const pool = new Pool({
          host: settings.pg.host,
          port: settings.pg.port,
          database: settings.pg.database,
          user: settings.pg.user,
          // pg calls this for every new connection, so a reconnect after the token expired gets a fresh one.
          password: async () => {
            const token = await tokenSource.getToken(POSTGRES_ENTRA_SCOPE);
            if (!token?.token) throw new Error(`no Entra token for ${POSTGRES_ENTRA_SCOPE} (PostgreSQL password of ${settings.pg.user})`);
            return token.token;
          },
          // pg sets SNI and checks the certificate against the host name; Azure requires TLS.
          ssl: deps.pgSsl ?? { rejectUnauthorized: true },
          max: 2,
          connectionTimeoutMillis: 15_000,
          // Server-side cap per statement: a stuck claim or update fails the run instead of outliving the lease.
          statement_timeout: 30_000,
          idleTimeoutMillis: 60_000,
        });
        // An idle client's error would otherwise crash the worker; the next query reconnects.
        pool.on("error", (error) => logger.warn("PostgreSQL idle connection failed", { error: describeError(error) }));
        db = pool;
        state.closers.push(() => pool.end());
      }
      state.db = db;
      let eventBridge = deps.eventBridge;
      if (!eventBridge) {
        // Bounded calls keep one batch well inside its lease: 10 requests, 4 in flight, 3 attempts
        // of at most AWS_REQUEST_TIMEOUT_MS each is about 90 s against a 120 s default lease.
        // throwOnRequestTimeout: without it @smithy/node-http-handler 4.x only logs a warning when
        // requestTimeout passes and keeps waiting (the host test's silent endpoint shows it).
        const requestHandler = { connectionTimeout: 5_000, requestTimeout: deps.awsRequestTimeoutMs ?? AWS_REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true };
        const sts = new STSClient({ region: settings.aws.region, endpoint: deps.stsEndpoint, requestHandler });
        const credentials = createWebIdentityCredentialsProvider({
          tokenSource,
          audience: settings.entra.audience,
          roleArn: settings.aws.roleArn,
          roleSessionName: settings.aws.roleSessionName,
          sts,
        });
        const client = new EventBridgeClient({ region: settings.aws.region, endpoint: deps.eventBridgeEndpoint, credentials, maxAttempts: 3, requestHandler });
        state.closers.push(() => client.destroy(), () => sts.destroy());
        eventBridge = client;
      }
      return createPostgresOutboxRelay({
        db,
        eventBridge,
        eventBusName: settings.aws.eventBusName,
        logger,
        table: settings.pg.table,
        batchSize: settings.batchSize,
        leaseMs: settings.leaseMs,
      });
    },
    async run(timer: unknown, context: InvocationContextLike | undefined): Promise<RelayRunSummary> {
      state.context = context;
      const relay = (state.relay ??= state.build());
      try {
        const summary = await relay.drain({ budgetMs: settings.budgetMs });
        state.reportBacklog(summary);
        if (settings.retentionMs !== undefined) {
          const purged = await purgePublishedOutboxRows(state.db!, { table: settings.pg.table, olderThanMs: settings.retentionMs });
          if (purged > 0) state.logger?.info("Outbox published rows purged", { purged, retentionMs: settings.retentionMs });
        }
        return summary;
      } catch (error) {
        state.logger?.error("Outbox relay run failed; pending rows stay pending (claimed ones return when their lease ends)", {
          error: describeError(error),
          pastDue: (timer as { isPastDue?: boolean } | undefined)?.isPastDue,
        });
        // A failed run is when the backlog grows: report it if the database still answers (the failure alert covers the rest).
        if (!state.backlogReported) await relay.stats().then((stats) => state.reportBacklog(stats), () => undefined);
        throw error;
      } finally {
        state.backlogReported = false;
      }
    },
    backlogReported: false,
    reportBacklog(stats: Pick<RelayRunSummary, "pendingBacklog" | "oldestPendingAgeSeconds" | "parkedTotal">): void {
      state.backlogReported = true;
      state.logger?.info(RELAY_HOST_LOG_MESSAGES.backlog, {
        oldestPendingAgeSeconds: stats.oldestPendingAgeSeconds,
        pendingBacklog: stats.pendingBacklog,
        parkedTotal: stats.parkedTotal,
        table: settings.pg.table,
      });
    },
  };
  const handler = ((timer?: unknown, context?: InvocationContextLike) => state.run(timer, context)) as OutboxRelayTimerHandler;
  handler.close = async () => {
    const closers = state.closers.splice(0);
    state.relay = undefined;
    for (const close of closers) await close();
  };
  return handler;
}
