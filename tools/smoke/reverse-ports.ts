/**
 * The Azure → AWS smoke run's view of each service, as small ports, and the adapters that put the
 * real clients behind them (the same adapters in the command and in its offline test; only the
 * clients differ: cloud endpoints there, PostgreSQL 15, DynamoDB Local and local SQS endpoints here).
 */
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDbSender } from "../../runtime/dynamodb-idempotency-store";
import type { PgPoolLike } from "../../runtime/postgres-outbox/writer";
import type { PgQueryable } from "../../runtime/postgres-outbox/schema";
import { DEAD_LETTER_ATTRIBUTES } from "../../runtime/sqs-consumer";
import { eventIdInBody, QueueDepthPort, sqsQueueDepth } from "./ports";

/** The outbox database as the user: the writer's pool, and plain queries for the row's state. */
export type OutboxDatabasePort = PgPoolLike & PgQueryable;

/** The consumer's idempotency record of one event, as DynamoDB holds it (runtime/dynamodb-idempotency-store.ts). */
export interface DynamoRecord {
    state: string;
    /** End of the dedupe window, epoch ms: from then on the record counts as absent. */
    expiresAt?: number;
}

export interface DynamoRecordPort {
    get(key: string): Promise<DynamoRecord | null>;
}

export interface FoundDeadLetter {
    messageId?: string;
    eventId?: string;
    /** The consumer's DeadLetterReason, or EventBridge's ERROR_CODE; undefined: moved by SQS after maxReceiveCount. */
    reason?: string;
    description?: string;
}

/** A dead-letter queue: its depth, and a look for one event in it. */
export interface DeadLetterQueuePort extends QueueDepthPort {
    find(eventId: string): Promise<FoundDeadLetter | undefined>;
}

export interface ReverseSmokePorts {
    outbox: OutboxDatabasePort;
    idempotency: DynamoRecordPort;
    consumerQueue: QueueDepthPort;
    consumerDeadLetters: DeadLetterQueuePort;
    targetDeadLetters: DeadLetterQueuePort;
}

/** GetItem of the record (key `pk`, IDEMPOTENCY_TABLE); a strongly consistent read, so a fresh `done` is seen. */
export function dynamoRecords(dynamodb: DynamoDbSender, tableName: string): DynamoRecordPort {
    return {
        async get(key) {
            const out = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: key } }, ConsistentRead: true }));
            const item = out.Item;
            if (!item) return null;
            const expiresAt = item.expiresAt?.N !== undefined ? Number(item.expiresAt.N) : undefined;
            return { state: item.state?.S ?? "?", expiresAt };
        },
    };
}

/**
 * SQS has no peek. A receive with VisibilityTimeout 0 leaves each message visible; only its receive
 * count rises, which on a dead-letter queue (no redrive policy of its own) changes nothing. A few
 * receives sample the queue; with more than `maxMessages` dead letters the event may be missed
 * (the depth still tells).
 */
export function sqsDeadLetterQueue(sqs: Pick<SQSClient, "send">, queueUrl: string, maxMessages = 100): DeadLetterQueuePort {
    const depth = sqsQueueDepth(sqs, queueUrl);
    return {
        depth: () => depth.depth(),
        async find(eventId) {
            const seen = new Set<string>();
            for (let round = 0; round < Math.ceil(maxMessages / 10); round++) {
                const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0, MessageAttributeNames: ["All"] }));
                const messages = (out.Messages ?? []).filter((m) => m.MessageId && !seen.has(m.MessageId));
                if (messages.length === 0) return undefined;
                for (const m of messages) {
                    seen.add(m.MessageId!);
                    const id = eventIdInBody(m.Body ?? "");
                    if (id !== eventId) continue;
                    const attr = (name: string) => m.MessageAttributes?.[name]?.StringValue;
                    return {
                        messageId: m.MessageId,
                        eventId: id,
                        reason: attr(DEAD_LETTER_ATTRIBUTES.reason) ?? attr("ERROR_CODE"),
                        description: attr(DEAD_LETTER_ATTRIBUTES.description) ?? attr("ERROR_MESSAGE"),
                    };
                }
            }
            return undefined;
        },
    };
}
