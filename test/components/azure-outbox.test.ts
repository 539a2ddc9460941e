import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { FAKE_DEPLOYER_OBJECT_ID, FAKE_TENANT, mockCall, mockOutputs } from "../../tools/mock-engine";
import { RelayIdentity } from "../../components/azure/relay-identity";
import { ALLOW_AZURE_SERVICES, OutboxPostgres, OutboxPostgresArgs, POSTGRES_TLS_PARAMETERS } from "../../components/azure/outbox-postgres";
import { OutboxRelayApp } from "../../components/azure/outbox-relay-app";
import { RELAY_FUNCTION_NAME, relayEntryFile, relaySchedule } from "../../components/azure/outbox-relay-package";
import { RELAY_HOST_LOG_MESSAGES, RELAY_SETTING_NAMES } from "../../runtime/azure-relay-host";
import { RELAY_LOG_MESSAGES } from "../../runtime/postgres-outbox/relay";
import * as os from "os";
import { checkCloudConstraints } from "../../tools/cloud-constraints";
import * as path from "path";

// `getMonitor` is internal in the SDK's typings; tools/mock-engine.ts reads it the same way.
const settingsModule = require("@pulumi/pulumi/runtime/settings") as { getMonitor(): unknown };
const settle = <T>(o: pulumi.Output<T>) => (o as unknown as { promise(): Promise<T> }).promise();

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, any>;
    state: Record<string, any>;
    id: string;
    custom?: boolean;
    replaceOnChanges?: string[];
}

export const SCHEMA = { statements: ["CREATE TABLE IF NOT EXISTS mesh.outbox (id bigint)"], table: "mesh.outbox", relayPrivileges: ["SELECT", "UPDATE"] };

export function pgArgs(relay: RelayIdentity, overrides: Partial<OutboxPostgresArgs> = {}): OutboxPostgresArgs {
    return {
        resourceGroupName: "rg-mesh",
        location: "westeurope",
        skuName: "Standard_B1ms",
        skuTier: "Burstable",
        version: "16",
        storageSizeGb: 32,
        highAvailability: "Disabled",
        backupRetentionDays: 7,
        geoRedundantBackup: false,
        databaseName: "mesh_outbox",
        deployerObjectId: FAKE_DEPLOYER_OBJECT_ID,
        deployerPrincipalName: "deployer@example.com",
        deployerPrincipalType: "User",
        tenantId: FAKE_TENANT,
        allowAzureServices: true,
        deployerIpRanges: [{ name: "deployer", start: "203.0.113.7", end: "203.0.113.7" }],
        relay: { roleName: relay.name, objectId: relay.principalId },
        schema: SCHEMA,
        workspaceId: "/subscriptions/s/resourceGroups/rg-mesh/providers/Microsoft.OperationalInsights/workspaces/logs",
        deletionProtection: false,
        ...overrides,
    };
}

describe("Azure outbox infrastructure (components/azure/outbox-*.ts, relay-identity.ts) under mocks", () => {
    const registered: Registered[] = [];
    const dependencies = new Map<string, string[]>();
    const protectedNames = new Set<string>();
    const replaceOnChanges = new Map<string, string[]>();
    const named = (name: string) => {
        const found = registered.filter((r) => r.name === name);
        assert.equal(found.length, 1, `exactly one resource named ${name}: ${registered.map((r) => r.name).join(", ")}`);
        return found[0];
    };
    const ofType = (type: string, prefix: string) => registered.filter((r) => r.type === type && r.name.startsWith(prefix));

    before(async () => {
        await pulumi.runtime.setMocks(
            {
                newResource: (args) => {
                    const out = mockOutputs(args.type, args.name, args.inputs);
                    registered.push({ type: args.type, name: args.name, inputs: args.inputs, state: out.state, id: out.id });
                    return out;
                },
                call: (args) => mockCall(args.token),
            },
            "multicloud-mesh",
            "azure-outbox",
        );
        const monitor = settingsModule.getMonitor() as { registerResource: (req: any, cb: (e: any, r: any) => void) => void };
        const register = monitor.registerResource.bind(monitor);
        monitor.registerResource = (req, cb) => {
            dependencies.set(req.getName(), req.getDependenciesList());
            if (req.getProtect()) protectedNames.add(req.getName());
            replaceOnChanges.set(req.getName(), req.getReplaceonchangesList());
            register(req, cb);
        };
    });

    describe("OutboxPostgres", () => {
        let relay: RelayIdentity;
        let pg: OutboxPostgres;
        before(async () => {
            relay = new RelayIdentity("t1-relay", { resourceGroupName: "rg-mesh", location: "westeurope" });
            pg = new OutboxPostgres("t1-outbox", pgArgs(relay));
            await settle(pg.relayRoleName);
        });

        it("the server signs in with Microsoft Entra only: password auth off, no administrator login or password, the tenant named", () => {
            const server = named("t1-outbox-server");
            assert.equal(server.type, "azure-native:dbforpostgresql:Server");
            assert.deepEqual(server.inputs.authConfig, { activeDirectoryAuth: "Enabled", passwordAuth: "Disabled", tenantId: FAKE_TENANT });
            assert.equal(server.inputs.administratorLogin, undefined);
            assert.equal(server.inputs.administratorLoginPassword, undefined);
            assert.doesNotMatch(JSON.stringify(server.inputs), /password"\s*:\s*"[^D]/i);
        });

        it("TLS is required: require_secure_transport on and ssl_min_protocol_version TLSv1.2 on this server", () => {
            const server = named("t1-outbox-server");
            const configs = ofType("azure-native:dbforpostgresql:Configuration", "t1-outbox");
            const byName = Object.fromEntries(configs.map((c) => [c.inputs.configurationName, c.inputs]));
            assert.deepEqual(Object.keys(byName).sort(), ["require_secure_transport", "ssl_min_protocol_version"]);
            assert.equal(byName.require_secure_transport.value, "on");
            assert.equal(byName.ssl_min_protocol_version.value, "TLSv1.2");
            assert.deepEqual(POSTGRES_TLS_PARAMETERS, { require_secure_transport: "on", ssl_min_protocol_version: "TLSv1.2" });
            for (const c of configs) {
                assert.equal(c.inputs.serverName, server.state.name);
                assert.equal(c.inputs.source, "user-override");
            }
        });

        it("the deployer is the Entra administrator of this server", () => {
            const admin = named("t1-outbox-entra-admin");
            assert.equal(admin.type, "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra");
            assert.equal(admin.inputs.serverName, named("t1-outbox-server").state.name);
            assert.equal(admin.inputs.objectId, FAKE_DEPLOYER_OBJECT_ID);
            assert.equal(admin.inputs.principalType, "User");
            assert.equal(admin.inputs.principalName, "deployer@example.com");
        });

        it("the relay's PostgreSQL role is created for exactly the relay identity, after the admin, TLS, firewall and database exist", async () => {
            const access = named("t1-outbox-relay-access");
            const identity = named("t1-relay-identity");
            assert.equal(access.type, "pulumi-nodejs:dynamic/multicloud-mesh:OutboxAccess");
            assert.equal(access.inputs.relayObjectId, identity.state.principalId);
            assert.equal(access.inputs.relayRoleName, identity.state.name);
            assert.equal(access.inputs.host, named("t1-outbox-server").state.fullyQualifiedDomainName);
            assert.equal(access.inputs.database, "mesh_outbox");
            assert.equal(access.inputs.adminUser, "deployer@example.com");
            assert.equal(access.inputs.adminObjectId, FAKE_DEPLOYER_OBJECT_ID);
            assert.equal(access.inputs.tls, true);
            assert.deepEqual(access.inputs.relayPrivileges, SCHEMA.relayPrivileges);
            assert.deepEqual(access.inputs.schemaStatements, SCHEMA.statements);
            assert.equal(access.inputs.outboxTable, SCHEMA.table);
            const deps = dependencies.get("t1-outbox-relay-access") ?? [];
            const urnOf = (n: string) => deps.find((d) => d.endsWith(`::${n}`));
            for (const n of ["t1-outbox-entra-admin", "t1-outbox-require-secure-transport", "t1-outbox-ssl-min-protocol-version", "t1-outbox-database", `t1-outbox-fw-${ALLOW_AZURE_SERVICES.name}`, "t1-outbox-fw-deployer"]) {
                assert.ok(urnOf(n), `relay access waits for ${n}: ${deps.join(", ")}`);
            }
            assert.equal(await settle(pg.relayRoleName), identity.state.name);
        });

        it("firewall: Azure services (0.0.0.0) for the relay plus the deployer's range; database on this server", () => {
            const rules = ofType("azure-native:dbforpostgresql:FirewallRule", "t1-outbox");
            assert.deepEqual(
                rules.map((r) => [r.inputs.firewallRuleName, r.inputs.startIpAddress, r.inputs.endIpAddress]),
                [[ALLOW_AZURE_SERVICES.name, "0.0.0.0", "0.0.0.0"], ["deployer", "203.0.113.7", "203.0.113.7"]],
            );
            const db = named("t1-outbox-database");
            assert.equal(db.inputs.serverName, named("t1-outbox-server").state.name);
            assert.equal(db.inputs.databaseName, "mesh_outbox");
        });

        it("diagnostics of this server go to the workspace; dev backup 7 days, no HA, no geo backup", () => {
            const diag = named("t1-outbox-diagnostics");
            assert.equal(diag.inputs.resourceUri, named("t1-outbox-server").id);
            assert.equal(diag.inputs.workspaceId, pgArgs(relay).workspaceId);
            assert.deepEqual(diag.inputs.logs, [{ category: "PostgreSQLLogs", enabled: true }]);
            const server = named("t1-outbox-server");
            assert.deepEqual(server.inputs.backup, { backupRetentionDays: 7, geoRedundantBackup: "Disabled" });
            assert.equal(server.inputs.highAvailability.mode, "Disabled");
            assert.equal(protectedNames.has("t1-outbox-server"), false);
        });

        it("prod-like settings: zone-redundant HA, 35-day geo-redundant backups, server and database protected", async () => {
            const r2 = new RelayIdentity("t2-relay", { resourceGroupName: "rg-mesh", location: "westeurope" });
            const p2 = new OutboxPostgres(
                "t2-outbox",
                pgArgs(r2, { skuName: "Standard_D2ds_v5", skuTier: "GeneralPurpose", highAvailability: "ZoneRedundant", backupRetentionDays: 35, geoRedundantBackup: true, deletionProtection: true, allowAzureServices: false, deployerIpRanges: [] }),
            );
            await settle(p2.relayRoleName);
            const server = named("t2-outbox-server");
            assert.equal(server.inputs.highAvailability.mode, "ZoneRedundant");
            assert.ok(protectedNames.has("t2-outbox-server") && protectedNames.has("t2-outbox-database"), "server and database protected");
            assert.deepEqual(server.inputs.backup, { backupRetentionDays: 35, geoRedundantBackup: "Enabled" });
            assert.equal(ofType("azure-native:dbforpostgresql:FirewallRule", "t2-outbox").length, 0);
        });
    });

    describe("OutboxRelayApp", function () {
        this.timeout(120_000);
        const ROLE_ARN = "arn:aws:iam::123456789012:role/mesh-dev-azure-relay";
        const ACTION_GROUP = "/subscriptions/s/resourceGroups/rg-mesh/providers/microsoft.insights/actionGroups/mesh-alerts";
        let relay: RelayIdentity;
        let pg: OutboxPostgres;
        let app: OutboxRelayApp;
        before(async () => {
            relay = new RelayIdentity("t3-relay", { resourceGroupName: "rg-mesh", location: "westeurope" });
            pg = new OutboxPostgres("t3-outbox", pgArgs(relay));
            app = new OutboxRelayApp("t3-relay-app", {
                resourceGroupName: "rg-mesh",
                location: "westeurope",
                identity: { id: relay.id, principalId: relay.principalId, clientId: relay.clientId },
                postgres: { host: pg.fqdn, database: pg.databaseName, user: pg.relayRoleName, table: pg.outboxTable },
                awsRoleArn: ROLE_ARN,
                awsRegion: "eu-west-1",
                eventBusName: "mesh-dev-bus",
                audience: "api://mesh-dev-aws",
                workspaceId: pgArgs(relay).workspaceId,
                actionGroupId: ACTION_GROUP,
                backlogAgeAlarmSeconds: 420,
                deployerPrincipalType: "User",
                rolePropagationSeconds: 0,
                packageDir: path.join(os.tmpdir(), "multicloud-mesh-packages"),
            });
            await Promise.all([settle(app.parkedAlertId), settle(app.failureAlertId), settle(app.backlogAlertId), settle(app.functionAppId), settle(app.packageSha256)]);
        });
        const settingsOf = () => Object.fromEntries(named("t3-relay-app-app").inputs.siteConfig.appSettings.map((x: { name: string; value: string }) => [x.name, x.value]));

        it("the app runs as the relay identity (the one the PostgreSQL role and the AWS trust name) and reads its package with it", () => {
            const site = named("t3-relay-app-app");
            const identity = named("t3-relay-identity");
            assert.deepEqual(site.inputs.identity, { type: "UserAssigned", userAssignedIdentities: [identity.id] });
            assert.equal(site.inputs.functionAppConfig.deployment.storage.authentication.userAssignedIdentityResourceId, identity.id);
            assert.equal(settingsOf()[RELAY_SETTING_NAMES.clientId], identity.state.clientId);
            assert.equal(named("t3-outbox-relay-access").inputs.relayObjectId, identity.state.principalId);
            for (const role of ["t3-relay-app-storage-blob-owner", "t3-relay-app-package-reader", "t3-relay-app-insights-publisher"]) {
                assert.equal(named(role).inputs.principalId, identity.state.principalId, role);
            }
        });

        it("settings: exactly the runtime's RELAY_SETTING_NAMES (plus host storage and telemetry), pointing at this server, role and bus; no secret", () => {
            const settings = settingsOf();
            // The opt-in purge stays off: the relay's role has no DELETE (components/azure/outbox-access.ts).
            const relayNames = Object.values(RELAY_SETTING_NAMES).filter((k) => k !== RELAY_SETTING_NAMES.retentionHours).sort();
            const hostNames = ["AzureWebJobsStorage__accountName", "AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId", "APPLICATIONINSIGHTS_CONNECTION_STRING", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"];
            assert.deepEqual(Object.keys(settings).filter((k) => !hostNames.includes(k)).sort(), relayNames);
            const n = RELAY_SETTING_NAMES;
            assert.equal(settings[n.pgHost], named("t3-outbox-server").state.fullyQualifiedDomainName);
            assert.equal(settings[n.pgUser], named("t3-relay-identity").state.name);
            assert.equal(settings[n.pgDatabase], "mesh_outbox");
            assert.equal(settings[n.outboxTable], SCHEMA.table);
            assert.equal(settings[n.awsRoleArn], ROLE_ARN);
            assert.equal(settings[n.eventBusName], "mesh-dev-bus");
            assert.equal(settings[n.audience], "api://mesh-dev-aws");
            assert.ok(Number(settings[n.budgetMs]) < 10_000, "a run ends before the next tick");
            assert.ok(Number(settings[n.leaseMs]) > Number(settings[n.budgetMs]), "the lease outlasts a run");
            assert.equal(settings.AzureWebJobsStorage__credential, "managedidentity");
            for (const [k, v] of Object.entries(settings)) {
                assert.doesNotMatch(k, /PASSWORD|SECRET|_KEY$/i, k);
                assert.doesNotMatch(String(v), /AccountKey=|SharedAccessKey|password=/i, k);
            }
        });

        it("timer: NCRONTAB with seconds, every 10 s by default; the package deployment waits until the app lists the relay function", () => {
            assert.equal(app.schedule, "*/10 * * * * *");
            assert.equal(relaySchedule(60), "0 * * * * *");
            assert.throws(() => relaySchedule(7), /divides 60/);
            const entry = relayEntryFile(app.schedule);
            assert.match(entry, /app\.timer\("mesh-outbox-relay", \{\n    schedule: "\*\/10 \* \* \* \* \*",\n    runOnStartup: false,/);
            const deployment = named("t3-relay-app-package");
            assert.equal(deployment.inputs.functionName, RELAY_FUNCTION_NAME);
            assert.equal(deployment.inputs.appResourceId, named("t3-relay-app-app").id);
        });

        it("alerts: parked rows and failed runs/requests on this app's Application Insights, to the action group", () => {
            const insights = named("t3-relay-app-insights");
            const parked = named("t3-relay-app-parked-alert");
            const failures = named("t3-relay-app-failure-alert");
            for (const rule of [parked, failures]) {
                assert.equal(rule.type, "azure-native:monitor:ScheduledQueryRule");
                assert.deepEqual(rule.inputs.scopes, [insights.id]);
                assert.deepEqual(rule.inputs.actions.actionGroups, [ACTION_GROUP]);
                const c = rule.inputs.criteria.allOf[0];
                assert.deepEqual([c.timeAggregation, c.operator, c.threshold], ["Count", "GreaterThan", 0]);
            }
            assert.ok(parked.inputs.criteria.allOf[0].query.includes(`"message":"${RELAY_LOG_MESSAGES.parked}"`), parked.inputs.criteria.allOf[0].query);
            assert.ok(failures.inputs.criteria.allOf[0].query.includes(`"message":"${RELAY_LOG_MESSAGES.requestFailed}"`));
            assert.match(failures.inputs.criteria.allOf[0].query, new RegExp(`requests \\| where name == '${RELAY_FUNCTION_NAME}' and success == false`));
            assert.equal(insights.inputs.workspaceResourceId, pgArgs(relay).workspaceId);
            assert.equal(insights.inputs.disableLocalAuth, true);
        });

        it("backlog alert: the maximum of the host's oldestPendingAgeSeconds above the configured threshold, to the action group", () => {
            const rule = named("t3-relay-app-backlog-alert");
            assert.equal(rule.type, "azure-native:monitor:ScheduledQueryRule");
            assert.deepEqual(rule.inputs.scopes, [named("t3-relay-app-insights").id]);
            assert.deepEqual(rule.inputs.actions.actionGroups, [ACTION_GROUP]);
            assert.equal(rule.inputs.enabled, true);
            const c = rule.inputs.criteria.allOf[0];
            assert.deepEqual([c.timeAggregation, c.metricMeasureColumn, c.operator, c.threshold], ["Maximum", "oldestPendingAgeSeconds", "GreaterThan", 420]);
            // The query reads the host's own line and field, by the runtime's constants (renaming either breaks this).
            assert.ok(c.query.includes(`"message":"${RELAY_HOST_LOG_MESSAGES.backlog}"`), c.query);
            assert.match(c.query, /parse_json\(message\)\.oldestPendingAgeSeconds/);
            assert.match(c.query, /\| project timestamp, oldestPendingAgeSeconds$/);
            assert.equal(rule.inputs.autoMitigate, true, "resolves once the relay catches up");
        });

        it("backlogAgeAlarmSeconds is checked, naming the field", () => {
            const base = { resourceGroupName: "rg", location: "westeurope", identity: { id: "i", principalId: "p", clientId: "c" }, postgres: { host: "h", database: "d", user: "u", table: "t" }, awsRoleArn: ROLE_ARN, awsRegion: "eu-west-1", eventBusName: "b", audience: "a", workspaceId: "w", actionGroupId: ACTION_GROUP, deployerPrincipalType: "User" as const };
            assert.throws(() => new OutboxRelayApp("t3-bad-backlog", { ...base, backlogAgeAlarmSeconds: 30 }), /OutboxRelayApp.*backlogAgeAlarmSeconds/);
            assert.throws(() => new OutboxRelayApp("t3-bad-backlog-2", { ...base, scheduleSeconds: 60, backlogAgeAlarmSeconds: 60 }), /args.backlogAgeAlarmSeconds must be longer than the timer period/);
        });
    });

    describe("cloud constraints (tools/cloud-constraints/azure-postgres.ts) on what these components register", () => {
        const constrained = () =>
            registered.map((r) => ({ type: r.type, name: r.name, inputs: r.inputs, outputs: { ...r.state, id: r.id }, custom: true, replaceOnChanges: replaceOnChanges.get(r.name) ?? [] }));

        it("no violation, and every new type has rules (none unchecked for lack of a catalog entry)", () => {
            const result = checkCloudConstraints(constrained());
            assert.deepEqual(result.failing.map((v) => `${v.type} ${v.name} ${v.path}: ${v.rule}`), []);
            for (const type of ["Server", "Configuration", "Database", "FirewallRule", "AdministratorsMicrosoftEntra"]) {
                assert.ok(registered.some((r) => r.type === `azure-native:dbforpostgresql:${type}`), type);
            }
            assert.ok(result.checkedValues > 50, `checked ${result.checkedValues}`);
        });

        it("catches what the cloud would refuse: HA on Burstable, TLS below 1.0 names, password auth without a login, geo backup without replaceOnChanges", () => {
            const broken = constrained().map((r) => {
                if (r.name === "t1-outbox-server") return { ...r, inputs: { ...r.inputs, highAvailability: { mode: "ZoneRedundant" }, authConfig: { ...r.inputs.authConfig, passwordAuth: "Enabled" } }, replaceOnChanges: [] };
                if (r.name === "t1-outbox-ssl-min-protocol-version") return { ...r, inputs: { ...r.inputs, value: "SSLv3" } };
                if (r.name === "t1-outbox-fw-deployer") return { ...r, inputs: { ...r.inputs, startIpAddress: "203.0.113.9", endIpAddress: "203.0.113.1" } };
                return r;
            });
            const paths = checkCloudConstraints(broken).failing.filter((v) => v.name.startsWith("t1-outbox")).map((v) => `${v.name} ${v.path}`).sort();
            assert.deepEqual(paths, [
                "t1-outbox-fw-deployer startIpAddress",
                "t1-outbox-server administratorLogin",
                "t1-outbox-server backup.geoRedundantBackup",
                "t1-outbox-server highAvailability.mode",
                "t1-outbox-ssl-min-protocol-version value",
            ]);
        });
    });

    describe("argument validation names the field", () => {
        const relay = { name: pulumi.output("r"), principalId: pulumi.output("p") } as unknown as RelayIdentity;
        const cases: Array<[Partial<OutboxPostgresArgs>, RegExp]> = [
            [{ highAvailability: "ZoneRedundant" }, /args\.highAvailability .*Burstable/],
            [{ backupRetentionDays: 36 }, /args\.backupRetentionDays must be an integer from 7 to 35/],
            [{ skuTier: "Basic" as never }, /args\.skuTier/],
            [{ version: "10" as never }, /args\.version/],
            [{ databaseName: "Mesh-Outbox" }, /args\.databaseName/],
            [{ deployerIpRanges: [{ name: "all", start: "0.0.0.0", end: "255.255.255.255" }] }, /deployerIpRanges\[0\] must not open the server/],
            [{ deployerIpRanges: [{ name: "x", start: "10.0.0.9", end: "10.0.0.1" }] }, /deployerIpRanges\[0\] start 10\.0\.0\.9 is after end/],
            [{ schema: { ...SCHEMA, relayPrivileges: [] } }, /args\.schema\.relayPrivileges/],
            [{ storageSizeGb: 16 }, /args\.storageSizeGb/],
        ];
        for (const [override, message] of cases) {
            it(`refuses ${JSON.stringify(override).slice(0, 80)}`, () => {
                assert.throws(() => new OutboxPostgres(`bad-${registered.length}-${Math.random().toString(36).slice(2, 7)}`, pgArgs(relay, override)), message);
            });
        }
    });
});
