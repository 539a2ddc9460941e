import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { idempotencyTableDefinition } from "../../runtime/dynamodb-idempotency-store";
import { createSqsConsumer } from "../../runtime/sqs-consumer-lambda";
import { DEAD_LETTER_ATTRIBUTES } from "../../runtime/sqs-consumer";
import { DynamoDbLocal, startDynamoDbLocal } from "../../tools/local-servers/dynamodb-local";
import { SqsEndpoint, startSqsEndpoint } from "../../tools/local-servers/sqs-endpoint";
import { redriveConsumerDeadLetters } from "../../tools/redrive/consumer-dlq";
import { envelopeOf, makeEvent } from "../support/events";
import { memoryLogger } from "../support/memory-logger";

/**
 * `npm run redrive -- aws-consumer` against two local SQS endpoints (the consumer queue and its
 * dead-letter queue) and, for the crash case, the REAL SQS consumer on DynamoDB Local, fed by a
 * model of Lambda's poller (receive, invoke, delete what is not in batchItemFailures).
 */
describe("redrive: the AWS consumer queue's dead-letter queue (local SQS endpoints)", function () {
    this.timeout(30_000);
    let source: SqsEndpoint;
    let dlq: SqsEndpoint;
    let sourceClient: SQSClient;
    let dlqClient: SQSClient;
    let lines: string[];

    const run = (extra: { dryRun?: boolean; max?: number; allowReasons?: string[] } = {}) =>
        redriveConsumerDeadLetters({
            deadLetterSqs: dlqClient,
            deadLetterQueueUrl: dlq.queueUrl,
            sourceSqs: sourceClient,
            sourceQueueUrl: source.queueUrl,
            dryRun: false,
            print: (l) => lines.push(l),
            ...extra,
        });

    /** A message SQS moved after maxReceiveCount: the original body, no attributes. */
    const movedBySqs = () => {
        const event = makeEvent({ metadata: { source: "com.example.azure.orders" } });
        return { event, message: dlq.send(JSON.stringify(envelopeOf(event))) };
    };
    /** A copy the SQS host dead-lettered on first delivery, with its reason. */
    const poison = (reason: string, body: string) =>
        dlq.send(body, {
            [DEAD_LETTER_ATTRIBUTES.reason]: reason,
            [DEAD_LETTER_ATTRIBUTES.description]: `${reason}: test`,
            [DEAD_LETTER_ATTRIBUTES.sourceMessageId]: randomUUID(),
            [DEAD_LETTER_ATTRIBUTES.receiveCount]: "1",
        });
    const v2Body = () => JSON.stringify(envelopeOf(makeEvent({ metadata: { schema_version: "2.0" } })));

    beforeEach(async () => {
        source = await startSqsEndpoint("mesh-dev-aws-consumer-queue");
        dlq = await startSqsEndpoint("mesh-dev-aws-consumer-dlq");
        sourceClient = source.client();
        dlqClient = dlq.client();
        lines = [];
    });
    afterEach(async () => {
        sourceClient.destroy();
        dlqClient.destroy();
        await source.stop();
        await dlq.stop();
    });

    it("moves what SQS dead-lettered back unchanged and refuses reasons the consumer would dead-letter again", async () => {
        const moved = [movedBySqs(), movedBySqs(), movedBySqs()];
        poison("UnsupportedSchemaVersion", v2Body());
        poison("UnsupportedSchemaVersion", v2Body());
        poison("NotJson", "{not json");

        const summary = await run();

        assert.deepEqual(source.messages.map((m) => m.Body).sort(), moved.map((m) => m.message.Body).sort(), "bodies sent back byte for byte");
        assert.ok(source.messages.every((m) => Object.keys(m.MessageAttributes).length === 0), "no dead-letter attributes go back to the consumer queue");
        assert.equal(dlq.messages.length, 3, "the refused stay in the dead-letter queue");
        assert.ok(dlq.messages.every((m) => m.MessageAttributes[DEAD_LETTER_ATTRIBUTES.reason] !== undefined));
        assert.equal(dlq.visibleCount(), 3, "refused messages are visible again at once for the next run");
        assert.deepEqual({ received: summary.received, moved: summary.moved, refused: summary.refused }, { received: 6, moved: 3, refused: { UnsupportedSchemaVersion: 2, NotJson: 1 } });
        const listing = lines.join("\n");
        for (const m of moved) assert.match(listing, new RegExp(`redrive event ${m.event.metadata.event_id} .*moved by SQS after maxReceiveCount`));
        assert.match(listing, /✗ event [0-9a-f-]{36} .*UnsupportedSchemaVersion .*refused.*--allow-reason UnsupportedSchemaVersion/);
        assert.match(listing, /✗ SQS message .*NotJson/);
    });

    it("sends a named reason back when the operator allows it, and only that one", async () => {
        poison("UnsupportedSchemaVersion", v2Body());
        poison("NotJson", "{not json");
        const summary = await run({ allowReasons: ["UnsupportedSchemaVersion"] });
        assert.equal(summary.moved, 1);
        assert.equal(source.messages.length, 1);
        assert.equal(JSON.parse(source.messages[0].Body).detail.metadata.schema_version, "2.0");
        assert.deepEqual(dlq.messages.map((m) => m.MessageAttributes[DEAD_LETTER_ATTRIBUTES.reason].StringValue), ["NotJson"]);
    });

    it("--dry-run lists reasons and changes nothing; --max stops after N", async () => {
        movedBySqs();
        movedBySqs();
        poison("InvalidEventId", v2Body());
        const dry = await run({ dryRun: true });
        assert.equal(dry.received, 3);
        assert.equal(source.messages.length, 0);
        assert.equal(dlq.messages.length, 3);
        assert.equal(dlq.visibleCount(), 3, "a dry run leaves everything visible");
        assert.ok(!dlq.operations.includes("DeleteMessageBatch") && !source.operations.includes("SendMessage"));
        assert.match(lines.join("\n"), /would redrive/);
        assert.match(lines.join("\n"), /InvalidEventId/);

        const limited = await run({ max: 1 });
        assert.equal(limited.received, 1);
        assert.equal(dlq.messages.length + source.messages.length, 3);
    });

    it("deletes nothing whose send failed", async () => {
        movedBySqs();
        source.setFault((operation) => (operation === "SendMessage" ? "drop" : undefined));
        const summary = await run();
        assert.equal(summary.sendFailed, 1);
        assert.equal(summary.moved, 0);
        assert.equal(dlq.messages.length, 1, "still in the dead-letter queue");
        assert.ok(!dlq.operations.includes("DeleteMessageBatch"));
    });

    describe("a crash between send and delete", function () {
        let ddb: DynamoDbLocal;
        let dynamo: DynamoDBClient;
        let tableName: string;

        before(async function () {
            this.timeout(180_000);
            ddb = await startDynamoDbLocal();
            dynamo = ddb.client();
            tableName = `idem-${randomUUID()}`;
            await dynamo.send(new CreateTableCommand(idempotencyTableDefinition(tableName)));
        });
        after(async () => {
            dynamo?.destroy();
            await ddb?.stop();
        });

        it("gives a duplicate in the consumer queue that the real consumer applies once; nothing is lost", async () => {
            const { event } = movedBySqs();
            dlq.setFault((operation) => (operation === "DeleteMessageBatch" ? "drop" : undefined));
            const first = await run();
            assert.equal(first.sentNotDeleted, 1, "the delete did not happen");
            assert.equal(dlq.messages.length, 1);
            dlq.setFault(undefined);
            dlq.expireVisibility();
            const second = await run();
            assert.equal(second.moved, 1);
            assert.equal(dlq.messages.length, 0);
            assert.equal(source.messages.length, 2, "the crash left a duplicate");

            const effects: string[] = [];
            const consumer = createSqsConsumer(
                {
                    tableName,
                    deadLetterQueueUrl: dlq.queueUrl,
                    visibilityTimeoutSeconds: 180,
                    functionTimeoutSeconds: 30,
                    batchWindowSeconds: 0,
                    dedupeWindowDays: 28,
                    handler: async (e) => void effects.push(e.metadata.event_id),
                },
                { dynamoDb: dynamo, sqs: dlqClient, logger: memoryLogger() },
            );
            // One record per invocation: the second copy arrives after the first completed.
            for (let i = 0; i < 2; i++) {
                const received = await sourceClient.send(new ReceiveMessageCommand({ QueueUrl: source.queueUrl, MaxNumberOfMessages: 1, VisibilityTimeout: 180 }));
                const m = received.Messages![0];
                const response = await consumer({ Records: [{ messageId: m.MessageId!, body: m.Body!, attributes: { ApproximateReceiveCount: "1" } }] }, { getRemainingTimeInMillis: () => 30_000 });
                assert.deepEqual(response.batchItemFailures, []);
                await sourceClient.send(new DeleteMessageBatchCommand({ QueueUrl: source.queueUrl, Entries: [{ Id: "0", ReceiptHandle: m.ReceiptHandle! }] }));
            }
            assert.deepEqual(effects, [event.metadata.event_id], "applied once");
            assert.equal(dlq.messages.length, 0, "and not dead-lettered");
        });
    });
});
