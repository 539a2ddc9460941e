import { strict as assert } from "assert";
import { all, one, preview, PreviewResource, PreviewResult } from "../support/offline-preview";
import { DIAGNOSTIC_SETTING_NAME } from "../../components/azure/diagnostics";

/**
 * Diagnostic settings, the Redis memory alert, RBAC propagation waits, Redis sizing and the
 * settlement mode, as the real program (index.ts) builds them for each stack under the mocks.
 * Relations are checked on the recorded inputs and dependencies: this setting targets that
 * resource, that sleep waits for those assignments, that resource waits for that sleep.
 */
describe("Azure operations under mocks: diagnostics, role propagation, Redis sizing, settlement mode", function () {
    // Each preview is a fresh Node process evaluating the whole program (tens of seconds on a busy machine).
    this.timeout(420_000);

    let dev: PreviewResult;
    let tuned: PreviewResult;
    before(() => {
        dev = preview(["--stack", "dev", "--json", "--show-secrets"]);
        assert.equal(dev.status, 0, dev.stderr);
        tuned = preview([
            "--stack", "dev", "--json", "--no-diagram",
            "--config", "redisUsedMemoryAlertPercent=55",
            "--config", "azureRolePropagationSeconds=30",
            "--config", "consumerSettlementMode=throw",
        ]);
        assert.equal(tuned.status, 0, tuned.stderr);
    });

    const byUrn = (run: PreviewResult, urn: string) => run.resources.find((r) => r.urn === urn);
    const dependsOn = (run: PreviewResult, resource: PreviewResource) => resource.dependsOn.map((urn) => byUrn(run, urn)?.name);
    const appSettings = (run: PreviewResult) =>
        Object.fromEntries((one(run, "azure-native:web:WebApp", "-consumer-app").inputs.siteConfig.appSettings as { name: string; value: string }[]).map((s) => [s.name, s.value]));

    describe("diagnostic settings", () => {
        for (const stack of ["dev", "dev with tuned settings"]) {
            it(`${stack}: Service Bus, the app, storage (account and blobs), Redis (cluster and database) each send to the workspace`, () => {
                const run = stack === "dev" ? dev : tuned;
                const workspace = one(run, "azure-native:operationalinsights:Workspace");
                // The host storage account (AzureWebJobsStorage); the package account only serves reads of one blob.
                const storage = one(run, "azure-native:storage:StorageAccount", "-consumer-storage");
                const targets = {
                    [one(run, "azure-native:servicebus:Namespace").outputs.id]: "namespace",
                    [one(run, "azure-native:web:WebApp", "-consumer-app").outputs.id]: "app",
                    [storage.outputs.id]: "storage",
                    [`${storage.outputs.id}/blobServices/default`]: "blobs",
                    [one(run, "azure-native:redisenterprise:RedisEnterprise").outputs.id]: "redis",
                    [one(run, "azure-native:redisenterprise:Database").outputs.id]: "redis-db",
                    // The Azure → AWS direction's outbox server (outbox-postgres.ts) sends there too.
                    [one(run, "azure-native:dbforpostgresql:Server").outputs.id]: "outbox-server",
                };
                const settings = all(run, "azure-native:monitor:DiagnosticSetting");
                assert.deepEqual(settings.map((s) => targets[s.inputs.resourceUri]).sort(), ["app", "blobs", "namespace", "outbox-server", "redis", "redis-db", "storage"]);
                for (const setting of settings) {
                    assert.equal(setting.inputs.workspaceId, workspace.outputs.id, `${setting.name} sends to the workspace`);
                    assert.equal(setting.inputs.name, DIAGNOSTIC_SETTING_NAME);
                    assert.equal(setting.inputs.logAnalyticsDestinationType, "Dedicated");
                    const entries = [...(setting.inputs.logs ?? []), ...(setting.inputs.metrics ?? [])];
                    assert.ok(entries.length > 0 && entries.every((e: { enabled: boolean }) => e.enabled === true), `${setting.name} enables what it lists`);
                }
                const of = (what: string) => settings.find((s) => targets[s.inputs.resourceUri] === what)!;
                assert.deepEqual(of("namespace").inputs.logs, [{ categoryGroup: "allLogs", enabled: true }]);
                assert.deepEqual(of("namespace").inputs.metrics, [{ category: "AllMetrics", enabled: true }]);
                assert.deepEqual(of("app").inputs.logs, [{ categoryGroup: "allLogs", enabled: true }]);
                assert.deepEqual(of("redis-db").inputs.logs, [{ categoryGroup: "allLogs", enabled: true }]);
                assert.deepEqual(of("redis").inputs.metrics, [{ category: "AllMetrics", enabled: true }]);
                assert.deepEqual(of("blobs").inputs.logs.map((l: { category: string }) => l.category), ["StorageRead", "StorageWrite", "StorageDelete"]);
                assert.deepEqual(of("storage").inputs.metrics, [{ category: "Transaction", enabled: true }]);
            });
        }
    });

    describe("Redis used-memory alert", () => {
        it("watches this cluster's used-memory percentage above the configured share, and notifies the action group", () => {
            for (const [run, threshold] of [[dev, 70], [tuned, 55]] as const) {
                const alert = one(run, "azure-native:monitor:MetricAlert", "-redis-memory-alert");
                const cluster = one(run, "azure-native:redisenterprise:RedisEnterprise");
                assert.deepEqual(alert.inputs.scopes, [cluster.outputs.id]);
                const [criterion] = alert.inputs.criteria.allOf;
                assert.equal(alert.inputs.criteria.allOf.length, 1);
                assert.equal(criterion.metricNamespace, "Microsoft.Cache/redisEnterprise");
                assert.equal(criterion.metricName, "usedmemorypercentage");
                assert.equal(criterion.operator, "GreaterThan");
                assert.equal(criterion.threshold, threshold);
                assert.deepEqual(alert.inputs.actions, [{ actionGroupId: one(run, "azure-native:monitor:ActionGroup").outputs.id }]);
            }
        });
    });

    describe("role propagation", () => {
        it("publisher: the sleep waits for the Data Sender assignment, and EventBridge's connection waits for the sleep", () => {
            for (const [run, seconds] of [[dev, 600], [tuned, 30]] as const) {
                const assignment = one(run, "azure-native:authorization:RoleAssignment", "-publisher-queue-sender");
                const sleep = one(run, "time:index/sleep:Sleep", "-publisher-queue-sender-propagation");
                assert.deepEqual(sleep.dependsOn, [assignment.urn]);
                assert.deepEqual(Object.values(sleep.inputs.triggers), [assignment.outputs.id], "a replaced assignment is waited for again");
                assert.equal(sleep.inputs.createDuration, `${seconds}s`);
                const connection = one(run, "aws:cloudwatch/eventConnection:EventConnection");
                assert.ok(connection.dependsOn.includes(sleep.urn), `connection depends on ${dependsOn(run, connection).join(", ")}`);
            }
        });

        it("consumer: the sleep waits for every role the identity uses, and the app waits for the sleep", () => {
            const roles = ["-consumer-storage-blob-owner", "-consumer-package-reader", "-consumer-queue-owner", "-consumer-insights-publisher"].map((s) => one(dev, "azure-native:authorization:RoleAssignment", s));
            const redisAccess = one(dev, "azure-native:redisenterprise:AccessPolicyAssignment");
            const sleep = one(dev, "time:index/sleep:Sleep", "-consumer-role-propagation");
            assert.deepEqual([...sleep.dependsOn].sort(), [...roles, redisAccess].map((r) => r.urn).sort());
            assert.deepEqual(Object.values(sleep.inputs.triggers).sort(), [...roles, redisAccess].map((r) => r.outputs.id).sort());
            assert.equal(sleep.inputs.createDuration, "600s");
            assert.equal(one(tuned, "time:index/sleep:Sleep", "-consumer-role-propagation").inputs.createDuration, "30s");
            const app = one(dev, "azure-native:web:WebApp", "-consumer-app");
            assert.ok(app.dependsOn.includes(sleep.urn), `app depends on ${dependsOn(dev, app).join(", ")}`);
        });
    });

    describe("Redis sizing at preview time", () => {
        it("fails naming redisSku, consumerExpectedEventsPerSecond, the needed and the available size", () => {
            const run = preview(["--stack", "dev", "--no-diagram", "--config", "consumerExpectedEventsPerSecond=2"]);
            assert.notEqual(run.status, 0);
            assert.match(run.stderr + run.stdout, /redisSku Balanced_B0 cannot hold the idempotency records of consumerExpectedEventsPerSecond 2: 14 days × 2\/s = 2,419,200 records × 214 B × 1\.5 headroom need 777 MB; Balanced_B0 holds 400 MB of data/);
            assert.match(run.stderr + run.stdout, /Set redisSku to Balanced_B1 or larger/);
        });
    });

    describe("settlement mode", () => {
        it("the app setting follows consumerSettlementMode (sdk by default)", () => {
            assert.equal(appSettings(dev).MESH_SETTLEMENT_MODE, "sdk");
            assert.equal(appSettings(tuned).MESH_SETTLEMENT_MODE, "throw");
        });
    });
});
