import { strict as assert } from "assert";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { Pool } from "pg";
import { buildRelayPackage, RELAY_RUNTIME_PACKAGES } from "../../components/azure/outbox-relay-package";
import { writeArchive } from "../../tools/archives";
import { RELAY_SETTING_NAMES } from "../../runtime/azure-relay-host";
import { ensureOutboxSchema } from "../../runtime/postgres-outbox/schema";
import { createPostgresOutboxWriter } from "../../runtime/postgres-outbox/writer";
import { PostgresServer, startPostgres } from "../../tools/local-servers/postgres";
import { PutEventsEndpoint, startPutEventsEndpoint } from "../../tools/local-servers/put-events-endpoint";
import { createTokenIssuerModel, startStsEndpoint, StsEndpoint, TokenIssuerModel } from "../../tools/local-servers/sts-endpoint";
import { makeEvent } from "../support/events";
import { runFreshNode } from "../support/fresh-node";

/**
 * The relay's Functions package as the program builds it (serialized closure relay.js and only the
 * node_modules it loads), written to a temp folder and invoked by a fresh Node process that cannot
 * see this repository, configured only through the app settings the component sets. Around it:
 * real PostgreSQL 15 (TLS only, its CA trusted through NODE_EXTRA_CA_CERTS), a MODEL of the App
 * Service managed-identity endpoint (IDENTITY_ENDPOINT / IDENTITY_HEADER, what @azure/identity's
 * ManagedIdentityCredential calls on Flex Consumption), the STS model and the local PutEvents
 * endpoint (reached through the SDK's AWS_ENDPOINT_URL_<SERVICE> variables).
 */
describe("outbox relay Functions package (packaged as for deployment)", function () {
    this.timeout(180_000);
    const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const audience = "api://multicloud-mesh-aws";
    const principalId = "0b5a6f2e-1c7d-4a8e-9f00-3c2b1a0d9e8f";
    const clientId = "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b";
    const roleArn = "arn:aws:iam::123456789012:role/mesh-azure-relay";
    const pgToken = "entra-token-for-postgres";
    const identityHeader = "identity-header-secret-of-the-host";
    let dir: string;
    let server: PostgresServer;
    let sts: StsEndpoint;
    let events: PutEventsEndpoint;
    let issuer: TokenIssuerModel;
    let identity: http.Server;
    let identityUrl: string;
    const tokenRequests: Array<{ resource: string | null; clientId: string | null; header: string | undefined }> = [];

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "mesh-relay-"));
        const built = buildRelayPackage({ scheduleSeconds: 10 });
        await writeArchive(built.archive, path.join(dir, "wwwroot"));
        [server, sts, events] = await Promise.all([startPostgres({ tls: true }), startStsEndpoint(), startPutEventsEndpoint()]);
        fs.writeFileSync(path.join(dir, "pg-ca.pem"), server.caCertificate!);
        issuer = createTokenIssuerModel(`https://sts.windows.net/${tenant}/`);
        sts.addProvider({ issuer: issuer.issuer, clientIds: [audience], publicKey: issuer.publicKey });
        sts.addRole({ roleArn, issuer: issuer.issuer, conditions: { aud: audience, sub: principalId } });
        await server.createDatabase("shop");
        const admin = new Pool(server.superuserConfig("shop"));
        const client = await admin.connect();
        await ensureOutboxSchema(client);
        client.release();
        await admin.end();
        await server.createRole("mesh_relay", pgToken);
        await server.sql("shop", "GRANT SELECT, UPDATE ON mesh_outbox TO mesh_relay");
        // Model of the App Service managed-identity endpoint (api-version 2019-08-01).
        identity = http.createServer((req, res) => {
            const url = new URL(req.url ?? "/", "http://localhost");
            const resource = url.searchParams.get("resource");
            tokenRequests.push({ resource, clientId: url.searchParams.get("client_id"), header: req.headers["x-identity-header"] as string | undefined });
            if (req.headers["x-identity-header"] !== identityHeader) {
                res.writeHead(401).end();
                return;
            }
            const token = resource?.startsWith("https://ossrdbms-aad.database.windows.net")
                ? pgToken
                : issuer.sign({ aud: audience, sub: principalId, oid: principalId, appid: clientId, tid: tenant, ver: "1.0" });
            res.writeHead(200, { "content-type": "application/json" });
            res.end(JSON.stringify({ access_token: token, expires_on: String(Math.floor(Date.now() / 1000) + 3600), resource, token_type: "Bearer", client_id: clientId }));
        });
        await new Promise<void>((resolve) => identity.listen(0, "127.0.0.1", resolve));
        identityUrl = `http://127.0.0.1:${(identity.address() as { port: number }).port}/msi/token`;
    });
    after(async () => {
        identity?.close();
        await Promise.all([server?.stop(), sts?.stop(), events?.stop()]);
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    const settings = (): Record<string, string> => ({
        [RELAY_SETTING_NAMES.pgHost]: "localhost",
        [RELAY_SETTING_NAMES.pgPort]: String(server.port),
        [RELAY_SETTING_NAMES.pgDatabase]: "shop",
        [RELAY_SETTING_NAMES.pgUser]: "mesh_relay",
        [RELAY_SETTING_NAMES.outboxTable]: "mesh_outbox",
        [RELAY_SETTING_NAMES.awsRoleArn]: roleArn,
        [RELAY_SETTING_NAMES.awsRegion]: "eu-west-1",
        [RELAY_SETTING_NAMES.eventBusName]: "mesh-bus",
        [RELAY_SETTING_NAMES.audience]: audience,
        [RELAY_SETTING_NAMES.roleSessionName]: "mesh-outbox-relay",
        [RELAY_SETTING_NAMES.clientId]: clientId,
        [RELAY_SETTING_NAMES.budgetMs]: "8000",
        [RELAY_SETTING_NAMES.leaseMs]: "120000",
        [RELAY_SETTING_NAMES.batchSize]: "100",
    });
    const invoke = async (env: Record<string, string>) => {
        const script = path.join(dir, "invoke.js");
        fs.writeFileSync(
            script,
            [
                `const { handler } = require(${JSON.stringify(path.join(dir, "wwwroot", "relay.js"))});`,
                "const context = { log: (l) => console.log(l), error: (l) => console.error(l) };",
                "handler({ isPastDue: false }, context).then(",
                // The worker would stay up; this stand-in exits once the invocation has settled (open pool connections keep Node alive).
                "  (s) => { console.log('SUMMARY ' + JSON.stringify(s)); process.exit(0); },",
                "  (e) => { console.log('FAILED ' + e.message); process.exit(3); });",
            ].join("\n"),
        );
        return runFreshNode(script, { cwd: dir, env: { PATH: process.env.PATH ?? "", ...env }, input: "", timeoutMs: 60_000 });
    };

    it("packs only the packages the relay loads", () => {
        const modules = fs.readdirSync(path.join(dir, "wwwroot", "node_modules"));
        for (const p of RELAY_RUNTIME_PACKAGES) assert.ok(fs.existsSync(path.join(dir, "wwwroot", "node_modules", p)), p);
        for (const absent of ["ioredis", "@pulumi", "@azure/service-bus"]) assert.ok(!modules.includes(absent) && !fs.existsSync(path.join(dir, "wwwroot", "node_modules", absent)), absent);
    });

    it("with no settings the invocation fails naming each missing setting; nothing is published", async () => {
        const run = await invoke({});
        assert.equal(run.status, 3, run.stderr);
        for (const name of [RELAY_SETTING_NAMES.pgHost, RELAY_SETTING_NAMES.awsRoleArn, RELAY_SETTING_NAMES.clientId]) assert.match(run.stdout, new RegExp(`${name} is not set`));
        assert.equal(events.accepted.length, 0);
    });

    it("with the component's settings it drains the outbox: Entra token as the PostgreSQL password over TLS, web-identity credentials, PutEvents", async () => {
        const pool = new Pool(server.superuserConfig("shop"));
        const ids = (await createPostgresOutboxWriter({ pool }).commit(Array.from({ length: 12 }, () => makeEvent()), async () => undefined)).eventIds;
        const run = await invoke({
            ...settings(),
            IDENTITY_ENDPOINT: identityUrl,
            IDENTITY_HEADER: identityHeader,
            NODE_EXTRA_CA_CERTS: path.join(dir, "pg-ca.pem"),
            AWS_ENDPOINT_URL_STS: sts.endpoint,
            AWS_ENDPOINT_URL_EVENTBRIDGE: events.endpoint,
        });
        assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
        const summary = JSON.parse(run.stdout.split("\n").find((l) => l.startsWith("SUMMARY "))!.slice("SUMMARY ".length));
        assert.equal(summary.published, 12, run.stdout);
        assert.deepEqual(new Set(events.accepted.map((e) => JSON.parse(e.Detail!).metadata.event_id)), new Set(ids));
        const rows = await pool.query("SELECT count(*)::int AS n FROM mesh_outbox WHERE status = 'published'");
        assert.equal(rows.rows[0].n, 12);
        await pool.end();
        assert.ok(tokenRequests.some((t) => t.resource?.startsWith("https://ossrdbms-aad.database.windows.net") && t.header === identityHeader), JSON.stringify(tokenRequests));
        assert.ok(tokenRequests.every((t) => t.clientId === null || t.clientId === clientId), "tokens asked for the relay identity's client id");
        assert.equal(sts.issued.length > 0, true, "credentials came from AssumeRoleWithWebIdentity");
    });
});
