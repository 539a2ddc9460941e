import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import { ACCESS_POLICY_ASSIGNMENT_NAME, accessPolicyAssignmentName } from "../../components/azure/consumer-redis";
import { FLEX_FORBIDDEN_SETTINGS } from "../../components/azure/consumer-flex";
import { readZip } from "../support/zip-reader";
import { all, one, preview, PreviewResult } from "../support/offline-preview";

const T = {
    app: "azure-native:web:WebApp",
    plan: "azure-native:web:AppServicePlan",
    account: "azure-native:storage:StorageAccount",
    container: "azure-native:storage:BlobContainer",
    role: "azure-native:authorization:RoleAssignment",
    identity: "azure-native:managedidentity:UserAssignedIdentity",
    deployment: "pulumi-nodejs:dynamic/multicloud-mesh:PackageDeployment",
} as const;

/**
 * How the consumer is hosted (components/azure/consumer-*.ts): the Flex Consumption plan and app,
 * its two storage accounts, the package deployment, and the names and scopes Azure checks. The
 * program runs under the mocked engine with the same arguments as program.test.ts, so in one mocha
 * run both share the two previews.
 */
describe("consumer hosting on Flex Consumption (index.ts under mocks)", function () {
    this.timeout(180_000);

    let dev: PreviewResult;
    let prod: PreviewResult;
    before(() => {
        dev = preview(["--stack", "dev", "--json", "--show-secrets"]);
        assert.equal(dev.status, 0, dev.stderr);
        prod = preview(["--stack", "prod", "--json"]);
        assert.equal(prod.status, 0, prod.stderr);
    });

    const settingsOf = (run: PreviewResult) =>
        Object.fromEntries(one(run, T.app, "-consumer-app").inputs.siteConfig.appSettings.map((s: { name: string; value: string }) => [s.name, s.value]));

    it("Redis access policy assignment: an explicit name the ARM rule ^[A-Za-z0-9]{1,60}$ accepts, in both stacks", () => {
        for (const run of [dev, prod]) {
            const access = one(run, "azure-native:redisenterprise:AccessPolicyAssignment");
            assert.match(access.inputs.accessPolicyAssignmentName, ACCESS_POLICY_ASSIGNMENT_NAME);
        }
        // Any logical name gives a valid one: hyphens, underscores, and names past 60 characters.
        for (const logical of ["mesh-dev-consumer", "a_b-c", "x".repeat(80), "mesh-prod-consumer"]) {
            assert.match(accessPolicyAssignmentName(logical), /^[A-Za-z0-9]{1,60}$/);
        }
    });

    it("plan FC1 / FlexConsumption on Linux; the app runs node 22 with the stack's scale limit and instance memory", () => {
        const plan = one(dev, T.plan, "-consumer-plan");
        const app = one(dev, T.app, "-consumer-app");
        assert.deepEqual(plan.inputs.sku, { name: "FC1", tier: "FlexConsumption" });
        assert.equal(plan.inputs.reserved, true);
        assert.equal(app.inputs.kind, "functionapp,linux");
        assert.equal(app.inputs.serverFarmId, plan.outputs.id);
        assert.deepEqual(app.inputs.functionAppConfig.runtime, { name: "node", version: "22" });
        assert.deepEqual(app.inputs.functionAppConfig.scaleAndConcurrency, { maximumInstanceCount: 40, instanceMemoryMB: 512 });
        assert.deepEqual(one(prod, T.app, "-consumer-app").inputs.functionAppConfig.scaleAndConcurrency, { maximumInstanceCount: 100, instanceMemoryMB: 2048 });
        assert.equal(app.inputs.siteConfig.linuxFxVersion, undefined, "Flex takes the runtime from functionAppConfig");
    });

    it("no app setting that Flex Consumption does not use (WEBSITE_RUN_FROM_PACKAGE, FUNCTIONS_WORKER_RUNTIME, …)", () => {
        for (const run of [dev, prod]) {
            const present = Object.keys(settingsOf(run)).filter((k) => FLEX_FORBIDDEN_SETTINGS.includes(k));
            assert.deepEqual(present, []);
        }
    });

    it("the app reads its package from the deployment container with its user-assigned identity", () => {
        const app = one(dev, T.app, "-consumer-app");
        const identity = one(dev, T.identity, "-consumer-identity");
        const packages = one(dev, T.account, "-consumer-package-storage");
        const container = one(dev, T.container, "-consumer-packages");
        assert.equal(container.inputs.accountName, packages.outputs.name);
        assert.deepEqual(app.inputs.functionAppConfig.deployment.storage, {
            type: "blobContainer",
            value: `https://${packages.outputs.name}.blob.core.windows.net/${container.outputs.name}`,
            authentication: { type: "UserAssignedIdentity", userAssignedIdentityResourceId: identity.outputs.id },
        });
    });

    it("storage: host storage and the package in separate accounts, neither accepting a shared key", () => {
        const host = one(dev, T.account, "-consumer-storage");
        const packages = one(dev, T.account, "-consumer-package-storage");
        assert.notEqual(host.outputs.name, packages.outputs.name);
        for (const account of all(dev, T.account)) {
            assert.equal(account.inputs.allowSharedKeyAccess, false, `${account.name} accepts shared keys`);
            assert.equal(account.inputs.allowBlobPublicAccess, false);
            assert.match(account.inputs.accountName, /^[a-z0-9]{3,24}$/);
        }
        assert.equal(settingsOf(dev).AzureWebJobsStorage__accountName, host.outputs.name, "the host runs on its own account, not the package's");
    });

    it("the app's identity cannot write its package: read-only on the container, no role on the package account", () => {
        const identity = one(dev, T.identity, "-consumer-identity");
        const packages = one(dev, T.account, "-consumer-package-storage");
        const container = one(dev, T.container, "-consumer-packages");
        const roles = all(dev, T.role).filter((a) => a.inputs.principalId === identity.outputs.principalId);
        const onPackage = roles.filter((a) => String(a.inputs.scope).startsWith(packages.outputs.id));
        assert.deepEqual(
            onPackage.map((a) => [a.inputs.roleDefinitionId.split("/").pop(), a.inputs.scope]),
            [["2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", container.outputs.id]], // Storage Blob Data Reader, this container only
        );
    });

    it("scale permissions: Azure Service Bus Data Owner on exactly this queue, and no Service Bus role anywhere wider", () => {
        const identity = one(dev, T.identity, "-consumer-identity");
        const queue = one(dev, "azure-native:servicebus:Queue");
        const serviceBus = all(dev, T.role).filter(
            (a) => a.inputs.principalId === identity.outputs.principalId && String(a.inputs.scope).includes("/Microsoft.ServiceBus/"),
        );
        assert.deepEqual(
            serviceBus.map((a) => [a.inputs.roleDefinitionId.split("/").pop(), a.inputs.scope]),
            [["090c5cfd-751d-490a-894a-3ce6f1109419", queue.outputs.id]],
        );
    });

    it("FTP and SCM basic-auth publishing off for this app", () => {
        const app = one(dev, T.app, "-consumer-app");
        for (const [type, suffix] of [["azure-native:web:WebAppFtpAllowed", "-consumer-ftp-basic-auth"], ["azure-native:web:WebAppScmAllowed", "-consumer-scm-basic-auth"]]) {
            const policy = one(dev, type, suffix);
            assert.equal(policy.inputs.allow, false);
            assert.equal(policy.inputs.name, app.outputs.name);
            assert.equal(policy.inputs.resourceGroupName, app.inputs.resourceGroupName);
        }
        assert.equal(app.inputs.siteConfig.ftpsState, "Disabled");
    });

    it("package deployment: the built ZIP goes to released-package.zip in the app's container, written only by the deployer", () => {
        const app = one(dev, T.app, "-consumer-app");
        const deployment = one(dev, T.deployment, "-consumer-package");
        const container = one(dev, T.container, "-consumer-packages");
        const writer = one(dev, T.role, "-consumer-package-writer");
        const reader = one(dev, T.role, "-consumer-package-reader");
        assert.equal(deployment.inputs.packageUrl, `${app.inputs.functionAppConfig.deployment.storage.value}/released-package.zip`);
        assert.equal(deployment.inputs.appResourceId, app.outputs.id);
        assert.equal(deployment.inputs.functionName, "mesh-consumer");
        // The upload role: Storage Blob Data Contributor on this container, for the principal the
        // deployment checks its token against, with the configured principal type (default User).
        assert.equal(writer.inputs.roleDefinitionId.split("/").pop(), "ba92f5b4-2d11-453d-a403-e96b0029c9fe");
        assert.equal(writer.inputs.scope, container.outputs.id);
        assert.equal(writer.inputs.principalId, deployment.inputs.deployerObjectId);
        assert.equal(writer.inputs.principalType, "User");
        for (const needed of [app.urn, writer.urn, reader.urn]) assert.ok(deployment.dependsOn.includes(needed), `the deployment waits for ${needed}`);
        assert.ok(deployment.inputs.retryBudgetMs >= 10 * 60_000, "RBAC can take minutes to propagate");
    });

    it("the package file is the consumer's Functions app, and its hash names its content; same code, same package in both stacks", () => {
        const deployment = one(dev, T.deployment, "-consumer-package");
        const zip = fs.readFileSync(deployment.inputs.packagePath);
        assert.equal(crypto.createHash("sha256").update(zip).digest("hex"), deployment.inputs.packageSha256);
        const files = readZip(zip);
        assert.match(files.get("index.js")!.toString(), /app\.serviceBusQueue\("mesh-consumer"/);
        assert.equal(JSON.parse(files.get("host.json")!.toString()).extensions.serviceBus.autoCompleteMessages, false);
        assert.ok(files.has("consumer.js") && files.has("node_modules/ioredis/package.json"));
        assert.ok(![...files.keys()].some((f) => f.startsWith("node_modules/@pulumi/")), "no Pulumi in the app");
        assert.equal(one(prod, T.deployment, "-consumer-package").inputs.packageSha256, deployment.inputs.packageSha256);
    });
});
