import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildConsumerPackage } from "../../components/azure/consumer-package";
import { writeArchive } from "../../tools/archives";
import { RedisServer, startRedisServer } from "../../tools/local-servers/redis-server";
import { envelopeOf, makeEvent } from "../support/events";
import { runFreshNode } from "../support/fresh-node";

/**
 * The packaged consumer in settlement mode `throw`, with the preview package
 * `@azure/functions-extensions-servicebus` removed from the package: the fallback must not need it.
 * A fresh Node process loads the package's entry file; `@azure/functions`' `app` is replaced by a
 * model of the Functions host (named as such) that records the trigger registration and then
 * invokes its handler as the host does with plain bindings and `autoCompleteMessages: true`:
 * return → complete, throw → abandon. Idempotency runs against a real redis-server.
 */
describe("consumer package in settlement mode throw (without the preview settlement package)", function () {
    this.timeout(180_000);
    let dir: string;
    let pkg: string;
    let redis: RedisServer;

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "mesh-consumer-throw-"));
        pkg = path.join(dir, "wwwroot");
        const built = buildConsumerPackage({
            handler: async (event) => {
                if ((event.data as { fail?: boolean }).fail === true) throw new Error(`business rule refused ${event.metadata.event_id}`);
                process.stdout.write(`EFFECT ${event.metadata.event_id}\n`);
            },
            maxConcurrentCalls: 4,
            maxAutoLockRenewalSeconds: 300,
        });
        await writeArchive(built.archive, pkg);
        fs.rmSync(path.join(pkg, "node_modules", "@azure", "functions-extensions-servicebus"), { recursive: true, force: true });
        redis = await startRedisServer();
    });
    after(async () => {
        await redis?.stop();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    async function host(deliveries: { body: unknown; messageId: string; deliveryCount: number }[], mode: string) {
        const script = path.join(dir, "host-model.js");
        fs.writeFileSync(
            script,
            [
                "// A model of the Functions host with plain Service Bus bindings.",
                "const Module = require('module');",
                "const registrations = [];",
                "const original = Module._load;",
                "Module._load = function (request, parent, isMain) {",
                "  if (request === '@azure/functions') return { app: { serviceBusQueue: (name, options) => registrations.push({ name, options }) } };",
                "  return original.apply(this, arguments);",
                "};",
                `require(${JSON.stringify(path.join(pkg, "index.js"))});`,
                "let input = '';",
                "process.stdin.on('data', (c) => (input += c)).on('end', async () => {",
                "  const [registration] = registrations;",
                "  const { handler, ...options } = registration.options;",
                "  console.log('REGISTERED ' + JSON.stringify({ name: registration.name, count: registrations.length, options }));",
                "  for (const d of JSON.parse(input)) {",
                "    const context = { triggerMetadata: { messageId: d.messageId, deliveryCount: d.deliveryCount, lockedUntilUtc: new Date(Date.now() + 30000).toISOString() } };",
                "    try {",
                "      await handler(d.body, context);",
                "      console.log('ACTION ' + JSON.stringify({ id: d.messageId, action: 'complete' }));",
                "    } catch (error) {",
                "      console.log('ACTION ' + JSON.stringify({ id: d.messageId, action: 'abandon', error: String(error && error.message) }));",
                "    }",
                "  }",
                "  process.exit(0);",
                "});",
            ].join("\n"),
        );
        const run = await runFreshNode(script, {
            cwd: pkg,
            input: JSON.stringify(deliveries),
            env: {
                PATH: process.env.PATH ?? "",
                MESH_SETTLEMENT_MODE: mode,
                MESH_QUEUE_NAME: "mesh-events",
                MESH_MESSAGE_LOCK_MS: "30000",
                MESH_REDIS_HOST: "127.0.0.1",
                MESH_REDIS_PORT: String(redis.port),
                MESH_REDIS_TLS: "false",
                MESH_REDIS_AUTH: "none",
            },
        });
        const lines = run.stdout.split("\n");
        const registered = lines.find((l) => l.startsWith("REGISTERED "));
        return {
            ...run,
            registration: registered ? JSON.parse(registered.slice(11)) : undefined,
            actions: lines.filter((l) => l.startsWith("ACTION ")).map((l) => JSON.parse(l.slice(7))),
            effects: lines.filter((l) => l.startsWith("EFFECT ")).map((l) => l.slice(7)),
        };
    }

    it("mode sdk needs the preview package: without it the entry file fails to load (so the removal above is real)", async () => {
        const run = await host([], "sdk");
        assert.notEqual(run.status, 0);
        assert.match(run.stderr, /Cannot find module '@azure\/functions-extensions-servicebus'/);
    });

    it("registers plain bindings with host completion, and applies, completes, abandons as the consumer decides", async () => {
        const event = makeEvent();
        const failing = makeEvent({ data: { fail: true } });
        const run = await host(
            [
                { body: JSON.stringify(envelopeOf(event)), messageId: "m-1", deliveryCount: 1 },
                { body: JSON.stringify(envelopeOf(event)), messageId: "m-2", deliveryCount: 1 },
                { body: JSON.stringify(envelopeOf(failing)), messageId: "m-3", deliveryCount: 1 },
                { body: "{not json", messageId: "p-1", deliveryCount: 1 },
            ],
            "throw",
        );
        assert.equal(run.status, 0, run.stderr);
        assert.deepEqual(run.registration, {
            name: "mesh-consumer",
            count: 1,
            options: { connection: "ServiceBusConnection", queueName: "%MESH_QUEUE_NAME%", cardinality: "one", autoCompleteMessages: true },
        });
        assert.deepEqual(run.effects, [event.metadata.event_id], "the duplicate m-2 does not run the handler");
        assert.deepEqual(run.actions.map((a) => [a.id, a.action]), [["m-1", "complete"], ["m-2", "complete"], ["m-3", "abandon"], ["p-1", "abandon"]]);
        assert.match(run.actions[3].error, /cannot dead-letter it/);
    });

    it("Redis unreachable: the function throws, so the host abandons and completes nothing", async () => {
        const port = redis.port;
        await redis.stop();
        try {
            const run = await host([{ body: JSON.stringify(envelopeOf(makeEvent())), messageId: "r-1", deliveryCount: 1 }], "throw");
            assert.equal(run.status, 0, run.stderr);
            assert.deepEqual(run.effects, []);
            assert.deepEqual(run.actions.map((a) => [a.id, a.action]), [["r-1", "abandon"]]);
            assert.match(run.actions[0].error, /consumer unavailable/);
        } finally {
            await redis.restart();
            assert.equal(redis.port, port);
        }
    });
});
