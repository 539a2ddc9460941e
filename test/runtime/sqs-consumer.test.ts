import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { idempotencyTableDefinition } from "../../runtime/dynamodb-idempotency-store";
import { createSqsConsumer } from "../../runtime/sqs-consumer-lambda";
import { DEAD_LETTER_ATTRIBUTES, SqsBatchHandler, SqsRecord } from "../../runtime/sqs-consumer";
import type { BusinessHandler } from "../../runtime/consumer";
import { DynamoDbLocal, startDynamoDbLocal } from "../../tools/local-servers/dynamodb-local";
import { SqsEndpoint, startSqsEndpoint } from "../../tools/local-servers/sqs-endpoint";
import { envelopeOf, makeEvent } from "../support/events";
import { memoryLogger } from "../support/memory-logger";

/**
 * The SQS host of the shared consumer on real DynamoDB Local (idempotency) and the local SQS
 * endpoint (source queue and dead-letter queue). `poll` is a MODEL of Lambda's SQS event source
 * mapping: receive a batch (visibility timeout starts), invoke, delete the records not listed in
 * batchItemFailures (ReportBatchItemFailures). Effects are counted by the handler itself.
 */
describe("runtime/sqs-consumer (SQS → Lambda host; real DynamoDB Local, local SQS endpoint)", function () {
    this.timeout(30_000);
    let ddb: DynamoDbLocal;
    let dynamo: DynamoDBClient;
    let source: SqsEndpoint;
    let dlq: SqsEndpoint;
    let sourceClient: SQSClient;
    let dlqClient: SQSClient;
    let tableName: string;
    let effects: string[];
    let failNext: Set<string>;

    const handler: BusinessHandler = async (event) => {
        if (failNext.delete(event.metadata.event_id)) throw new Error("business failure (transient)");
        effects.push(event.metadata.event_id);
    };

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
    beforeEach(async () => {
        source = await startSqsEndpoint("mesh-dev-aws-consumer-queue");
        dlq = await startSqsEndpoint("mesh-dev-aws-consumer-dlq");
        sourceClient = source.client();
        dlqClient = dlq.client();
        effects = [];
        failNext = new Set();
    });
    afterEach(async () => {
        sourceClient.destroy();
        dlqClient.destroy();
        await source.stop();
        await dlq.stop();
    });

    const consumerHandler = (logger = memoryLogger()): SqsBatchHandler =>
        createSqsConsumer(
            { tableName, deadLetterQueueUrl: dlq.queueUrl, visibilityTimeoutSeconds: 180, functionTimeoutSeconds: 30, batchWindowSeconds: 1, dedupeWindowDays: 14, handler },
            { dynamoDb: dynamo, sqs: dlqClient, logger },
        );

    /** One poll of the modelled event source mapping; returns the ids reported as failed. */
    const poll = async (fn: SqsBatchHandler): Promise<string[]> => {
        const received = await sourceClient.send(
            new ReceiveMessageCommand({ QueueUrl: source.queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 180, MessageSystemAttributeNames: ["ApproximateReceiveCount"] }),
        );
        const messages = received.Messages ?? [];
        const records: SqsRecord[] = messages.map((m) => ({
            messageId: m.MessageId!,
            receiptHandle: m.ReceiptHandle!,
            body: m.Body!,
            attributes: { ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount },
        }));
        const response = await fn({ Records: records }, { getRemainingTimeInMillis: () => 30_000 });
        const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
        const done = messages.filter((m) => !failed.has(m.MessageId!));
        if (done.length > 0) {
            await sourceClient.send(new DeleteMessageBatchCommand({ QueueUrl: source.queueUrl, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
        }
        return [...failed];
    };

    it("applies an event once and deletes it; the same event delivered again is acknowledged without a second effect", async () => {
        const fn = consumerHandler();
        const event = makeEvent({ metadata: { source: "azure.orders" } });
        source.send(JSON.stringify(envelopeOf(event)));
        assert.deepEqual(await poll(fn), []);
        source.send(JSON.stringify(envelopeOf(event)));
        assert.deepEqual(await poll(fn), []);
        assert.deepEqual(effects, [event.metadata.event_id]);
        assert.equal(source.messages.length, 0);
        assert.equal(dlq.messages.length, 0);
    });

    it("dead-letters a poison message on its first delivery, carrying the reason and the description as message attributes", async () => {
        const logger = memoryLogger();
        const fn = consumerHandler(logger);
        const sent = source.send('{"detail": {"metadata": {"event_id": "not-a-valid-event"}}');
        assert.deepEqual(await poll(fn), []);
        assert.equal(source.messages.length, 0, "deleted from the source queue");
        assert.equal(dlq.messages.length, 1);
        const copy = dlq.messages[0];
        assert.equal(copy.Body, sent.Body, "the original body, unchanged");
        const attr = (name: string) => copy.MessageAttributes[name]?.StringValue;
        assert.ok(attr(DEAD_LETTER_ATTRIBUTES.reason), "a reason");
        assert.match(attr(DEAD_LETTER_ATTRIBUTES.description) ?? "", /\S/);
        assert.equal(attr(DEAD_LETTER_ATTRIBUTES.sourceMessageId), sent.MessageId);
        assert.equal(attr(DEAD_LETTER_ATTRIBUTES.receiveCount), "1", "first delivery");
        assert.equal(copy.MessageAttributes[DEAD_LETTER_ATTRIBUTES.reason].DataType, "String");
        assert.deepEqual(effects, []);
    });

    it("a failing handler's record is reported in batchItemFailures and applied once on the next delivery; its batch neighbours are not", async () => {
        const fn = consumerHandler();
        const flaky = makeEvent({ metadata: { source: "azure.orders" } });
        const fine = makeEvent({ metadata: { source: "azure.orders" } });
        failNext.add(flaky.metadata.event_id);
        const flakyMessage = source.send(JSON.stringify(envelopeOf(flaky)));
        source.send(JSON.stringify(envelopeOf(fine)));
        assert.deepEqual(await poll(fn), [flakyMessage.MessageId]);
        assert.deepEqual(effects, [fine.metadata.event_id]);
        assert.equal(source.messages.length, 1, "the failed record stays in the queue");
        source.expireVisibility();
        assert.deepEqual(await poll(fn), []);
        assert.deepEqual(effects, [fine.metadata.event_id, flaky.metadata.event_id]);
        assert.equal(source.messages.length, 0);
    });

    it("when the dead-letter copy cannot be sent, the poison record is reported failed and stays: nothing is deleted before its copy exists", async () => {
        const fn = consumerHandler();
        source.send("not json at all");
        dlq.setFault((operation) => (operation === "SendMessage" ? "drop" : undefined));
        const failed = await poll(fn);
        assert.equal(failed.length, 1);
        assert.equal(source.messages.length, 1);
        assert.equal(dlq.messages.length, 0);
        dlq.setFault(undefined);
        source.expireVisibility();
        assert.deepEqual(await poll(fn), []);
        assert.equal(source.messages.length, 0);
        assert.equal(dlq.messages.length, 1);
        assert.equal(dlq.messages[0].MessageAttributes[DEAD_LETTER_ATTRIBUTES.receiveCount].StringValue, "2");
    });

    it("refuses settings that would break the timing or the wiring, naming the field", () => {
        assert.throws(
            () => createSqsConsumer({ tableName, deadLetterQueueUrl: dlq.queueUrl, visibilityTimeoutSeconds: 0, functionTimeoutSeconds: 30, batchWindowSeconds: 0, dedupeWindowDays: 14, handler }, { dynamoDb: dynamo, sqs: dlqClient, logger: memoryLogger() }),
            /visibilityTimeoutSeconds/,
        );
        assert.throws(
            () => createSqsConsumer({ tableName, deadLetterQueueUrl: "", visibilityTimeoutSeconds: 180, functionTimeoutSeconds: 30, batchWindowSeconds: 0, dedupeWindowDays: 14, handler }, { dynamoDb: dynamo, sqs: dlqClient, logger: memoryLogger() }),
            /dead-letter queue URL/,
        );
    });
});
