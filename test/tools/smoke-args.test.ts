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
