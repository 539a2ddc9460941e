import { strict as assert } from "assert";
import * as net from "net";
import { Pool } from "pg";
import { createOutboxRelayTimerHandler, POSTGRES_ENTRA_SCOPE, readRelaySettings, RELAY_HOST_LOG_MESSAGES, RELAY_SETTING_NAMES } from "../../runtime/azure-relay-host";
import { EntraTokenSource } from "../../runtime/aws-web-identity";
import { RELAY_LOG_MESSAGES } from "../../runtime/postgres-outbox/relay";
import { ensureOutboxSchema } from "../../runtime/postgres-outbox/schema";
import { createPostgresOutboxWriter } from "../../runtime/postgres-outbox/writer";
import { PutEventsEndpoint, startPutEventsEndpoint } from "../../tools/local-servers/put-events-endpoint";
import { PostgresServer, startPostgres } from "../../tools/local-servers/postgres";
import { createTokenIssuerModel, startStsEndpoint, StsEndpoint, TokenIssuerModel } from "../../tools/local-servers/sts-endpoint";
import { makeEvent } from "../support/events";

/**
 * The relay's Functions entry end to end, as deployed except for the clouds: real PostgreSQL 15
 * requiring TLS and a password for the relay's role (standing in for Azure's Entra token check:
 * the "token" for the PostgreSQL scope is that role's password), the STS model, the local PutEvents
 * endpoint. What it cannot show: Entra issuing these tokens, Azure accepting one as a password.
 */
describe("Outbox relay host (Functions timer entry) on TLS-only PostgreSQL, STS model, PutEvents endpoint", function () {
  this.timeout(30_000);
  const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
  const audience = "api://multicloud-mesh-aws";
  const principalId = "0b5a6f2e-1c7d-4a8e-9f00-3c2b1a0d9e8f";
  const clientId = "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b";
  const roleArn = "arn:aws:iam::123456789012:role/mesh-azure-relay";
  const pgToken = "entra-token-standing-in-as-password";
  let server: PostgresServer;
  let sts: StsEndpoint;
  let events: PutEventsEndpoint;
  let issuer: TokenIssuerModel;
  let producerPool: Pool;
  let requestedScopes: string[];

  const env = (overrides: Record<string, string | undefined> = {}) => ({
    [RELAY_SETTING_NAMES.pgHost]: "127.0.0.1",
    [RELAY_SETTING_NAMES.pgPort]: String(server.port),
    [RELAY_SETTING_NAMES.pgDatabase]: "shop",
    [RELAY_SETTING_NAMES.pgUser]: "mesh_relay",
    [RELAY_SETTING_NAMES.awsRoleArn]: roleArn,
    [RELAY_SETTING_NAMES.awsRegion]: "eu-west-1",
    [RELAY_SETTING_NAMES.eventBusName]: "mesh-bus",
    [RELAY_SETTING_NAMES.audience]: audience,
    [RELAY_SETTING_NAMES.clientId]: clientId,
    ...overrides,
  });
  const tokenSource: EntraTokenSource = {
    async getToken(scope) {
      requestedScopes.push(scope);
      if (scope === POSTGRES_ENTRA_SCOPE) return { token: pgToken, expiresOnTimestamp: Date.now() + 3600_000 };
      return { token: issuer.sign({ aud: audience, sub: principalId, oid: principalId, appid: clientId, tid: tenant, ver: "1.0" }), expiresOnTimestamp: Date.now() + 3600_000 };
    },
  };
  const context = () => {
    const lines: { level: "log" | "error"; line: string }[] = [];
    return { lines, log: (line: unknown) => void lines.push({ level: "log", line: String(line) }), error: (line: unknown) => void lines.push({ level: "error", line: String(line) }) };
  };

  before(async () => {
    [server, sts, events] = await Promise.all([startPostgres({ tls: true }), startStsEndpoint(), startPutEventsEndpoint()]);
    issuer = createTokenIssuerModel(`https://sts.windows.net/${tenant}/`);
    sts.addProvider({ issuer: issuer.issuer, clientIds: [audience], publicKey: issuer.publicKey });
    sts.addRole({ roleArn, issuer: issuer.issuer, conditions: { aud: audience, sub: principalId } });
    await server.createDatabase("shop");
    producerPool = new Pool(server.superuserConfig("shop"));
    const client = await producerPool.connect();
    await ensureOutboxSchema(client);
    client.release();
    // The relay's role gets what the relay does and nothing more: read and update outbox rows.
    await server.createRole("mesh_relay", pgToken);
    await server.sql("shop", "GRANT SELECT, UPDATE ON mesh_outbox TO mesh_relay");
  });
  after(async () => {
    await producerPool?.end();
    await Promise.all([server?.stop(), sts?.stop(), events?.stop()]);
  });
  beforeEach(() => {
    requestedScopes = [];
    events.reset();
    sts.calls.length = 0;
    sts.issued.length = 0;
  });

  it("readRelaySettings names every missing or malformed setting", () => {
    assert.throws(() => readRelaySettings({}), (e: Error) => {
      for (const name of ["pgHost", "pgDatabase", "pgUser", "awsRoleArn", "awsRegion", "eventBusName", "audience", "clientId"] as const) {
        assert.ok(e.message.includes(`${RELAY_SETTING_NAMES[name]} is not set`), `${RELAY_SETTING_NAMES[name]} named`);
      }
      return true;
    });
    assert.throws(
      () => readRelaySettings(env({ [RELAY_SETTING_NAMES.awsRoleArn]: "arn:aws:iam::1:user/x", [RELAY_SETTING_NAMES.clientId]: "nope", [RELAY_SETTING_NAMES.budgetMs]: "-1", [RELAY_SETTING_NAMES.outboxTable]: "Bad-Name" })),
      (e: Error) => ["MESH_AWS_ROLE_ARN", "AZURE_CLIENT_ID", "MESH_RELAY_BUDGET_MS", "MESH_OUTBOX_TABLE"].every((n) => e.message.includes(n)),
    );
    const settings = readRelaySettings(env());
    assert.deepEqual(settings.pg, { host: "127.0.0.1", port: server.port, database: "shop", user: "mesh_relay", table: "mesh_outbox" });
    assert.equal(settings.budgetMs, 50_000);
  });

  it("drains the outbox over TLS with the Entra token as the password, publishing with web-identity credentials", async () => {
    const ids = (await createPostgresOutboxWriter({ pool: producerPool }).commit(Array.from({ length: 15 }, () => makeEvent()), async () => undefined)).eventIds;
    const handler = createOutboxRelayTimerHandler(readRelaySettings(env()), {
      tokenSource,
      stsEndpoint: sts.endpoint,
      eventBridgeEndpoint: events.endpoint,
      pgSsl: { ca: server.caCertificate, rejectUnauthorized: true },
    });
    try {
      const ctx = context();
      const summary = await handler({ isPastDue: false }, ctx);
      assert.equal(summary.published, 15);
      assert.equal(summary.drained, true);
      assert.ok(requestedScopes.includes(POSTGRES_ENTRA_SCOPE), "PostgreSQL password from the Entra token");
      assert.ok(requestedScopes.includes(`${audience}/.default`), "AWS exchange from the Entra token");
      assert.equal(sts.calls.length, 1);
      assert.match(String(events.requests[0].headers.authorization), new RegExp(`Credential=${sts.issued[0].accessKeyId}/`));
      assert.equal(events.accepted.length, 15);
      const statuses = (await producerPool.query("SELECT status FROM mesh_outbox WHERE event_id = ANY($1::uuid[])", [ids])).rows.map((r) => r.status);
      assert.ok(statuses.every((s) => s === "published"));
      const backlog = ctx.lines.find((l) => l.line.includes(`"message":"${RELAY_HOST_LOG_MESSAGES.backlog}"`));
      assert.ok(backlog && backlog.level === "log", "a backlog line per invocation");
      assert.deepEqual(Object.keys(JSON.parse(backlog.line)).filter((k) => k !== "timestamp"), ["level", "message", "service", "oldestPendingAgeSeconds", "pendingBacklog", "parkedTotal", "table"]);
      const run = ctx.lines.find((l) => l.line.includes(RELAY_LOG_MESSAGES.run));
      assert.ok(run && run.level === "log", "the run summary goes to the invocation's log");
      assert.equal(JSON.parse(run.line).published, 15);

      const again = await handler(undefined, context());
      assert.equal(again.published, 0);
      assert.equal(sts.calls.length, 1, "credentials reused across invocations");
    } finally {
      await handler.close();
    }
  });

  it("refuses to run without TLS or with a wrong token; the error is logged and rows stay pending", async () => {
    const ids = (await createPostgresOutboxWriter({ pool: producerPool }).commit([makeEvent()], async () => undefined)).eventIds;
    const plain = createOutboxRelayTimerHandler(readRelaySettings(env()), { tokenSource, stsEndpoint: sts.endpoint, eventBridgeEndpoint: events.endpoint, pgSsl: false });
    const ctx = context();
    try {
      await assert.rejects(plain(undefined, ctx), /no pg_hba.conf entry.*no encryption|pg_hba/);
      assert.ok(ctx.lines.some((l) => l.level === "error" && l.line.includes("Outbox relay run failed")));
    } finally {
      await plain.close();
    }
    const wrongToken: EntraTokenSource = { getToken: async (scope) => (scope === POSTGRES_ENTRA_SCOPE ? { token: "stale", expiresOnTimestamp: 0 } : tokenSource.getToken(scope)) };
    const denied = createOutboxRelayTimerHandler(readRelaySettings(env()), { tokenSource: wrongToken, stsEndpoint: sts.endpoint, eventBridgeEndpoint: events.endpoint, pgSsl: { ca: server.caCertificate } });
    try {
      await assert.rejects(denied(undefined, context()), /password authentication failed for user "mesh_relay"/);
    } finally {
      await denied.close();
    }
    assert.equal(events.requests.length, 0);
    assert.equal((await producerPool.query("SELECT status FROM mesh_outbox WHERE event_id = $1", [ids[0]])).rows[0].status, "pending");
  });

  it("an EventBridge endpoint that never answers fails the request in bounded time; the rows go back", async () => {
    const ids = (await createPostgresOutboxWriter({ pool: producerPool }).commit([makeEvent(), makeEvent()], async () => undefined)).eventIds;
    // Committed ten minutes ago: the backlog line must report that age, read from the database.
    await producerPool.query("UPDATE mesh_outbox SET created_at = created_at - interval '10 minutes' WHERE event_id = ANY($1::uuid[])", [ids]);
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const handler = createOutboxRelayTimerHandler(readRelaySettings(env()), {
      tokenSource,
      stsEndpoint: sts.endpoint,
      eventBridgeEndpoint: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`,
      awsRequestTimeoutMs: 300,
      pgSsl: { ca: server.caCertificate },
    });
    try {
      const started = Date.now();
      const ctx = context();
      const summary = await handler(undefined, ctx);
      assert.equal(summary.stoppedBy, "requestFailure");
      const backlog = ctx.lines.filter((l) => JSON.parse(l.line).message === RELAY_HOST_LOG_MESSAGES.backlog).map((l) => JSON.parse(l.line));
      assert.equal(backlog.length, 1, "one backlog line per invocation");
      assert.ok(backlog[0].oldestPendingAgeSeconds >= 600 && backlog[0].oldestPendingAgeSeconds < 900, JSON.stringify(backlog[0]));
      assert.ok(backlog[0].pendingBacklog >= 2);
      assert.ok(Date.now() - started < 8_000, `bounded by the request timeout (took ${Date.now() - started} ms)`);
      const rows = (await producerPool.query("SELECT status, last_error FROM mesh_outbox WHERE event_id = ANY($1::uuid[])", [ids])).rows;
      assert.ok(rows.every((r) => r.status === "pending" && /RequestFailed: TimeoutError/.test(r.last_error)), JSON.stringify(rows));
    } finally {
      await handler.close();
      silent.close();
    }
  });

  it("a run that fails before its summary still reports the backlog while the database answers", async () => {
    await createPostgresOutboxWriter({ pool: producerPool }).commit([makeEvent()], async () => undefined);
    await server.sql("shop", "REVOKE UPDATE ON mesh_outbox FROM mesh_relay");
    const handler = createOutboxRelayTimerHandler(readRelaySettings(env()), { tokenSource, stsEndpoint: sts.endpoint, eventBridgeEndpoint: events.endpoint, pgSsl: { ca: server.caCertificate } });
    try {
      const ctx = context();
      await assert.rejects(handler(undefined, ctx), /permission denied for table mesh_outbox/);
      const backlog = ctx.lines.filter((l) => l.line.includes(`"message":"${RELAY_HOST_LOG_MESSAGES.backlog}"`)).map((l) => JSON.parse(l.line));
      assert.equal(backlog.length, 1);
      assert.ok(backlog[0].pendingBacklog >= 1, JSON.stringify(backlog[0]));
    } finally {
      await handler.close();
      await server.sql("shop", "GRANT UPDATE ON mesh_outbox TO mesh_relay");
    }
  });

  it("with MESH_OUTBOX_RETENTION_HOURS it purges old published rows after the run (and fails loudly without DELETE)", async () => {
    const [old] = (await createPostgresOutboxWriter({ pool: producerPool }).commit([makeEvent()], async () => undefined)).eventIds;
    await producerPool.query("UPDATE mesh_outbox SET status = 'published', published_at = clock_timestamp() - interval '3 hours' WHERE event_id = $1", [old]);
    const settings = readRelaySettings(env({ [RELAY_SETTING_NAMES.retentionHours]: "2" }));
    assert.equal(settings.retentionMs, 2 * 3600_000);
    const deps = { tokenSource, stsEndpoint: sts.endpoint, eventBridgeEndpoint: events.endpoint, pgSsl: { ca: server.caCertificate } };
    const withoutGrant = createOutboxRelayTimerHandler(settings, deps);
    try {
      const ctx = context();
      await assert.rejects(withoutGrant(undefined, ctx), /permission denied for table mesh_outbox/);
      // The run failed after the drain: its backlog line is there once, not twice.
      assert.equal(ctx.lines.filter((l) => l.line.includes(`"message":"${RELAY_HOST_LOG_MESSAGES.backlog}"`)).length, 1);
    } finally {
      await withoutGrant.close();
    }
    await server.sql("shop", "GRANT DELETE ON mesh_outbox TO mesh_relay");
    const handler = createOutboxRelayTimerHandler(settings, deps);
    try {
      await handler(undefined, context());
      assert.equal((await producerPool.query("SELECT count(*) AS n FROM mesh_outbox WHERE event_id = $1", [old])).rows[0].n, "0");
    } finally {
      await handler.close();
      await server.sql("shop", "REVOKE DELETE ON mesh_outbox FROM mesh_relay");
    }
  });
});
