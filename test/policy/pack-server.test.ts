/**
 * The pack as the Pulumi CLI runs it (`pulumi preview --policy-pack policy`): policy/index.ts is
 * started in its own process, prints the port of its analyzer gRPC server, and the test plays the
 * engine, sending the same RPCs (GetAnalyzerInfo, Analyze, AnalyzeStack) with properties encoded as
 * the engine encodes them, unknown values included. This is the CrossGuard code path itself, not
 * the offline runner.
 */
import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import { policies, T } from "../../policy/policies";
import { UNKNOWN_BOOLEAN, UNKNOWN_STRING } from "./support";

const ROOT = path.resolve(__dirname, "..", "..");
const PULUMI_DIR = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
const fromPulumi = (id: string) => require(require.resolve(id, { paths: [PULUMI_DIR] }));
const grpc = fromPulumi("@grpc/grpc-js");
const services = require("@pulumi/pulumi/proto/analyzer_grpc_pb.js");
const messages = require("@pulumi/pulumi/proto/analyzer_pb.js");
const { Struct } = fromPulumi("google-protobuf/google/protobuf/struct_pb.js");
const { Empty } = fromPulumi("google-protobuf/google/protobuf/empty_pb.js");

interface Diagnostic {
    policy: string;
    message: string;
    enforcementLevel: number;
    urn: string;
}

function options(parent?: string) {
    const o = new messages.AnalyzerResourceOptions();
    o.setProtect(false);
    if (parent) o.setParent(parent);
    return o;
}

const urn = (type: string, name: string) => `urn:pulumi:dev::multicloud-mesh::${type}::${name}`;

describe("the policy pack served over gRPC, as `pulumi preview --policy-pack policy` runs it", function () {
    this.timeout(180_000);
    let pack: ChildProcess;
    let client: any;
    let stderr = "";

    before(async () => {
        pack = spawn(process.execPath, ["-r", require.resolve("ts-node/register/transpile-only"), "index.ts"], { cwd: path.join(ROOT, "policy"), stdio: ["ignore", "pipe", "pipe"] });
        pack.stderr!.on("data", (d) => (stderr += d));
        const port = await new Promise<number>((resolve, reject) => {
            let out = "";
            pack.stdout!.on("data", (d) => {
                out += d;
                const match = /^(\d+)\s*$/m.exec(out);
                if (match) resolve(Number(match[1]));
            });
            pack.on("exit", (code) => reject(new Error(`the pack exited with ${code}: ${stderr}`)));
        });
        client = new services.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    });

    after(() => {
        client?.close();
        pack?.kill();
    });

    const call = <T>(method: string, request: unknown): Promise<T> =>
        new Promise((resolve, reject) => client[method](request, (err: Error | null, response: T) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(response))));

    const diagnostics = (response: any): Diagnostic[] =>
        response.getDiagnosticsList().map((d: any) => ({ policy: d.getPolicyname(), message: d.getMessage(), enforcementLevel: d.getEnforcementlevel(), urn: d.getUrn() }));

    function analyze(type: string, name: string, props: Record<string, unknown>) {
        const req = new messages.AnalyzeRequest();
        req.setType(type);
        req.setName(name);
        req.setUrn(urn(type, name));
        req.setProperties(Struct.fromJavaScript(props));
        req.setOptions(options());
        return call<any>("analyze", req).then(diagnostics);
    }

    function resource(type: string, name: string, props: Record<string, unknown>, deps: { dependencies?: string[]; propertyDependencies?: Record<string, string[]> } = {}) {
        const r = new messages.AnalyzerResource();
        r.setType(type);
        r.setName(name);
        r.setUrn(urn(type, name));
        r.setProperties(Struct.fromJavaScript(props));
        r.setOptions(options());
        r.setDependenciesList(deps.dependencies ?? []);
        for (const [key, urns] of Object.entries(deps.propertyDependencies ?? {})) {
            const list = new messages.AnalyzerPropertyDependencies();
            list.setUrnsList(urns);
            r.getPropertydependenciesMap().set(key, list);
        }
        return r;
    }

    function analyzeStack(resources: unknown[]) {
        const req = new messages.AnalyzeStackRequest();
        req.setResourcesList(resources);
        return call<any>("analyzeStack", req).then(diagnostics);
    }

    it("describes itself: name, version from policy/package.json, every policy of the pack with its level and config schema", async () => {
        const info = await call<any>("getAnalyzerInfo", new Empty());
        assert.strictEqual(info.getName(), "multicloud-mesh");
        assert.strictEqual(info.getVersion(), require(path.join(ROOT, "policy", "package.json")).version);
        const list = info.getPoliciesList();
        assert.strictEqual(list.length, policies.length);
        const level = (name: string) => (policies.find((p) => p.name === name)!.enforcementLevel === "advisory" ? messages.EnforcementLevel.ADVISORY : messages.EnforcementLevel.MANDATORY);
        assert.ok(list.every((p: any) => p.getEnforcementlevel() === level(p.getName())));
        const entra = list.find((p: any) => p.getName() === "entra-application-password-lifetime");
        assert.ok(entra.getConfigschema().getProperties().toJavaScript().maximumLifetimeDays);
    });

    it("Analyze: a namespace with SAS keys on is a mandatory violation of servicebus-namespace-entra-only-tls12", async () => {
        const found = await analyze(T.serviceBusNamespace, "ns", { namespaceName: "n", disableLocalAuth: false, minimumTlsVersion: "1.2", tags: { "mesh:project": "p", "mesh:stack": "dev" } });
        assert.deepStrictEqual(found.map((d) => d.policy), ["servicebus-namespace-entra-only-tls12"]);
        assert.strictEqual(found[0].enforcementLevel, messages.EnforcementLevel.MANDATORY);
        assert.match(found[0].message, /disableLocalAuth is false/);
    });

    it("Analyze during preview: unknown values are neither violations nor \"can't run\" advisories", async () => {
        const found = await analyze(T.serviceBusNamespace, "ns", { namespaceName: UNKNOWN_STRING, disableLocalAuth: UNKNOWN_BOOLEAN, minimumTlsVersion: "1.2", tags: { "mesh:project": UNKNOWN_STRING, "mesh:stack": "dev" } });
        assert.deepStrictEqual(found, []);
        const iam = await analyze(T.iamRolePolicy, "p", { role: UNKNOWN_STRING, policy: UNKNOWN_STRING });
        assert.deepStrictEqual(iam, []);
    });

    it("AnalyzeStack: a queue without its alert is caught; with the alert related only through propertyDependencies (preview) it passes", async () => {
        const queue = resource(T.serviceBusQueue, "queue", { queueName: "mesh-events", namespaceName: "mesh-ns" });
        const missing = await analyzeStack([queue]);
        assert.deepStrictEqual(missing.map((d) => d.policy), ["servicebus-queue-deadletter-alert"]);
        assert.strictEqual(missing[0].urn, urn(T.serviceBusQueue, "queue"));

        const alert = resource(
            T.metricAlert,
            "alert",
            {
                scopes: [UNKNOWN_STRING],
                actions: [{ actionGroupId: UNKNOWN_STRING }],
                criteria: { allOf: [{ metricName: "DeadletteredMessages", operator: "GreaterThan", threshold: 0, dimensions: [{ name: "EntityName", operator: "Include", values: [UNKNOWN_STRING] }] }] },
                tags: { "mesh:project": "p", "mesh:stack": "dev" },
            },
            { dependencies: [urn(T.serviceBusQueue, "queue")], propertyDependencies: { criteria: [urn(T.serviceBusQueue, "queue")] } },
        );
        assert.deepStrictEqual(await analyzeStack([queue, alert]), []);
    });
});
