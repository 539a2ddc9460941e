import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CreateTableCommand, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { idempotencyTableDefinition } from "../../runtime/dynamodb-idempotency-store";
import { DEAD_LETTER_ATTRIBUTES } from "../../runtime/sqs-consumer";
import { DynamoDbLocal, startDynamoDbLocal } from "../../tools/local-servers/dynamodb-local";
import { SqsEndpoint, startSqsEndpoint } from "../../tools/local-servers/sqs-endpoint";
import { envelopeOf, makeEvent } from "../support/events";
import { runFreshNode } from "../support/fresh-node";
import { one, preview, PreviewResult } from "../support/offline-preview";

/**
 * The AWS consumer Lambda (Azure → AWS) as it would be deployed: the program runs under mocks,
 * aws.lambda.CallbackFunction serializes the closure and picks its packages as for `pulumi up`, the
 * archive is written to a temp folder, and a fresh Node process that cannot see this repository
 * loads it, configured only by the environment the component sets, and is invoked with SQS records
 * against DynamoDB Local (its idempotency table) and the local SQS endpoint (its dead-letter queue).
 */
describe("AWS consumer Lambda closure (packaged as for deployment)", function () {
  this.timeout(180_000);
  let dir: string;
  let run: PreviewResult;
  let archive: string;
  let env: Record<string, string>;
  let ddb: DynamoDbLocal;
  let dlq: SqsEndpoint;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mesh-aws-consumer-"));
    run = preview(["--stack", "dev", "--json", "--write-archives", dir]);
    assert.equal(run.status, 0, run.stderr);
    const fn = one(run, "aws:lambda/function:Function", "-aws-consumer-function");
    archive = fn.inputs.code.archive.writtenTo;
    env = fn.inputs.environment.variables;
    // The test points the function at its local stand-ins, so first check the component wires the real ones.
    assert.equal(env.MESH_DEAD_LETTER_QUEUE_URL, one(run, "aws:sqs/queue:Queue", "-aws-consumer-dlq").outputs.url);
    assert.equal(env.MESH_IDEMPOTENCY_TABLE, one(run, "aws:dynamodb/table:Table", "-aws-consumer-idempotency").outputs.name);
    [ddb, dlq] = await Promise.all([startDynamoDbLocal(), startSqsEndpoint("mesh-dev-aws-consumer-dlq")]);
    await ddb.client().send(new CreateTableCommand(idempotencyTableDefinition(env.MESH_IDEMPOTENCY_TABLE)));
  });
  after(async () => {
    await Promise.all([ddb?.stop(), dlq?.stop()]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("holds the serialized handler and only the packages the consumer loads", () => {
    assert.ok(fs.existsSync(path.join(archive, "__index.js")));
    const modules = path.join(archive, "node_modules");
    const packages = fs.readdirSync(modules).flatMap((p) => (p.startsWith("@") ? fs.readdirSync(path.join(modules, p)).map((s) => `${p}/${s}`) : [p]));
    for (const needed of ["@aws-sdk/client-dynamodb", "@aws-sdk/client-sqs"]) assert.ok(packages.includes(needed), `${needed} missing from the archive`);
    for (const forbidden of ["@pulumi", "@azure", "ioredis", "pg", "@aws-sdk/client-eventbridge", "typescript", "mocha"]) {
      assert.ok(!packages.some((p) => p === forbidden || p.startsWith(`${forbidden}/`)), `${forbidden} must not be in the consumer's archive`);
    }
    assert.doesNotMatch(fs.readFileSync(path.join(archive, "__index.js"), "utf8"), /require\("@pulumi\//, "the serialized handler must not load Pulumi");
  });

  async function invoke(records: unknown[], remainingMs = 30_000): Promise<{ result?: { batchItemFailures: { itemIdentifier: string }[] }; applied: string[]; stderr: string; stdout: string }> {
    const script = path.join(dir, "invoke-aws-consumer.js");
    fs.writeFileSync(
      script,
      [
        `const { handler } = require(${JSON.stringify(path.join(archive, "__index.js"))});`,
        "let input = '';",
        "process.stdin.on('data', (c) => (input += c)).on('end', async () => {",
        "  const started = Date.now();",
        `  const result = await handler(JSON.parse(input), { getRemainingTimeInMillis: () => ${remainingMs} - (Date.now() - started) });`,
        "  process.stdout.write('\\nRESULT ' + JSON.stringify(result) + '\\n');",
        "});",
      ].join("\n"),
    );
    const { status, stdout, stderr } = await runFreshNode(script, {
      cwd: archive,
      input: JSON.stringify({ Records: records }),
      // What the Lambda runtime gives it: the component's environment, a region, credentials; no NODE_PATH into this repository.
      env: {
        PATH: process.env.PATH ?? "",
        ...env,
        MESH_DEAD_LETTER_QUEUE_URL: dlq.queueUrl,
        AWS_REGION: ddb.region,
        AWS_ACCESS_KEY_ID: ddb.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: ddb.credentials.secretAccessKey,
        AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint,
        AWS_ENDPOINT_URL_SQS: dlq.endpoint,
      },
    });
    assert.equal(status, 0, stderr);
    const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
    const applied = stdout
      .split("\n")
      .filter((l) => l.includes('"Event applied"'))
      .map((l) => JSON.parse(l).eventId as string);
    return { result: line ? JSON.parse(line.slice(7)) : undefined, applied, stderr, stdout };
  }

  const record = (body: string, messageId: string, receiveCount = 1) => ({
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: { ApproximateReceiveCount: String(receiveCount), SentTimestamp: String(Date.now()) },
    messageAttributes: {},
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:mesh-dev-aws-consumer",
    awsRegion: "eu-west-1",
  });

  it("applies each event once across invocations, and dead-letters poison with its reason", async () => {
    const events = [makeEvent(), makeEvent()];
    const poison = makeEvent({ metadata: { schema_version: "2.0" } });
    const first = await invoke([
      record(JSON.stringify(envelopeOf(events[0])), "m-1"),
      record(JSON.stringify(envelopeOf(events[1])), "m-2"),
      // The same event again in the batch (a duplicate delivery by the rule target).
      record(JSON.stringify(envelopeOf(events[0])), "m-3"),
      record(JSON.stringify(envelopeOf(poison)), "m-4"),
    ]);
    assert.ok(first.result, `no result; stdout: ${first.stdout} stderr: ${first.stderr}`);
    assert.deepEqual(first.result.batchItemFailures, []);
    assert.deepEqual([...first.applied].sort(), events.map((e) => e.metadata.event_id).sort(), "each event applied once, poison never");

    const item = await ddb.client().send(new GetItemCommand({ TableName: env.MESH_IDEMPOTENCY_TABLE, Key: { pk: { S: events[0].metadata.event_id } }, ConsistentRead: true }));
    assert.equal(item.Item?.state?.S, "done");

    assert.equal(dlq.messages.length, 1, "poison goes to the consumer's dead-letter queue");
    assert.equal(JSON.parse(dlq.messages[0].Body).detail.metadata.event_id, poison.metadata.event_id);
    assert.equal(dlq.messages[0].MessageAttributes[DEAD_LETTER_ATTRIBUTES.reason]?.StringValue, "UnsupportedSchemaVersion");
    assert.equal(dlq.messages[0].MessageAttributes[DEAD_LETTER_ATTRIBUTES.sourceMessageId]?.StringValue, "m-4");

    // A later copy in another container (a lost delete, a redrive) is acknowledged without running.
    const again = await invoke([record(JSON.stringify(envelopeOf(events[1])), "m-5", 2)]);
    assert.deepEqual(again.result?.batchItemFailures, []);
    assert.deepEqual(again.applied, []);
  });

  it("reports a record as failed, not acknowledged, when the idempotency table cannot be reached", async () => {
    // Same archive, wrong table: every claim fails, nothing may be deleted from the queue.
    const wrong = await (async () => {
      const saved = env.MESH_IDEMPOTENCY_TABLE;
      env.MESH_IDEMPOTENCY_TABLE = "no-such-table";
      try {
        // 4 s left in the invocation: the claim is retried until 2 s before the end, then given up.
        return await invoke([record(JSON.stringify(envelopeOf(makeEvent())), "m-7")], 4000);
      } finally {
        env.MESH_IDEMPOTENCY_TABLE = saved;
      }
    })();
    assert.deepEqual(wrong.result?.batchItemFailures, [{ itemIdentifier: "m-7" }]);
    assert.deepEqual(wrong.applied, []);
  });
});
