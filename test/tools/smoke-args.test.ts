import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { objectIdOfToken } from "../../tools/smoke/ports";
import { OutputSources, parseSmokeArgs, UsageError } from "../../tools/smoke/targets";
import { preview, ROOT } from "../support/offline-preview";

const OUTPUTS = {
    awsRegion: "eu-west-1",
    outboxTableName: "mesh-dev-outbox-table-1a2b3c4",
    eventSources: "com.example.orders,com.example.billing",
    connectionName: "mesh-dev-egress-connection-5d6e7f8",
    awsDeadLetterQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/mesh-dev-egress-dlq",
    relayFailureQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/mesh-dev-relay-failures",
    serviceBusNamespaceFqdn: "mesh-dev-abc.servicebus.windows.net",
    queueName: "mesh-events",
    redisHostName: "mesh-dev-redis.westeurope.redis.azure.net",
};

function sources(files: Record<string, string>, pulumi?: ReturnType<OutputSources["runPulumi"]>) {
    const calls: string[][] = [];
    const s: OutputSources = {
        readFile: (p) => {
            if (!(p in files)) throw new Error(`ENOENT: no such file, open '${p}'`);
            return files[p];
        },
        runPulumi: (args) => {
            calls.push(args);
            return pulumi ?? { status: 0, stdout: JSON.stringify(OUTPUTS), stderr: "" };
        },
    };
    return { s, calls };
}

describe("npm run smoke: arguments and stack outputs", () => {
    it("reads the outputs with the Pulumi CLI for --stack, secrets shown", () => {
        const { s, calls } = sources({});
        const targets = parseSmokeArgs(["--stack", "dev"], s).targets!;
        assert.deepEqual(calls, [["stack", "output", "--json", "--show-secrets", "--stack", "dev"]]);
        assert.equal(targets.outboxTableName, OUTPUTS.outboxTableName);
        assert.equal(targets.source, "com.example.orders");
        assert.equal(targets.connectionName, OUTPUTS.connectionName);
        assert.equal(targets.redisHost, OUTPUTS.redisHostName);
        assert.equal(targets.redisPort, 10000);
        assert.equal(targets.keyPrefix, "mesh:idem:");
        assert.equal(targets.timeoutMs, 120_000);
        assert.equal(targets.region, "eu-west-1");
    });

    it("reads an outputs file, and lets flags win", () => {
        const { s, calls } = sources({ "out.json": JSON.stringify(OUTPUTS) });
        const targets = parseSmokeArgs(["--outputs", "out.json", "--source", "com.example.billing", "--timeout", "30", "--redis-port", "6380", "--redis-username", "oid-1"], s).targets!;
        assert.deepEqual(calls, []);
        assert.equal(targets.source, "com.example.billing");
        assert.equal(targets.timeoutMs, 30_000);
        assert.equal(targets.redisPort, 6380);
        assert.equal(targets.redisUsername, "oid-1");
    });

    it("names what is wrong: flags, a missing output, a hidden secret, a missing Pulumi CLI, a failing stack", () => {
        const bad = (argv: string[], outputs: Record<string, unknown> = OUTPUTS, pulumi?: ReturnType<OutputSources["runPulumi"]>) => {
            try {
                parseSmokeArgs(argv, sources({ "out.json": JSON.stringify(outputs) }, pulumi).s);
            } catch (error) {
                assert.ok(error instanceof UsageError, String(error));
                return error.message;
            }
            assert.fail(`accepted ${argv.join(" ")}`);
        };
        assert.match(bad([]), /--stack NAME .* or --outputs FILE/);
        assert.match(bad(["--stack", "dev", "--outputs", "out.json"]), /not both/);
        assert.match(bad(["--stack"]), /--stack needs a value/);
        assert.match(bad(["--stack", "dev", "--verbose"]), /unknown argument "--verbose"/);
        assert.match(bad(["--outputs", "out.json", "--timeout", "0"]), /--timeout needs an integer from 1 to 1800/);
        assert.match(bad(["--outputs", "nope.json"]), /--outputs nope.json: cannot read it/);
        const { connectionName: _c, ...withoutConnection } = OUTPUTS;
        assert.match(bad(["--outputs", "out.json"], withoutConnection), /output connectionName is missing\. Deploy this version/);
        const { eventSources: _e, ...withoutSources } = OUTPUTS;
        assert.match(bad(["--outputs", "out.json"], withoutSources), /output eventSources is missing or empty; pass --source/);
        assert.match(bad(["--outputs", "out.json"], { ...OUTPUTS, redisHostName: "[secret]" }), /redisHostName is a secret/);
        const enoent = Object.assign(new Error("spawnSync pulumi ENOENT"), { code: "ENOENT" });
        assert.match(bad(["--stack", "dev"], OUTPUTS, { status: null, stdout: "", stderr: "", error: enoent }), /Pulumi CLI is not installed.*--outputs FILE/);
        assert.match(bad(["--stack", "qa"], OUTPUTS, { status: 255, stdout: "", stderr: "error: no stack named 'qa' found" }), /failed \(exit 255\): error: no stack named 'qa' found/);
    });

    it("--direction: both by default, skipping a direction the stack switched off; an explicit direction that is off is an error", () => {
        const reverseOutputs = {
            azureEventSources: "com.example.azure.orders,com.example.azure.billing",
            azureOutboxServerFqdn: "mesh-dev-outbox.postgres.database.azure.com",
            azureOutboxDatabaseName: "outbox",
            awsConsumerQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/mesh-dev-aws-consumer-queue",
            awsConsumerDeadLetterQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/mesh-dev-aws-consumer-dlq",
            awsConsumerTargetDeadLetterQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/mesh-dev-aws-consumer-target-dlq",
            awsIdempotencyTableName: "mesh-dev-aws-consumer-idempotency",
        };
        const parse = (argv: string[], outputs: Record<string, unknown>) => parseSmokeArgs(argv, sources({ "out.json": JSON.stringify(outputs) }).s);

        const forwardOnly = parse(["--outputs", "out.json"], OUTPUTS);
        assert.equal(forwardOnly.direction, "both");
        assert.ok(forwardOnly.targets && !forwardOnly.reverse);
        assert.deepEqual(forwardOnly.skipped, ["azure-to-aws: switched off in this stack (no awsConsumerQueueUrl output)"]);

        const both = parse(["--outputs", "out.json", "--pg-user", "ops@contoso.com", "--timeout", "60"], { ...OUTPUTS, ...reverseOutputs });
        assert.ok(both.targets);
        assert.deepEqual(both.reverse, {
            region: "eu-west-1",
            pgHost: reverseOutputs.azureOutboxServerFqdn,
            pgPort: 5432,
            pgDatabase: "outbox",
            pgUser: "ops@contoso.com",
            pgTable: "mesh_outbox",
            source: "com.example.azure.orders",
            consumerQueueUrl: reverseOutputs.awsConsumerQueueUrl,
            consumerDeadLetterQueueUrl: reverseOutputs.awsConsumerDeadLetterQueueUrl,
            targetDeadLetterQueueUrl: reverseOutputs.awsConsumerTargetDeadLetterQueueUrl,
            idempotencyTableName: reverseOutputs.awsIdempotencyTableName,
            keyPrefix: "",
            timeoutMs: 60_000,
            pollMs: 500,
        });
        const onlyReverse = parse(["--outputs", "out.json", "--direction", "azure-to-aws", "--azure-source", "com.example.azure.billing"], { ...OUTPUTS, ...reverseOutputs });
        assert.ok(!onlyReverse.targets);
        assert.equal(onlyReverse.reverse!.source, "com.example.azure.billing");

        // awsToAzureEnabled false: none of that direction's outputs, only the shared ones.
        const reverseStack = { awsRegion: "eu-west-1", ...reverseOutputs };
        const skippedForward = parse(["--outputs", "out.json"], reverseStack);
        assert.ok(!skippedForward.targets && skippedForward.reverse);
        assert.deepEqual(skippedForward.skipped, ["aws-to-azure: switched off in this stack (no outboxTableName output)"]);

        const refuses = (argv: string[], outputs: Record<string, unknown>, message: RegExp) =>
            assert.throws(() => parse(argv, outputs), (e: Error) => e instanceof UsageError && message.test(e.message));
        refuses(["--outputs", "out.json", "--direction", "aws-to-azure"], reverseStack, /the stack has aws-to-azure switched off \(no outboxTableName output; config awsToAzureEnabled\)/);
        refuses(["--outputs", "out.json", "--direction", "azure-to-aws"], OUTPUTS, /the stack has azure-to-aws switched off \(no awsConsumerQueueUrl output; config azureToAwsEnabled\)/);
        refuses(["--outputs", "out.json", "--direction", "sideways"], OUTPUTS, /--direction is aws-to-azure, azure-to-aws or both, got "sideways"/);
        refuses(["--outputs", "out.json"], { awsRegion: "eu-west-1" }, /neither direction is deployed/);
        const { awsIdempotencyTableName: _t, ...withoutTable } = reverseOutputs;
        refuses(["--outputs", "out.json"], { ...OUTPUTS, ...withoutTable }, /output awsIdempotencyTableName is missing/);
    });

    it("takes the Redis user name from the token's oid claim (the object id Azure Managed Redis authenticates)", () => {
        const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.sig`;
        assert.equal(objectIdOfToken(jwt({ oid: "11111111-2222-3333-4444-555555555555", upn: "me@example.com" })), "11111111-2222-3333-4444-555555555555");
        assert.throws(() => objectIdOfToken(jwt({ sub: "x" })), /no oid claim; pass --redis-username/);
        assert.throws(() => objectIdOfToken("opaque"), /not a JWT/);
    });

    it("finds every output it needs in what the program exports (offline preview of dev)", function () {
        this.timeout(180_000);
        const dev = preview(["--stack", "dev", "--json", "--show-secrets"]);
        assert.equal(dev.status, 0, dev.stderr);
        const targets = parseSmokeArgs(["--outputs", "out.json"], sources({ "out.json": JSON.stringify(dev.outputs) }).s).targets!;
        assert.ok(targets.connectionName && targets.source && targets.relayFailureQueueUrl, JSON.stringify(targets));
        assert.equal(dev.outputs.eventSources.split(",")[0], targets.source);
        const reverse = parseSmokeArgs(["--outputs", "out.json", "--direction", "azure-to-aws"], sources({ "out.json": JSON.stringify(dev.outputs) }).s).reverse!;
        assert.ok(reverse.pgHost && reverse.pgDatabase && reverse.idempotencyTableName && reverse.targetDeadLetterQueueUrl && reverse.consumerDeadLetterQueueUrl, JSON.stringify(reverse));
        assert.equal(dev.outputs.azureEventSources.split(",")[0], reverse.source);
    });

    it("prints usage and exits 2 on bad arguments, before touching any cloud", function () {
        this.timeout(60_000);
        const run = spawnSync(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(ROOT, "tools", "smoke.ts"), "--stack"], { cwd: ROOT, encoding: "utf8" });
        assert.equal(run.status, 2, run.stderr);
        assert.match(run.stderr, /--stack needs a value/);
        assert.match(run.stderr, /What only a real cloud proves/);
        const help = spawnSync(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(ROOT, "tools", "smoke.ts"), "--help"], { cwd: ROOT, encoding: "utf8" });
        assert.equal(help.status, 0, help.stderr);
        assert.match(help.stdout, /^usage: npm run smoke -- \(--stack NAME \| --outputs FILE\)/);
    });
});
