/**
 * Production wiring of the AWS consumer (SQS → Lambda): the shared consumer core over the DynamoDB
 * idempotency store, hosted by runtime/sqs-consumer.ts, with real AWS clients. Nothing happens at
 * import; the Lambda closure calls `createSqsConsumerLambdaHandler` once per container.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { BusinessHandler, createConsumer } from "./consumer";
import { createDynamoDbIdempotencyStore, DynamoDbSender } from "./dynamodb-idempotency-store";
import { createJsonLogger, Logger, LogLevel } from "./logger";
import { createSqsBatchHandler, DeadLetterSender, SqsBatchHandler } from "./sqs-consumer";

/** Sends dead-letter copies with SendMessage; every attribute a String (SQS message attributes, DataType String). */
export function sqsDeadLetterSender(sqs: Pick<SQSClient, "send">, queueUrl: string): DeadLetterSender {
  if (typeof queueUrl !== "string" || !/^https?:\/\//.test(queueUrl)) {
    throw new Error(`sqs consumer: the dead-letter queue URL ${JSON.stringify(queueUrl)} is not a URL`);
  }
  return {
    async sendToDeadLetterQueue({ body, attributes }) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: body,
          MessageAttributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { DataType: "String", StringValue: v }])),
        }),
      );
    },
  };
}

export interface SqsConsumerWiring {
  /** DynamoDB idempotency table (idempotencyTableDefinition's layout). */
  tableName: string;
  /** URL of the consumer queue's own dead-letter queue. */
  deadLetterQueueUrl: string;
  /** The consumer queue's visibility timeout, seconds. */
  visibilityTimeoutSeconds: number;
  /** The function's timeout, seconds: the lease is never longer. */
  functionTimeoutSeconds: number;
  /** The mapping's batching window, seconds. */
  batchWindowSeconds: number;
  /** How long completed event ids are remembered, days. */
  dedupeWindowDays: number;
  /** Prepended to event ids in the table's key (several consumers may share a table). */
  keyPrefix?: string;
  handler: BusinessHandler;
  logLevel?: LogLevel;
}

export interface SqsConsumerClients {
  dynamoDb: DynamoDbSender;
  sqs: Pick<SQSClient, "send">;
  logger: Logger;
}

/** The batch handler from settings and clients; tests pass clients of DynamoDB Local and the local SQS endpoint. */
export function createSqsConsumer(wiring: SqsConsumerWiring, clients: SqsConsumerClients): SqsBatchHandler {
  const problems: string[] = [];
  for (const field of ["visibilityTimeoutSeconds", "functionTimeoutSeconds", "dedupeWindowDays"] as const) {
    if (!Number.isInteger(wiring[field]) || wiring[field] <= 0) problems.push(`${field} must be a positive integer, got ${JSON.stringify(wiring[field])}`);
  }
  if (!Number.isInteger(wiring.batchWindowSeconds) || wiring.batchWindowSeconds < 0) problems.push(`batchWindowSeconds must be a non-negative integer, got ${JSON.stringify(wiring.batchWindowSeconds)}`);
  if (typeof wiring.tableName !== "string" || wiring.tableName === "") problems.push("tableName is not set");
  if (typeof wiring.handler !== "function") problems.push("handler is not a function");
  if (problems.length > 0) throw new Error(`sqs consumer: ${problems.join("; ")}`);

  const store = createDynamoDbIdempotencyStore(clients.dynamoDb, {
    tableName: wiring.tableName,
    keyPrefix: wiring.keyPrefix,
    dedupeWindowMs: wiring.dedupeWindowDays * 86_400_000,
  });
  const consumer = createConsumer({ store, handler: wiring.handler, logger: clients.logger, messageLockMs: wiring.functionTimeoutSeconds * 1000 });
  return createSqsBatchHandler({
    consumer,
    deadLetters: sqsDeadLetterSender(clients.sqs, wiring.deadLetterQueueUrl),
    logger: clients.logger,
    visibilityTimeoutMs: wiring.visibilityTimeoutSeconds * 1000,
    batchWindowMs: wiring.batchWindowSeconds * 1000,
  });
}

/** The Lambda handler with the cloud's clients (credentials and region from the function's environment). */
export function createSqsConsumerLambdaHandler(wiring: SqsConsumerWiring): SqsBatchHandler {
  return createSqsConsumer(wiring, {
    dynamoDb: new DynamoDBClient({}),
    sqs: new SQSClient({}),
    logger: createJsonLogger({ service: "mesh-aws-consumer", level: wiring.logLevel }),
  });
}
