/**
 * The smoke test's view of each cloud service, as small ports, and the adapters that put the real
 * SDK clients behind them. The adapters are the same in the command and in its test; only the
 * clients differ (cloud endpoints there; DynamoDB Local, redis-server, local EventBridge/SQS
 * endpoints and a Service Bus model here).
 */
import { DescribeConnectionCommand, EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { TransactWritePort } from "../../runtime/outbox-writer";

export interface QueueDepth {
    visible: number;
    inFlight: number;
}

/** An SQS queue's approximate depth (GetQueueAttributes). */
export interface QueueDepthPort {
    depth(): Promise<QueueDepth>;
}

export interface ConnectionState {
    state: string;
    reason?: string;
}

/** The EventBridge connection the API destination authorizes with (DescribeConnection). */
export interface ConnectionPort {
    describe(): Promise<ConnectionState>;
}

/** The idempotency record of one event, raw as GET returns it (null when absent); runtime/idempotency-store.ts `recordState` reads it. */
export interface IdempotencyRecordPort {
    get(key: string): Promise<string | null>;
}

export interface PeekedMessage {
    messageId?: string;
    /** The domain event id found in the body (EventBridge envelope → detail.metadata.event_id). */
    eventId?: string;
    deadLetterReason?: string;
    deadLetterErrorDescription?: string;
}

/** Non-destructive looks at the Service Bus queue and its dead-letter sub-queue. */
export interface ServiceBusPeekPort {
    /** Up to `max` messages of `<queue>/$DeadLetterQueue`, from the oldest. */
    peekDeadLetters(max: number): Promise<PeekedMessage[]>;
    /** Up to `max` messages waiting in the queue itself, from the oldest. */
    peekQueue(max: number): Promise<PeekedMessage[]>;
}

export interface SmokePorts {
    outbox: TransactWritePort;
    idempotency: IdempotencyRecordPort;
    connection: ConnectionPort;
    awsDeadLetters: QueueDepthPort;
    relayFailures?: QueueDepthPort;
    serviceBus: ServiceBusPeekPort;
}

export function sqsQueueDepth(sqs: Pick<SQSClient, "send">, queueUrl: string): QueueDepthPort {
    return {
        async depth() {
            const out = await sqs.send(
                new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }),
            );
            const count = (name: string) => {
                const raw = out.Attributes?.[name as keyof typeof out.Attributes];
                const n = Number(raw);
                if (raw === undefined || !Number.isInteger(n) || n < 0) throw new Error(`GetQueueAttributes on ${queueUrl} returned no usable ${name} (${JSON.stringify(raw)})`);
                return n;
            };
            return { visible: count("ApproximateNumberOfMessages"), inFlight: count("ApproximateNumberOfMessagesNotVisible") };
        },
    };
}

export function eventBridgeConnection(eventBridge: Pick<EventBridgeClient, "send">, name: string): ConnectionPort {
    return {
        async describe() {
            const out = await eventBridge.send(new DescribeConnectionCommand({ Name: name }));
            if (!out.ConnectionState) throw new Error(`DescribeConnection ${name} returned no ConnectionState`);
            return { state: out.ConnectionState, reason: out.StateReason };
        },
    };
}

/** The slice of @azure/service-bus's ServiceBusReceiver the peeks use. */
export interface PeekReceiver {
    peekMessages(max: number, options?: { fromSequenceNumber?: unknown }): Promise<Array<{ body: unknown; messageId?: unknown; deadLetterReason?: string; deadLetterErrorDescription?: string }>>;
    close(): Promise<void>;
}

/**
 * Peeks through a fresh receiver each time: a receiver's peeks continue after the last message it
 * peeked, so reusing one would hide the messages it has already seen.
 */
export function serviceBusPeeks(openReceiver: (subQueue: "deadLetter" | undefined) => PeekReceiver): ServiceBusPeekPort {
    const peek = async (subQueue: "deadLetter" | undefined, max: number): Promise<PeekedMessage[]> => {
        const receiver = openReceiver(subQueue);
        try {
            const messages = await receiver.peekMessages(max);
            return messages.map((m) => ({
                messageId: m.messageId === undefined ? undefined : Buffer.isBuffer(m.messageId) ? m.messageId.toString("hex") : String(m.messageId),
                eventId: eventIdInBody(m.body),
                deadLetterReason: m.deadLetterReason,
                deadLetterErrorDescription: m.deadLetterErrorDescription,
            }));
        } finally {
            await receiver.close();
        }
    };
    return { peekDeadLetters: (max) => peek("deadLetter", max), peekQueue: (max) => peek(undefined, max) };
}

/** The domain event id in a message body as the API destination posts it (or a bare domain event). */
export function eventIdInBody(body: unknown): string | undefined {
    let value = body;
    if (Buffer.isBuffer(value) || value instanceof Uint8Array) value = Buffer.from(value).toString("utf8");
    if (typeof value === "string") {
        try {
            value = JSON.parse(value);
        } catch {
            return undefined;
        }
    }
    const object = value as { detail?: { metadata?: { event_id?: unknown } }; metadata?: { event_id?: unknown } } | null;
    const id = object?.detail?.metadata?.event_id ?? object?.metadata?.event_id;
    return typeof id === "string" ? id : undefined;
}

/** The `oid` claim of an Entra access token: the object id Azure Managed Redis expects as the user name. */
export function objectIdOfToken(token: string): string {
    const payload = token.split(".")[1];
    if (!payload) throw new Error("the Entra access token is not a JWT; pass --redis-username OBJECT_ID");
    let claims: { oid?: unknown };
    try {
        claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    } catch {
        throw new Error("the Entra access token's payload is not JSON; pass --redis-username OBJECT_ID");
    }
    if (typeof claims.oid !== "string" || claims.oid === "") throw new Error("the Entra access token has no oid claim; pass --redis-username OBJECT_ID");
    return claims.oid;
}
