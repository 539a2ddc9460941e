import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { entryFile, hostJson, FUNCTION_NAME } from "../../components/azure/consumer-package";
import { zipFiles } from "../../components/azure/consumer-zip";
import { deliverPackage, DeliveryRequest, PackageDeliveryError } from "../../components/azure/package-delivery";
import { credentialKind, packageDeploymentProvider, PackageDeploymentState, providerPorts } from "../../components/azure/package-deployment";
import { FlexModel, FlexModelOptions, startFlexModel } from "../support/flex-deployment-model";
import { runFreshNode } from "../support/fresh-node";
import { ROOT } from "../support/offline-preview";

const APP_ID = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.Web/sites/mesh-consumer-app";
const CONTAINER = "/meshpkg1/packages";
const DEPLOYER = "11111111-1111-4111-8111-111111111111";

/** An access token shaped like Entra's (a JWT whose payload carries the principal's `oid`). */
function tokenOf(oid: string): string {
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    return `${part({ alg: "none" })}.${part({ oid, aud: "https://storage.azure.com" })}.sig`;
}
const TOKEN = tokenOf(DEPLOYER);

/**
 * The package delivery of a Flex Consumption consumer (components/azure/package-delivery.ts and
 * the dynamic provider around it), against a local MODEL of the Blob and ARM endpoints
 * (test/support/flex-deployment-model.ts) with the provider's real HTTP port (fetch) and files.
 */
describe("consumer package delivery to Flex Consumption (against a model of Blob + ARM)", function () {
    this.timeout(60_000);

    let dir: string;
    const packageOf = (functionName: string, extra = "") => {
        const zip = zipFiles([
            { name: "host.json", data: Buffer.from(hostJson({ maxConcurrentCalls: 16, maxAutoLockRenewalSeconds: 300 })) },
            { name: "index.js", data: Buffer.from(entryFile().replace(JSON.stringify(FUNCTION_NAME), JSON.stringify(functionName)) + extra) },
        ]);
        const sha256 = crypto.createHash("sha256").update(zip).digest("hex");
        const file = path.join(dir, `pkg-${sha256.slice(0, 12)}.zip`);
        fs.writeFileSync(file, zip);
        return { file, sha256, zip };
    };
    let models: FlexModel[] = [];
    const model = async (options: Partial<FlexModelOptions> = {}) => {
        const m = await startFlexModel({ token: TOKEN, appResourceId: APP_ID, containerPath: CONTAINER, ...options });
        models.push(m);
        return m;
    };
    const requestFor = (m: FlexModel, pkg: { file: string; sha256: string }, overrides: Partial<DeliveryRequest> = {}): DeliveryRequest => ({
        packageUrl: `${m.url}${CONTAINER}/released-package.zip`,
        appResourceId: APP_ID,
        managementEndpoint: m.url,
        functionName: FUNCTION_NAME,
        packagePath: pkg.file,
        packageSha256: pkg.sha256,
        deployerObjectId: DEPLOYER,
        retry: { initialDelayMs: 5, maxDelayMs: 20, budgetMs: 2_000 },
        ...overrides,
    });
    const portsFor = (m: FlexModel, logs: string[] = [], token = TOKEN) => ({ ...providerPorts(async () => token, m.url), log: (l: string) => logs.push(l) });

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "mesh-delivery-"));
    });
    afterEach(async () => {
        await Promise.all(models.map((m) => m.stop()));
        models = [];
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("first deployment: uploads released-package.zip byte for byte, restarts, syncs triggers, waits until the function is listed", async () => {
        const m = await model();
        const pkg = packageOf(FUNCTION_NAME);
        const result = await deliverPackage(requestFor(m, pkg), portsFor(m));
        assert.deepEqual(m.blobs.get(`${CONTAINER}/released-package.zip`), pkg.zip);
        assert.deepEqual(m.log, [`PUT ${CONTAINER}/released-package.zip`, "POST restart", "POST syncfunctiontriggers", "GET functions"]);
        assert.deepEqual(m.synced, [FUNCTION_NAME]);
        assert.deepEqual(result.attempts, { "upload package": 1, "restart app": 1, "sync triggers": 1, "confirm function loaded": 1 });
    });

    it("retries the upload while the deployer's new role propagates (403), with growing waits", async () => {
        const m = await model({ uploadsForbidden: 3 });
        const logs: string[] = [];
        const result = await deliverPackage(requestFor(m, packageOf(FUNCTION_NAME)), portsFor(m, logs));
        assert.equal(result.attempts["upload package"], 4);
        assert.equal(logs.filter((l) => /^upload package: not yet \(HTTP 403 .*AuthorizationPermissionMismatch/.test(l)).length, 3);
        assert.deepEqual(m.synced, [FUNCTION_NAME]);
    });

    it("restarts and syncs again while the app's identity cannot read the package yet", async () => {
        const m = await model({ startsWithoutPackageAccess: 2 });
        const result = await deliverPackage(requestFor(m, packageOf(FUNCTION_NAME)), portsFor(m));
        assert.equal(result.attempts["confirm function loaded"], 3);
        assert.equal(m.log.filter((l) => l === "POST restart").length, 3);
        assert.deepEqual(m.synced, [FUNCTION_NAME]);
    });

    it("retries ARM calls refused while the deployer's ARM permissions propagate", async () => {
        const m = await model({ armForbidden: 2 });
        const result = await deliverPackage(requestFor(m, packageOf(FUNCTION_NAME)), portsFor(m));
        assert.equal(result.attempts["restart app"], 3);
        assert.deepEqual(m.synced, [FUNCTION_NAME]);
    });

    it("after the retry budget: fails naming the step and the last answer", async () => {
        const m = await model({ uploadsForbidden: 1_000 });
        await assert.rejects(deliverPackage(requestFor(m, packageOf(FUNCTION_NAME), { retry: { initialDelayMs: 5, maxDelayMs: 10, budgetMs: 60 } }), portsFor(m)), (error: Error) => {
            assert.ok(error instanceof PackageDeliveryError);
            assert.match(error.message, /^consumer package deployment, step "upload package": gave up after \d+ attempts .*HTTP 403 .*AuthorizationPermissionMismatch/);
            return true;
        });
        assert.ok(!m.log.includes("POST restart"), "nothing is restarted without the new package");
    });

    it("a package that never registers the function fails at the confirm step, not silently", async () => {
        const m = await model();
        const foreign = packageOf("some-other-function");
        await assert.rejects(deliverPackage(requestFor(m, foreign, { retry: { initialDelayMs: 5, maxDelayMs: 10, budgetMs: 60 } }), portsFor(m)), /step "confirm function loaded": gave up .*function mesh-consumer not listed yet/);
    });

    it("a refusal that waiting cannot fix (400) fails at once", async () => {
        const m = await model({ uploadStatus: 400 });
        await assert.rejects(deliverPackage(requestFor(m, packageOf(FUNCTION_NAME)), portsFor(m)), /step "upload package": refused: HTTP 400 .*InvalidHeaderValue/);
        assert.equal(m.log.length, 1);
    });

    it("a package file that changed since the preview is not uploaded", async () => {
        const m = await model();
        const pkg = packageOf(FUNCTION_NAME);
        await assert.rejects(deliverPackage(requestFor(m, { file: pkg.file, sha256: "0".repeat(64) }), portsFor(m)), /step "upload package": .* has SHA-256 [0-9a-f]{64}, not the 0{64} the program built/);
        assert.deepEqual(m.log, []);
    });

    it("a credential of another principal than the one granted the upload role fails at once, naming both", async () => {
        const other = "22222222-2222-4222-8222-222222222222";
        const m = await startFlexModel({ token: tokenOf(other), appResourceId: APP_ID, containerPath: CONTAINER });
        models.push(m);
        await assert.rejects(deliverPackage(requestFor(m, packageOf(FUNCTION_NAME)), portsFor(m, [], tokenOf(other))), new RegExp(`principal ${other}, but the upload role was granted to ${DEPLOYER}`));
        assert.deepEqual(m.log, []);
    });

    it("the provider delivers again only when the package (or its target) changes, not when the local path does", async () => {
        const provider = packageDeploymentProvider(async () => TOKEN);
        const base = { packageSha256: "a".repeat(64), packagePath: "/tmp/a.zip", packageUrl: "u", appResourceId: APP_ID, functionName: FUNCTION_NAME } as PackageDeploymentState;
        assert.equal((await provider.diff!("id", base, { ...base, packagePath: "/home/ci/a.zip" })).changes, false);
        assert.equal((await provider.diff!("id", base, { ...base, packageSha256: "b".repeat(64) })).changes, true);
        assert.equal((await provider.diff!("id", base, { ...base, appResourceId: `${APP_ID}2` })).changes, true);
    });

    it("the deployer's credential: ARM_* service principal when complete, else the default chain", () => {
        assert.equal(credentialKind({ ARM_CLIENT_ID: "c", ARM_CLIENT_SECRET: "s", ARM_TENANT_ID: "t" }), "client-secret");
        assert.equal(credentialKind({ ARM_CLIENT_ID: "c", ARM_TENANT_ID: "t" }), "default-chain");
        assert.equal(credentialKind({}), "default-chain");
    });

    it("serialized as Pulumi serializes a dynamic provider, loaded in a fresh Node process: create, then update with a new package", async () => {
        const m = await model({ uploadsForbidden: 1 });
        const first = packageOf(FUNCTION_NAME);
        const second = packageOf(FUNCTION_NAME, "\n// v2\n");
        const token = TOKEN;
        const provider = packageDeploymentProvider(async () => token);
        // As pulumi.dynamic.Resource does: serializeFunction(() => provider), loaded by the engine's
        // dynamic-provider host as a module whose `handler()` returns the provider.
        const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
        const providerFile = path.join(dir, "provider.js");
        fs.writeFileSync(providerFile, serialized.text);
        const state = (pkg: { file: string; sha256: string }): PackageDeploymentState => ({
            packageUrl: `${m.url}${CONTAINER}/released-package.zip`,
            appResourceId: APP_ID,
            managementEndpoint: m.url,
            functionName: FUNCTION_NAME,
            packagePath: pkg.file,
            packageSha256: pkg.sha256,
            deployerObjectId: DEPLOYER,
            retryInitialDelayMs: 5,
            retryMaxDelayMs: 20,
            retryBudgetMs: 2_000,
        });
        const script = path.join(dir, "engine-model.js");
        fs.writeFileSync(
            script,
            [
                `const provider = require(${JSON.stringify(providerFile)}).handler();`,
                "let input = '';",
                "process.stdin.on('data', (c) => (input += c)).on('end', async () => {",
                "  const { create, update } = JSON.parse(input);",
                "  const created = await provider.create(create);",
                "  const diff = await provider.diff(created.id, created.outs, update);",
                "  const updated = await provider.update(created.id, created.outs, update);",
                "  console.log('RESULT ' + JSON.stringify({ id: created.id, diff, sha: updated.outs.packageSha256 }));",
                "});",
            ].join("\n"),
        );
        const run = await runFreshNode(script, { cwd: ROOT, input: JSON.stringify({ create: state(first), update: state(second) }), env: { PATH: process.env.PATH ?? "" } });
        assert.equal(run.status, 0, run.stderr);
        const result = JSON.parse(run.stdout.split("\n").find((l) => l.startsWith("RESULT "))!.slice(7));
        assert.equal(result.id, `${APP_ID}/package`);
        assert.equal(result.diff.changes, true);
        assert.equal(result.sha, second.sha256);
        assert.deepEqual(m.blobs.get(`${CONTAINER}/released-package.zip`), fs.readFileSync(second.file), "the update replaced the package");
        assert.equal(m.log.filter((l) => l === "POST syncfunctiontriggers").length, 2, "triggers synced after each package");
        assert.doesNotMatch(serialized.text, /require\("@pulumi\//, "the provider does not load Pulumi in the engine's provider process");
    });
});
