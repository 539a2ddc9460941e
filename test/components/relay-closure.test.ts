import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { one, preview, PreviewResult } from "../support/offline-preview";
import { runFreshNode } from "../support/fresh-node";
import { makeEvent } from "../support/events";
import { PutEventsEndpoint, startPutEventsEndpoint } from "../../tools/local-servers/put-events-endpoint";
import { outboxItem } from "../../runtime/outbox-writer";
import type { DomainEvent } from "../../runtime/event";

/**
 * The relay Lambda as it would be deployed: the program runs under mocks, aws.lambda.CallbackFunction
 * serializes the closure and picks the packages exactly as for `pulumi up`, the archive is written
 * to a temp folder, and a fresh Node process (which cannot see this repository's node_modules)
 * loads it and invokes the handler with DynamoDB Streams records against a PutEvents endpoint we
 * control.
 */
describe("relay Lambda closure (packaged as for deployment)", function () {
    this.timeout(180_000);

    let dir: string;
    let run: PreviewResult;
    let archive: string;
    let endpoint: PutEventsEndpoint;

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "mesh-archives-"));
        run = preview(["--stack", "dev", "--json", "--write-archives", dir]);
        assert.equal(run.status, 0, run.stderr);
        const fn = one(run, "aws:lambda/function:Function", "-relay-function");
        archive = fn.inputs.code.archive.writtenTo;
        endpoint = await startPutEventsEndpoint();
    });
    after(async () => {
        await endpoint?.stop();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    const files = (root: string): string[] =>
        fs.readdirSync(root, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(root, e.name)).map((f) => `${e.name}/${f}`) : [e.name]));

    it("holds the serialized handler and only the packages the relay loads", () => {
        const fn = one(run, "aws:lambda/function:Function", "-relay-function");
        assert.equal(fn.inputs.handler, "__index.handler");
        assert.ok(fs.existsSync(path.join(archive, "__index.js")));
        const packages = fs.readdirSync(path.join(archive, "node_modules")).flatMap((p) =>
            p.startsWith("@") ? fs.readdirSync(path.join(archive, "node_modules", p)).map((s) => `${p}/${s}`) : [p],
        );
        assert.ok(packages.includes("@aws-sdk/client-eventbridge"));
        for (const forbidden of ["@pulumi", "@azure", "ioredis", "@aws-sdk/client-dynamodb", "@aws-sdk/client-sqs", "typescript", "mocha"]) {
            assert.ok(!packages.some((p) => p === forbidden || p.startsWith(`${forbidden}/`)), `${forbidden} must not be in the relay's archive`);
        }
        const text = fs.readFileSync(path.join(archive, "__index.js"), "utf8");
        assert.doesNotMatch(text, /require\("@pulumi\//, "the serialized handler must not load Pulumi");
        assert.equal(fn.inputs.code.archive.files, files(archive).length);
    });

    async function invoke(event: unknown, env: Record<string, string>): Promise<{ status: number | null; result?: any; stderr: string; stdout: string }> {
        const script = path.join(dir, "invoke-relay.js");
        fs.writeFileSync(
            script,
            [
                `const { handler } = require(${JSON.stringify(path.join(archive, "__index.js"))});`,
                "let input = '';",
                "process.stdin.on('data', (c) => (input += c)).on('end', async () => {",
                "  const result = await handler(JSON.parse(input), {});",
                "  process.stdout.write('\\nRESULT ' + JSON.stringify(result) + '\\n');",
                "});",
            ].join("\n"),
        );
        const { status, stdout, stderr } = await runFreshNode(script, {
            cwd: archive,
            input: JSON.stringify(event),
            // Only what the Lambda runtime would give it: no NODE_PATH into this repository.
            env: {
                PATH: process.env.PATH ?? "",
                AWS_REGION: "eu-west-1",
                AWS_ACCESS_KEY_ID: "AKIDTEST",
                AWS_SECRET_ACCESS_KEY: "test-secret",
                AWS_ENDPOINT_URL_EVENTBRIDGE: endpoint.endpoint,
                ...env,
            },
        });
        const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
        return { status, result: line ? JSON.parse(line.slice(7)) : undefined, stderr, stdout };
    }

    const streamEvent = (items: Array<{ seq: string; image: Record<string, unknown>; eventName?: string }>) => ({
        Records: items.map(({ seq, image, eventName }) => ({
            eventID: `id-${seq}`,
            eventName: eventName ?? "INSERT",
            eventVersion: "1.1",
            eventSource: "aws:dynamodb",
            awsRegion: "eu-west-1",
            eventSourceARN: "arn:aws:dynamodb:eu-west-1:123456789012:table/outbox/stream/2026-01-01T00:00:00.000",
            dynamodb: { SequenceNumber: seq, NewImage: image, StreamViewType: "NEW_IMAGE", SizeBytes: 200 },
        })),
    });

    it("publishes pending outbox events to the bus named in its environment, and reports the failed ones", async () => {
        const busName = one(run, "aws:lambda/function:Function", "-relay-function").inputs.environment.variables.MESH_EVENT_BUS_NAME;
        const events: DomainEvent[] = Array.from({ length: 12 }, () => makeEvent());
        // A newer schema major is forwarded: the relay is a transport, the consumer decides what it supports.
        events[5] = makeEvent({ metadata: { schema_version: "2.0" } });
        const refused = events[3].metadata.event_id;
        endpoint.reset();
        endpoint.setBehaviour(() => ({
            kind: "respond",
            entry: (entry) => (JSON.parse(entry.Detail ?? "{}").metadata?.event_id === refused ? { ok: false, errorCode: "AccessDeniedException", errorMessage: "no" } : { ok: true }),
        }));
        const malformed = { event_id: { S: "not-json" }, status: { S: "PENDING" }, event: { S: "{oops" } };
        const records = [
            ...events.map((e, i) => ({ seq: String(100 + i), image: outboxItem(e) as Record<string, unknown> })),
            { seq: "200", image: malformed },
        ];
        const out = await invoke(streamEvent(records), { MESH_EVENT_BUS_NAME: busName });
        assert.equal(out.status, 0, out.stderr);
        assert.ok(out.result, `no result from the handler; stdout: ${out.stdout} stderr: ${out.stderr}`);
        assert.deepEqual(
            out.result.batchItemFailures.map((f: { itemIdentifier: string }) => f.itemIdentifier).sort(),
            ["103", "200"],
            "the refused event and the malformed item are reported; nothing else",
        );
        assert.equal(endpoint.accepted.length, 11);
        assert.ok(endpoint.accepted.every((e) => e.EventBusName === busName), "every entry goes to the bus from the environment");
        assert.ok(endpoint.requests.every((r) => r.entries.length <= 10), "at most 10 entries per PutEvents request");
        const published = endpoint.accepted.map((e) => JSON.parse(e.Detail!).metadata.event_id).sort();
        assert.deepEqual(published, events.map((e) => e.metadata.event_id).filter((id) => id !== refused).sort());
        const first = endpoint.accepted.find((e) => JSON.parse(e.Detail!).metadata.event_id === events[0].metadata.event_id)!;
        assert.equal(first.Source, events[0].metadata.source);
        assert.equal(first.DetailType, events[0].metadata.type);
        assert.deepEqual(JSON.parse(first.Detail!), events[0]);
    });

    it("fails loudly at cold start when its environment lacks the bus name", async () => {
        const out = await invoke(streamEvent([]), {});
        assert.notEqual(out.status, 0);
        assert.match(out.stderr, /MESH_EVENT_BUS_NAME is not set/);
    });
});
