import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { meshDiagram, meshDiagramSvg, replaceReadmeDiagram } from "../../tools/diagram";
import { T } from "../../policy/policies";
import { preview } from "../support/offline-preview";
import { COMPLIANT_CONFIG, copy, programResources, resource } from "./support";

const ROOT = path.resolve(__dirname, "..", "..");

/** `label` of the node that declares `text`, e.g. the id of "SQS queue<br/>mesh-dev-egress-dlq". */
function nodeId(mermaid: string, text: string): string {
    const line = mermaid.split("\n").find((l) => l.includes(text) && /^\s+n\w+[[({]/.test(l));
    assert.ok(line, `no node with ${text}`);
    return /^\s+(n\w+)/.exec(line)![1];
}

function hasEdge(mermaid: string, from: string, to: string, label?: string): boolean {
    return mermaid.split("\n").some((l) => {
        const m = /^\s+(n\w+) (==>|-->|-\.->)(?:\|"([^"]*)"\|)? (n\w+)$/.exec(l);
        return !!m && m[1] === from && m[4] === to && (label === undefined || m[3] === label);
    });
}

describe("the mesh diagram drawn by the preview", () => {
    let dev: ReturnType<typeof programResources>;
    let mermaid: string;
    before(function () {
        this.timeout(180_000);
        dev = programResources("dev");
        mermaid = meshDiagram(dev, "dev");
    });

    it("shows both clouds and Entra ID", () => {
        assert.match(mermaid, /subgraph aws\["AWS · eu-west-1"\]/);
        assert.match(mermaid, /subgraph azure\["Azure · westeurope"\]/);
        assert.match(mermaid, /subgraph entra\["Entra ID"\]/);
    });

    it("draws the event path from the bus to the Service Bus queue", () => {
        const bus = nodeId(mermaid, "EventBridge bus");
        const rule = nodeId(mermaid, "Rule<br/>mesh-dev-egress-rule");
        const target = nodeId(mermaid, "Target (retry policy)<br/>185 retries / 3600s");
        const destination = nodeId(mermaid, "API destination");
        const queue = nodeId(mermaid, "Service Bus queue<br/>mesh-events");
        assert.ok(hasEdge(mermaid, bus, rule));
        assert.ok(hasEdge(mermaid, rule, target));
        assert.ok(hasEdge(mermaid, target, destination));
        assert.ok(hasEdge(mermaid, destination, queue, "HTTPS POST /messages"));
    });

    it("draws dead letters and their alarms on both clouds", () => {
        const target = nodeId(mermaid, "Target (retry policy)<br/>185 retries / 3600s");
        const dlq = nodeId(mermaid, "SQS queue<br/>mesh-dev-egress-dlq");
        const topic = nodeId(mermaid, "SNS topic");
        assert.ok(hasEdge(mermaid, target, dlq, "undeliverable"));
        const depthAlarms = [...mermaid.matchAll(/^\s+(n\w+)\(\["CloudWatch alarm<br\/>ApproximateNumberOfMessagesVisible > 0"\]\)$/gm)].map((m) => m[1]);
        const depth = depthAlarms.filter((a) => hasEdge(mermaid, dlq, a, "ApproximateNumberOfMessagesVisible"));
        assert.strictEqual(depth.length, 1, "no depth alarm drawn on the egress DLQ");
        assert.ok(hasEdge(mermaid, depth[0], topic, "notifies"));
        const queue = nodeId(mermaid, "Service Bus queue<br/>mesh-events");
        const subQueue = nodeId(mermaid, "Dead-letter sub-queue");
        const alert = nodeId(mermaid, "Metric alert<br/>mesh-dev-ingress-dlq-alert");
        assert.ok(hasEdge(mermaid, queue, subQueue));
        assert.ok(hasEdge(mermaid, subQueue, alert, "DeadletteredMessages > 0"));
        assert.ok(hasEdge(mermaid, alert, nodeId(mermaid, "Action group"), "notifies"));
    });

    it("draws identities and the role assignment scoped to the queue", () => {
        const sp = nodeId(mermaid, "Service principal");
        const assignment = nodeId(mermaid, "Role assignment<br/>Azure Service Bus Data Sender");
        const queue = nodeId(mermaid, "Service Bus queue<br/>mesh-events");
        assert.ok(hasEdge(mermaid, sp, assignment));
        assert.ok(hasEdge(mermaid, assignment, queue, "Azure Service Bus Data Sender"));
        assert.ok(hasEdge(mermaid, nodeId(mermaid, "Target (retry policy)<br/>185 retries / 3600s"), nodeId(mermaid, "IAM role<br/>mesh-dev-egress-target-role"), "assumes"));
        assert.ok(hasEdge(mermaid, nodeId(mermaid, "Connection (OAuth"), nodeId(mermaid, "Entra ID application"), "client id"));
    });

    it("follows the program: without the metric alert or the role assignment, the picture has neither", () => {
        const broken = copy(dev).filter((r) => r.type !== T.metricAlert && r.type !== "azure-native:authorization:RoleAssignment");
        const drawn = meshDiagram(broken, "dev");
        assert.doesNotMatch(drawn, /Metric alert/);
        assert.doesNotMatch(drawn, /DeadletteredMessages > 0/);
        assert.doesNotMatch(drawn, /Azure Service Bus Data Sender/);
    });

    it("draws a consumer Function app: receives from the queue, claims in Redis, runs as a managed identity with its roles", () => {
        const queue = dev.find((r) => r.type === T.serviceBusQueue)!;
        const identity = resource("azure-native:managedidentity:UserAssignedIdentity", "consumer-identity", { tags: {} }, { outputs: { id: "/mi/consumer" } });
        const receiver = resource(
            "azure-native:authorization:RoleAssignment",
            "consumer-queue-receiver",
            { principalId: "principal-computed-by-azure", roleDefinitionId: "/x/roleDefinitions/4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0", scope: queue.outputs.id },
            { dependsOn: [identity.urn, queue.urn] },
        );
        const redis = resource("azure-native:redisenterprise:RedisEnterprise", "consumer-redis", { minimumTlsVersion: "1.2" }, { outputs: { name: "consumer-redis" } });
        const database = resource("azure-native:redisenterprise:Database", "consumer-redis-db", { clusterName: "consumer-redis", databaseName: "default" }, { dependsOn: [redis.urn] });
        const app = resource(
            "azure-native:web:WebApp",
            "consumer-app",
            {
                kind: "functionapp,linux",
                httpsOnly: true,
                identity: { type: "UserAssigned", userAssignedIdentities: ["/mi/consumer"] },
                siteConfig: { appSettings: [{ name: "MESH_QUEUE_NAME", value: queue.inputs.queueName }, { name: "MESH_REDIS_HOST", value: "host-computed-by-azure" }] },
            },
            { dependsOn: [identity.urn, redis.urn, receiver.urn] },
        );
        // The publisher side of the real program, with this consumer instead of any the program has.
        const consumerTypes = [identity.type, redis.type, database.type, app.type, "azure-native:redisenterprise:AccessPolicyAssignment"];
        const base = dev.filter((r) => !consumerTypes.includes(r.type) && !(r.type === receiver.type && !String(r.inputs.roleDefinitionId).endsWith("69a216fc-b8fb-44d8-bc22-1f3c2cd27a39")));
        const drawn = meshDiagram([...base, identity, receiver, redis, database, app], "dev");
        const appId = nodeId(drawn, "Function app<br/>consumer-app");
        assert.ok(hasEdge(drawn, nodeId(drawn, "Service Bus queue<br/>mesh-events"), appId, "peek-lock receive"));
        assert.ok(hasEdge(drawn, appId, nodeId(drawn, "Managed Redis"), "idempotency claim / complete"));
        assert.ok(hasEdge(drawn, appId, nodeId(drawn, "Managed identity"), "runs as"));
        const receiverId = nodeId(drawn, "Role assignment<br/>Azure Service Bus Data Receiver");
        assert.ok(hasEdge(drawn, nodeId(drawn, "Managed identity"), receiverId));
        assert.ok(hasEdge(drawn, receiverId, nodeId(drawn, "Service Bus queue<br/>mesh-events"), "Azure Service Bus Data Receiver"));
        assert.ok(!hasEdge(drawn, nodeId(drawn, "Service principal"), receiverId), "the publisher's principal is not the consumer's");
    });

    it("never prints a secret value", () => {
        const password = dev.find((r) => r.type === "azuread:index/applicationPassword:ApplicationPassword")!;
        const value = String(password.outputs.value);
        assert.ok(value.length > 8);
        assert.ok(!mermaid.includes(value));
    });

    it("the README embeds the dev diagram, and shows nothing the program no longer creates", () => {
        const readme = fs.readFileSync(path.join(ROOT, "docs", "diagram.md"), "utf8");
        const match = /<!-- diagram:dev:start -->\n```mermaid\n([\s\S]*?)\n```\n<!-- diagram:dev:end -->/.exec(readme);
        assert.ok(match, "README has no dev diagram block");
        const embedded = match[1];
        for (const cloud of ["aws", "azure", "entra"]) assert.match(embedded, new RegExp(`subgraph ${cloud}\\[`));
        // Node ids and logical names shift as the program grows; the kinds of resource it shows must
        // still be in the program (a README drawing a dead-letter alert the program no longer has is wrong).
        const kinds = (text: string) => new Set([...text.matchAll(/^\s+n\w+[[({]+"([^"<]+)<br\/>/gm)].map((m) => m[1]));
        const current = kinds(mermaid);
        const stale = [...kinds(embedded)].filter((k) => !current.has(k));
        assert.ok(kinds(embedded).size > 10, "README's diagram shows almost nothing");
        assert.deepStrictEqual(stale, [], "README's diagram is stale: run `npm run preview -- --stack dev --update-readme`");
    });

    it("--update-readme replaces exactly the stack's block", () => {
        const readme = "intro\n<!-- diagram:dev:start -->\n```mermaid\nold\n```\n<!-- diagram:dev:end -->\nrest\n";
        assert.strictEqual(replaceReadmeDiagram(readme, "dev", "flowchart TB"), "intro\n<!-- diagram:dev:start -->\n```mermaid\nflowchart TB\n```\n<!-- diagram:dev:end -->\nrest\n");
        assert.throws(() => replaceReadmeDiagram(readme, "prod", "x"), /no <!-- diagram:prod:start -->/);
    });

    it("renders to SVG without a browser", async () => {
        const svg = await meshDiagramSvg(mermaid);
        assert.ok(svg, "beautiful-mermaid is not installed");
        assert.match(svg!, /^<svg[^>]*viewBox/);
        assert.match(svg!, /Service Bus queue/);
        assert.doesNotMatch(svg!, /@import/);
    });

    it("npm run preview writes mesh.md and mesh.svg per stack", function () {
        this.timeout(180_000);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mesh-diagram-"));
        try {
            const result = preview(["--stack", "prod", "--policy-only", "--diagram-dir", dir, ...COMPLIANT_CONFIG]);
            assert.strictEqual(result.status, 0, result.stderr);
            assert.match(result.stdout, /Diagram of the mesh: .*mesh\.md, .*mesh\.svg/);
            const md = fs.readFileSync(path.join(dir, "prod", "mesh.md"), "utf8");
            assert.match(md, /```mermaid\n[\s\S]*mesh-events · maxDeliveryCount 10/);
            assert.ok(fs.statSync(path.join(dir, "prod", "mesh.svg")).size > 1000);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
