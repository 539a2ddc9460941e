import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildConsumerPackage } from "../../components/azure/consumer-package";
import { writeArchive } from "../../tools/archives";
import { envelopeOf, makeEvent } from "../support/events";
import { RedisServer, startRedisServer } from "../../tools/local-servers/redis-server";
import { runFreshNode } from "../support/fresh-node";

/**
 * The consumer Functions package as the program builds it (serialized closure, v4 entry file,
 * host.json, only the packages it loads), written to a temp folder and loaded by a fresh Node
 * process that cannot see this repository. That process plays the Functions host's part: it
 * invokes the registered handler with Service Bus messages and records the settlement actions
 * (a model of the host's message actions, named as such). Idempotency runs against a real
 * redis-server.
 */
describe("consumer Functions package (packaged as for deployment)", function () {
    this.timeout(180_000);

    let dir: string;
    let pkg: string;
    let redis: RedisServer;

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "mesh-consumer-"));
        pkg = path.join(dir, "wwwroot");
        // The business handler for this test: reports each effect on stdout, fails on demand.
        const built = buildConsumerPackage({
            handler: async (event) => {
                if ((event.data as { fail?: boolean }).fail === true) throw new Error(`business rule refused ${event.metadata.event_id}`);
                process.stdout.write(`EFFECT ${event.metadata.event_id}\n`);
            },
            maxConcurrentCalls: 16,
            maxAutoLockRenewalSeconds: 300,
        });
        await writeArchive(built.archive, pkg);
        redis = await startRedisServer();
    });
    after(async () => {
        await redis?.stop();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("has the v4 entry, host.json with explicit settlement, and only the consumer's packages", () => {
        const host = JSON.parse(fs.readFileSync(path.join(pkg, "host.json"), "utf8"));
        assert.equal(host.version, "2.0");
        assert.equal(host.extensions.serviceBus.autoCompleteMessages, false);
        assert.equal(host.extensions.serviceBus.maxAutoLockRenewalDuration, "00:05:00");
        assert.equal(host.extensions.serviceBus.prefetchCount, 0);
        const manifest = JSON.parse(fs.readFileSync(path.join(pkg, "package.json"), "utf8"));
        assert.equal(manifest.main, "index.js");
        const entry = fs.readFileSync(path.join(pkg, "index.js"), "utf8");
        assert.match(entry, /app\.serviceBusQueue\("mesh-consumer"/);
        assert.match(entry, /sdkBinding: true/);
        assert.match(entry, /connection: "ServiceBusConnection"/);
        const modules = fs.readdirSync(path.join(pkg, "node_modules"));
        for (const forbidden of ["@pulumi", "@aws-sdk", "@smithy", "typescript", "mocha"]) {
            assert.ok(!modules.includes(forbidden), `${forbidden} must not be in the consumer package`);
        }
        assert.ok(fs.existsSync(path.join(pkg, "node_modules", "ioredis")));
        assert.ok(fs.existsSync(path.join(pkg, "node_modules", "@azure", "functions")));
        assert.doesNotMatch(fs.readFileSync(path.join(pkg, "consumer.js"), "utf8"), /require\("@pulumi\//);
    });

    interface Delivery {
        body: unknown;
        messageId: string;
        deliveryCount: number;
    }

    /** Runs the package in a fresh process, delivering each message in turn; returns actions and effects. */
    async function host(deliveries: Delivery[], env: Record<string, string> = {}) {
        const script = path.join(dir, "host-model.js");
        fs.writeFileSync(
            script,
            [
                "// A model of the Functions host: one invocation per message, settlement recorded.",
                `const entry = require(${JSON.stringify(path.join(pkg, "index.js"))});`,
                "let input = '';",
                "process.stdin.on('data', (c) => (input += c)).on('end', async () => {",
                "  for (const d of JSON.parse(input)) {",
                "    // As @azure/functions-extensions-servicebus 0.2.0-preview builds it: no lockedUntilUtc.",
                "    const message = { ...d };",
                "    const actions = {",
                "      complete: async () => console.log('ACTION ' + JSON.stringify({ id: d.messageId, action: 'complete' })),",
                "      abandon: async () => console.log('ACTION ' + JSON.stringify({ id: d.messageId, action: 'abandon' })),",
                "      deadletter: async (m, props, reason, description) => console.log('ACTION ' + JSON.stringify({ id: d.messageId, action: 'deadletter', reason, description })),",
                "    };",
                "    await entry.handler({ messages: [message], actions });",
                "  }",
                "  process.exit(0);",
                "});",
            ].join("\n"),
        );
        const { status, stdout, stderr } = await runFreshNode(script, {
            cwd: pkg,
            input: JSON.stringify(deliveries),
            env: {
                PATH: process.env.PATH ?? "",
                MESH_QUEUE_NAME: "mesh-events",
                MESH_MESSAGE_LOCK_MS: "30000",
                MESH_REDIS_HOST: "127.0.0.1",
                MESH_REDIS_PORT: String(redis.port),
                MESH_REDIS_TLS: "false",
                MESH_REDIS_AUTH: "none",
                ...env,
            },
        });
        const lines = stdout.split("\n");
        return {
            status,
            stderr,
            stdout,
            actions: lines.filter((l) => l.startsWith("ACTION ")).map((l) => JSON.parse(l.slice(7))),
            effects: lines.filter((l) => l.startsWith("EFFECT ")).map((l) => l.slice(7)),
        };
    }

    it("new event: handler runs once, message completed; the redelivered duplicate is completed without running", async () => {
        const event = makeEvent();
        const delivery = { body: JSON.stringify(envelopeOf(event)), messageId: "m-1", deliveryCount: 1 };
        const first = await host([delivery]);
        assert.equal(first.status, 0, first.stderr);
        assert.deepEqual(first.effects, [event.metadata.event_id]);
        assert.deepEqual(first.actions, [{ id: "m-1", action: "complete" }]);
        // Another worker process, the same event again (an EventBridge retry arrives as a new message).
        const again = await host([{ ...delivery, messageId: "m-2" }]);
        assert.equal(again.status, 0, again.stderr);
        assert.deepEqual(again.effects, [], "a duplicate must not run the handler");
        assert.deepEqual(again.actions, [{ id: "m-2", action: "complete" }]);
    });

    it("handler failure: abandoned, and the redelivery runs it again", async () => {
        const failing = makeEvent({ data: { fail: true } });
        const out = await host([{ body: JSON.stringify(envelopeOf(failing)), messageId: "m-3", deliveryCount: 1 }]);
        assert.equal(out.status, 0, out.stderr);
        assert.deepEqual(out.effects, []);
        assert.deepEqual(out.actions, [{ id: "m-3", action: "abandon" }]);
        const redelivered = await host([{ body: JSON.stringify(envelopeOf(failing)), messageId: "m-3", deliveryCount: 2 }]);
        assert.deepEqual(redelivered.actions, [{ id: "m-3", action: "abandon" }], "the released claim lets the handler run again (and fail again)");
        assert.match(redelivered.stdout, /Handler failed/);
    });

    it("poison: dead-lettered on the first delivery with a reason that names the fault", async () => {
        const noId = makeEvent();
        (noId.metadata as Partial<typeof noId.metadata>).event_id = undefined;
        const out = await host([
            { body: "{not json", messageId: "p-1", deliveryCount: 1 },
            { body: JSON.stringify(envelopeOf(noId)), messageId: "p-2", deliveryCount: 1 },
        ]);
        assert.equal(out.status, 0, out.stderr);
        assert.deepEqual(out.effects, []);
        assert.deepEqual(out.actions.map((a) => [a.id, a.action]), [["p-1", "deadletter"], ["p-2", "deadletter"]]);
        for (const action of out.actions) {
            assert.ok(action.reason && action.reason.length > 0, "a dead-letter reason is given");
            assert.ok(action.description && action.description.length > 0);
        }
        assert.match(out.actions[1].description, /event_id/);
    });

    it("Redis unreachable: nothing is acknowledged and the handler does not run", async () => {
        const event = makeEvent();
        const out = await host([{ body: JSON.stringify(envelopeOf(event)), messageId: "r-1", deliveryCount: 1 }], { MESH_REDIS_PORT: "1" });
        assert.equal(out.status, 0, out.stderr);
        assert.match(out.stdout, /Consumer could not start \(Redis unavailable\)/, "the failure is logged");
        assert.deepEqual(out.effects, []);
        assert.deepEqual(out.actions, [{ id: "r-1", action: "abandon" }], "given back, not completed or dead-lettered");
        assert.ok(!out.actions.some((a) => a.action === "complete" || a.action === "deadletter"), JSON.stringify(out.actions));
    });

    it("bad app settings fail loudly, naming each setting, and settle nothing", async () => {
        const out = await host([{ body: "{}", messageId: "s-1", deliveryCount: 1 }], { MESH_MESSAGE_LOCK_MS: "soon", MESH_REDIS_AUTH: "entra" });
        assert.notEqual(out.status, 0);
        assert.match(out.stderr, /MESH_MESSAGE_LOCK_MS="soon" is not a positive integer/);
        assert.match(out.stderr, /MESH_REDIS_USERNAME is not set/);
        assert.match(out.stderr, /AZURE_CLIENT_ID is not set/);
        assert.deepEqual(out.actions, []);
    });

});
