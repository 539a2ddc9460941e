import * as http from "http";
import { createHash, randomUUID } from "crypto";
import { AddressInfo } from "net";
import { SQSClient } from "@aws-sdk/client-sqs";

/**
 * An SQS endpoint the tests control: a local HTTP server speaking the protocol @aws-sdk/client-sqs
 * 3.1169 uses, AWS JSON 1.0 (POST /, `X-Amz-Target: AmazonSQS.<Operation>`, JSON bodies; see
 * `protocol: AwsJson1_0Protocol`, `serviceTarget: "AmazonSQS"` in the client's runtime config).
 * It models one standard queue with visibility timeouts and receipt handles (only a message's latest
 * handle deletes it), and computes MD5OfBody, which the client checks on every receive.
 * Operations: SendMessage, ReceiveMessage, DeleteMessageBatch, ChangeMessageVisibilityBatch, GetQueueAttributes.
 */

export interface StoredMessage {
    MessageId: string;
    Body: string;
    MessageAttributes: Record<string, { DataType: string; StringValue?: string }>;
    receiveCount: number;
    invisibleUntil: number;
    receiptHandle?: string;
}

export type SqsFault = (operation: string, body: Record<string, any>) => "drop" | undefined;

export interface SqsEndpoint {
    readonly endpoint: string;
    readonly queueUrl: string;
    /** Messages still in the queue (visible or in flight). */
    readonly messages: StoredMessage[];
    /** Every operation received, in order. */
    readonly operations: string[];
    send(body: string, attributes?: Record<string, string>): StoredMessage;
    /** Ends every visibility timeout now, as if the timeout had passed. */
    expireVisibility(): void;
    visibleCount(): number;
    setFault(fault: SqsFault | undefined): void;
    client(): SQSClient;
    stop(): Promise<void>;
}

const md5 = (s: string) => createHash("md5").update(s, "utf8").digest("hex");

export async function startSqsEndpoint(queueName = "mesh-dev-egress-dlq"): Promise<SqsEndpoint> {
    const messages: StoredMessage[] = [];
    const operations: string[] = [];
    let fault: SqsFault | undefined;
    let queueUrl = "";

    const reply = (res: http.ServerResponse, status: number, body: unknown, errorType?: string) => {
        const headers: http.OutgoingHttpHeaders = { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": randomUUID() };
        if (errorType) headers["x-amzn-query-error"] = `AWS.SimpleQueueService.${errorType};Sender`;
        res.writeHead(status, headers);
        res.end(JSON.stringify(body));
    };
    const byHandle = (handle: string) => messages.find((m) => m.receiptHandle === handle);

    const handlers: Record<string, (body: Record<string, any>) => unknown> = {
        // The client checks MD5OfMessageBody on every SendMessage reply; attributes keep their DataType.
        SendMessage: (body) => {
            const m: StoredMessage = {
                MessageId: randomUUID(),
                Body: String(body.MessageBody ?? ""),
                MessageAttributes: body.MessageAttributes ?? {},
                receiveCount: 0,
                invisibleUntil: Date.now() + (body.DelaySeconds ?? 0) * 1000,
            };
            messages.push(m);
            return { MessageId: m.MessageId, MD5OfMessageBody: md5(m.Body) };
        },
        ReceiveMessage: (body) => {
            const now = Date.now();
            const max = Math.min(10, body.MaxNumberOfMessages ?? 1);
            const visibility = (body.VisibilityTimeout ?? 30) * 1000;
            const wantsAll = (body.MessageAttributeNames ?? []).includes("All");
            const out = messages
                .filter((m) => m.invisibleUntil <= now)
                .slice(0, max)
                .map((m) => {
                    m.receiveCount++;
                    m.invisibleUntil = now + visibility;
                    m.receiptHandle = randomUUID();
                    return {
                        MessageId: m.MessageId,
                        ReceiptHandle: m.receiptHandle,
                        MD5OfBody: md5(m.Body),
                        Body: m.Body,
                        Attributes: { ApproximateReceiveCount: String(m.receiveCount) },
                        ...(wantsAll && Object.keys(m.MessageAttributes).length > 0 ? { MessageAttributes: m.MessageAttributes } : {}),
                    };
                });
            return out.length > 0 ? { Messages: out } : {};
        },
        DeleteMessageBatch: (body) => {
            const Successful: unknown[] = [];
            const Failed: unknown[] = [];
            for (const entry of body.Entries ?? []) {
                const m = byHandle(entry.ReceiptHandle);
                if (m) {
                    messages.splice(messages.indexOf(m), 1);
                    Successful.push({ Id: entry.Id });
                } else {
                    Failed.push({ Id: entry.Id, SenderFault: true, Code: "ReceiptHandleIsInvalid", Message: "The receipt handle is not valid" });
                }
            }
            return { Successful, Failed };
        },
        ChangeMessageVisibilityBatch: (body) => {
            const Successful: unknown[] = [];
            const Failed: unknown[] = [];
            for (const entry of body.Entries ?? []) {
                const m = byHandle(entry.ReceiptHandle);
                if (m) {
                    m.invisibleUntil = Date.now() + (entry.VisibilityTimeout ?? 0) * 1000;
                    Successful.push({ Id: entry.Id });
                } else {
                    Failed.push({ Id: entry.Id, SenderFault: true, Code: "ReceiptHandleIsInvalid", Message: "The receipt handle is not valid" });
                }
            }
            return { Successful, Failed };
        },
        GetQueueAttributes: () => {
            const now = Date.now();
            const visible = messages.filter((m) => m.invisibleUntil <= now).length;
            return { Attributes: { ApproximateNumberOfMessages: String(visible), ApproximateNumberOfMessagesNotVisible: String(messages.length - visible) } };
        },
    };

    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            const target = String(req.headers["x-amz-target"] ?? "");
            const operation = target.startsWith("AmazonSQS.") ? target.slice("AmazonSQS.".length) : "";
            const handler = handlers[operation];
            if (req.method !== "POST" || !handler || !String(req.headers["content-type"]).startsWith("application/x-amz-json-1.0")) {
                reply(res, 400, { __type: "com.amazonaws.sqs#UnsupportedOperation", message: `unsupported ${req.method} ${target} ${req.headers["content-type"]}` }, "UnsupportedOperation");
                return;
            }
            const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, any>;
            operations.push(operation);
            if (fault?.(operation, body) === "drop") {
                req.socket.destroy();
                return;
            }
            if (body.QueueUrl !== queueUrl) {
                reply(res, 400, { __type: "com.amazonaws.sqs#QueueDoesNotExist", message: `The specified queue does not exist: ${body.QueueUrl}` }, "NonExistentQueue");
                return;
            }
            reply(res, 200, handler(body));
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    queueUrl = `${endpoint}/123456789012/${queueName}`;

    return {
        endpoint,
        queueUrl,
        messages,
        operations,
        send: (body, attributes = {}) => {
            const m: StoredMessage = {
                MessageId: randomUUID(),
                Body: body,
                MessageAttributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { DataType: "String", StringValue: v }])),
                receiveCount: 0,
                invisibleUntil: 0,
            };
            messages.push(m);
            return m;
        },
        expireVisibility: () => messages.forEach((m) => (m.invisibleUntil = 0)),
        visibleCount: () => messages.filter((m) => m.invisibleUntil <= Date.now()).length,
        setFault: (f) => (fault = f),
        client: () => new SQSClient({ endpoint, region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" }, maxAttempts: 1 }),
        stop: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}
