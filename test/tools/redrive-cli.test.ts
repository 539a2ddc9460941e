import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseRedriveArgs, UsageError } from "../../tools/redrive";
import { startPutEventsEndpoint } from "../../tools/local-servers/put-events-endpoint";
import { ROOT } from "../support/offline-preview";
import { startSqsEndpoint } from "../../tools/local-servers/sqs-endpoint";

const OUTPUTS = {
    awsRegion: "eu-west-1",
    busName: "mesh-prod-egress-bus",
    busArn: "arn:aws:events:eu-west-1:123456789012:event-bus/mesh-prod-egress-bus",
    archiveArn: "arn:aws:events:eu-west-1:123456789012:archive/mesh-prod-egress-archive",
    apiDestinationArn: "arn:aws:events:eu-west-1:123456789012:api-destination/d/1",
    awsDeadLetterQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/mesh-prod-egress-dlq",
    serviceBusNamespaceFqdn: "mesh-prod-abc.servicebus.windows.net",
    queueName: "mesh-events",
};
const read = (files: Record<string, string>) => (p: string) => {
    if (!(p in files)) throw new Error(`ENOENT: no such file, open '${p}'`);
    return files[p];
};

describe("redrive command line", () => {
    it("takes the targets from a stack's outputs file", () => {
        const args = parseRedriveArgs(["aws", "--outputs", "out.json", "--dry-run"], read({ "out.json": JSON.stringify(OUTPUTS) }));
        assert.equal(args.queueUrl, OUTPUTS.awsDeadLetterQueueUrl);
        assert.equal(args.busName, OUTPUTS.busName);
        assert.equal(args.region, "eu-west-1");
        assert.equal(args.dryRun, true);
        const azure = parseRedriveArgs(["azure", "--outputs", "out.json"], read({ "out.json": JSON.stringify(OUTPUTS) }));
        assert.equal(azure.namespace, OUTPUTS.serviceBusNamespaceFqdn);
        assert.equal(azure.queue, "mesh-events");
        assert.equal(parseRedriveArgs(["azure", "--outputs", "out.json", "--duplicate-detection-window", "10"], read({ "out.json": JSON.stringify(OUTPUTS) })).duplicateDetectionWindowMinutes, 10);
    });

    it("finds the Azure → AWS dead letters from the same outputs file", () => {
        const outputs = {
            ...OUTPUTS,
            awsConsumerQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/mesh-prod-aws-consumer-queue",
            awsConsumerDeadLetterQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/mesh-prod-aws-consumer-dlq",
            awsConsumerTargetDeadLetterQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/mesh-prod-aws-consumer-target-dlq",
            azureOutboxServerFqdn: "mesh-prod-outbox.postgres.database.azure.com",
            azureOutboxDatabaseName: "outbox",
        };
        const files = read({ "out.json": JSON.stringify(outputs) });
        const consumer = parseRedriveArgs(["aws-consumer", "--outputs", "out.json", "--allow-reason", "UnsupportedSchemaVersion", "--max", "5"], files);
        assert.equal(consumer.queueUrl, outputs.awsConsumerDeadLetterQueueUrl);
        assert.equal(consumer.sourceQueueUrl, outputs.awsConsumerQueueUrl);
        assert.deepEqual(consumer.allowReasons, ["UnsupportedSchemaVersion"]);
        assert.equal(consumer.max, 5);
        const target = parseRedriveArgs(["aws-consumer-target", "--outputs", "out.json"], files);
        assert.equal(target.queueUrl, outputs.awsConsumerTargetDeadLetterQueueUrl, "the consumer rule's target DLQ, not the egress one");
        assert.equal(target.busName, OUTPUTS.busName);
        const outbox = parseRedriveArgs(["outbox", "--outputs", "out.json", "--event-id", "a", "--event-id", "b", "--reason", "RetriesExhausted", "--pg-user", "ops@contoso.com"], files);
        assert.deepEqual(
            { host: outbox.pgHost, db: outbox.pgDatabase, ids: outbox.eventIds, reasons: outbox.reasonClasses, user: outbox.pgUser },
            { host: outputs.azureOutboxServerFqdn, db: "outbox", ids: ["a", "b"], reasons: ["RetriesExhausted"], user: "ops@contoso.com" },
        );
    });

    it("lets flags win over the outputs file", () => {
        const args = parseRedriveArgs(["aws", "--bus-name", "other-bus", "--outputs", "out.json"], read({ "out.json": JSON.stringify(OUTPUTS) }));
        assert.equal(args.busName, "other-bus");
    });

    it("parses --replay FROM TO", () => {
        const args = parseRedriveArgs(["aws", "--replay", "2026-11-27T08:00:00Z", "2026-11-27T09:00:00Z", "--outputs", "o"], read({ o: JSON.stringify(OUTPUTS) }));
        assert.deepEqual(args.replay, { from: new Date("2026-11-27T08:00:00Z"), to: new Date("2026-11-27T09:00:00Z") });
        assert.equal(args.archiveArn, OUTPUTS.archiveArn);
        assert.equal(args.apiDestinationArn, OUTPUTS.apiDestinationArn);
    });

    const bad: Array<[string[], RegExp]> = [
        [[], /the first argument is one of aws, azure, relay, aws-consumer-target, aws-consumer, outbox; got ""/],
        [["gcp"], /the first argument is one of .*; got "gcp"/],
        [["aws-consumer"], /missing --queue-url \(or --outputs with awsConsumerDeadLetterQueueUrl\)/],
        [["aws-consumer", "--queue-url", "https://sqs.eu-west-1.amazonaws.com/1/dlq"], /missing --source-queue-url \(or --outputs with awsConsumerQueueUrl\)/],
        [["aws-consumer-target", "--bus-name", "b"], /missing --queue-url \(or --outputs with awsConsumerTargetDeadLetterQueueUrl\)/],
        [["outbox"], /missing --pg-host \(or --outputs with azureOutboxServerFqdn\)/],
        [["outbox", "--pg-host", "h"], /missing --pg-database \(or --outputs with azureOutboxDatabaseName\)/],
        [["aws", "--allow-reason", "NotJson"], /--allow-reason is for aws-consumer, outbox/],
        [["aws-consumer", "--event-id", "x"], /--event-id is for outbox/],
        [["outbox", "--allow-reason"], /--allow-reason needs a value/],
        [["outbox", "--pg-port", "0"], /--pg-port needs a positive integer/],
        [["aws"], /missing --queue-url \(or --outputs with awsDeadLetterQueueUrl\)/],
        [["aws", "--queue-url", "https://sqs.eu-west-1.amazonaws.com/1/q"], /missing --bus-name \(or --outputs with busName\)/],
        [["aws", "--replay", "yesterday", "today"], /--replay FROM: "yesterday" is not an ISO 8601 time/],
        [["aws", "--replay", "2026-11-27T08:00:00Z", "2026-11-27T09:00:00Z"], /missing --archive-arn/],
        [["azure", "--replay", "2026-11-27T08:00:00Z", "2026-11-27T09:00:00Z"], /--replay is for aws/],
        [["azure", "--namespace", "mesh-prod-abc", "--queue", "q"], /--namespace must be the fully qualified namespace <name>\.servicebus\.windows\.net, got "mesh-prod-abc"/],
        [["azure", "--queue", "q"], /missing --namespace \(or --outputs with serviceBusNamespaceFqdn\)/],
        [["aws", "--max", "0"], /--max needs a positive integer, got "0"/],
        [["aws", "--frobnicate"], /unknown argument "--frobnicate"/],
        [["aws", "--outputs", "missing.json"], /--outputs missing.json: cannot read it as JSON \(ENOENT/],
        [["aws", "--bus-name"], /--bus-name needs a value/],
        [["aws", "--duplicate-detection-window", "10"], /--duplicate-detection-window is for azure/],
        [["azure", "--duplicate-detection-window", "-1"], /--duplicate-detection-window needs a positive integer, got "-1"/],
    ];
    for (const [argv, message] of bad) {
        it(`refuses ${JSON.stringify(argv)}`, () => {
            assert.throws(() => parseRedriveArgs(argv, read({})), (err: Error) => {
                assert.ok(err instanceof UsageError);
                assert.match(err.message, message);
                return true;
            });
        });
    }

    it("npm run redrive -- aws --outputs FILE redrives end to end (AWS endpoints from AWS_ENDPOINT_URL)", async () => {
        const sqs = await startSqsEndpoint();
        const events = await startPutEventsEndpoint();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "redrive-"));
        try {
            const event = { version: "0", id: "e1", "detail-type": "T", source: "enterprise.transactions", time: "2026-11-27T08:00:00Z", resources: [], detail: { metadata: { event_id: "evt-cli" } } };
            sqs.send(JSON.stringify(event), { ERROR_CODE: "SDK_CLIENT_ERROR", ERROR_MESSAGE: "410 Gone" });
            const file = path.join(dir, "out.json");
            fs.writeFileSync(file, JSON.stringify({ ...OUTPUTS, awsDeadLetterQueueUrl: sqs.queueUrl }));
            const child = spawn(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(ROOT, "tools", "redrive.ts"), "aws", "--outputs", file], {
                cwd: ROOT,
                env: {
                    ...process.env,
                    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
                    AWS_ENDPOINT_URL_EVENTBRIDGE: events.endpoint,
                    AWS_ACCESS_KEY_ID: "test",
                    AWS_SECRET_ACCESS_KEY: "test",
                    AWS_MAX_ATTEMPTS: "1",
                },
            });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (c) => (stdout += c));
            child.stderr.on("data", (c) => (stderr += c));
            const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
            assert.equal(code, 0, stdout + stderr);
            assert.match(stdout, /evt-cli \(enterprise\.transactions \/ T\): SDK_CLIENT_ERROR 410 Gone/);
            assert.match(stdout, /summary: 1 received, 1 republished, 1 deleted/);
            assert.equal(events.accepted.length, 1);
            assert.equal(events.accepted[0].EventBusName, OUTPUTS.busName);
            assert.equal(sqs.messages.length, 0);
        } finally {
            await sqs.stop();
            await events.stop();
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("npm run redrive -- aws-consumer-target redrives the consumer rule's target DLQ (same EventBridge dead-letter shape) to the bus", async () => {
        const sqs = await startSqsEndpoint("mesh-prod-aws-consumer-target-dlq");
        const events = await startPutEventsEndpoint();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "redrive-"));
        try {
            const event = {
                version: "0",
                id: "e2",
                "detail-type": "OrderShipped",
                source: "com.example.azure.orders",
                time: "2026-11-27T08:00:00Z",
                resources: [],
                detail: { metadata: { event_id: "evt-azure" } },
            };
            sqs.send(JSON.stringify(event), { ERROR_CODE: "NO_PERMISSIONS", ERROR_MESSAGE: "no sqs:SendMessage on the consumer queue" });
            const file = path.join(dir, "out.json");
            // The egress DLQ output points elsewhere: the command must read awsConsumerTargetDeadLetterQueueUrl.
            fs.writeFileSync(file, JSON.stringify({ ...OUTPUTS, awsConsumerTargetDeadLetterQueueUrl: sqs.queueUrl }));
            const child = spawn(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(ROOT, "tools", "redrive.ts"), "aws-consumer-target", "--outputs", file], {
                cwd: ROOT,
                env: { ...process.env, AWS_ENDPOINT_URL_SQS: sqs.endpoint, AWS_ENDPOINT_URL_EVENTBRIDGE: events.endpoint, AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_MAX_ATTEMPTS: "1" },
            });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (c) => (stdout += c));
            child.stderr.on("data", (c) => (stderr += c));
            const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
            assert.equal(code, 0, stdout + stderr);
            assert.match(stdout, /evt-azure \(com\.example\.azure\.orders \/ OrderShipped\): NO_PERMISSIONS/);
            assert.equal(events.accepted.length, 1);
            assert.deepEqual([events.accepted[0].EventBusName, events.accepted[0].Source], [OUTPUTS.busName, "com.example.azure.orders"]);
            assert.equal(sqs.messages.length, 0);
        } finally {
            await sqs.stop();
            await events.stop();
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("npm run redrive -- aws-consumer moves the consumer's dead letters back from the outputs' two queue URLs, refusing poison (exit 1)", async () => {
        const queue = await startSqsEndpoint("mesh-prod-aws-consumer-queue");
        const dlq = await startSqsEndpoint("mesh-prod-aws-consumer-dlq");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "redrive-"));
        try {
            const retried = JSON.stringify({ version: "0", id: "e3", "detail-type": "T", source: "com.example.azure.orders", detail: { metadata: { event_id: "evt-retried" } } });
            dlq.send(retried);
            dlq.send("{not json", { DeadLetterReason: "NotJson", DeadLetterErrorDescription: "NotJson: (body) is not JSON", SourceReceiveCount: "1" });
            const file = path.join(dir, "out.json");
            fs.writeFileSync(file, JSON.stringify({ ...OUTPUTS, awsConsumerQueueUrl: queue.queueUrl, awsConsumerDeadLetterQueueUrl: dlq.queueUrl }));
            // No endpoint override: the SQS client sends each call to its QueueUrl's host (the two local queues).
            const child = spawn(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(ROOT, "tools", "redrive.ts"), "aws-consumer", "--outputs", file], {
                cwd: ROOT,
                env: { ...process.env, AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_MAX_ATTEMPTS: "1", AWS_ENDPOINT_URL_SQS: "", AWS_ENDPOINT_URL: "" },
            });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (c) => (stdout += c));
            child.stderr.on("data", (c) => (stderr += c));
            const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
            assert.equal(code, 1, stdout + stderr);
            assert.match(stdout, /redrive event evt-retried \[message .*\]: no reason attribute: moved by SQS after maxReceiveCount/);
            assert.match(stdout, /✗ SQS message .*NotJson \(NotJson: \(body\) is not JSON\).*refused/);
            assert.match(stdout, /summary: 2 received, 1 moved back to the consumer queue; refused \(still in the dead-letter queue\): 1 NotJson/);
            assert.deepEqual(queue.messages.map((m) => m.Body), [retried]);
            assert.equal(dlq.messages.length, 1);
        } finally {
            await queue.stop();
            await dlq.stop();
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("prints the usage and exits 2 on a bad command line", async () => {
        const child = spawn(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(ROOT, "tools", "redrive.ts"), "aws"], { cwd: ROOT });
        let stderr = "";
        child.stderr.on("data", (c) => (stderr += c));
        const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
        assert.equal(code, 2);
        assert.match(stderr, /redrive: missing --queue-url/);
        assert.match(stderr, /usage:\n  npm run redrive -- aws/);
    });
});
