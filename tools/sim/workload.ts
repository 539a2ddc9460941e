/**
 * The workload of one run: the tables in DynamoDB Local, the events and their commits (all drawn
 * from the seed), and the producer that commits them through the REAL outbox writer, behind a proxy
 * that injects the producer-side faults.
 */
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import type { DomainEvent } from "../../runtime/event";
import { createOutboxWriter, OutboxCommitError } from "../../runtime/outbox-writer";
import type { SimClock } from "./clock";
import { DynamoDbFaultProxy, ProxyDecision, startDynamoDbFaultProxy } from "./dynamodb-fault-proxy";
import type { FaultProfile } from "./faults";
import { draw, seededUuid } from "./random";

export type PoisonKind = "unsupported-schema" | "refused-by-handler";
export const EXPECTED_POISON_REASON: Record<PoisonKind, string> = {
  "unsupported-schema": "UnsupportedSchemaVersion",
  "refused-by-handler": "MaxDeliveryCountExceeded",
};

export interface Tables {
  outbox: string;
  orders: string;
  streamArn: string;
}

export async function createTables(dynamodb: DynamoDBClient, runId: string): Promise<Tables> {
  const outbox = `sim-outbox-${runId}`;
  const orders = `sim-orders-${runId}`;
  const created = await dynamodb.send(
    new CreateTableCommand({
      TableName: outbox,
      AttributeDefinitions: [{ AttributeName: "event_id", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "event_id", KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
      StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_IMAGE" },
    }),
  );
  await dynamodb.send(
    new CreateTableCommand({
      TableName: orders,
      AttributeDefinitions: [{ AttributeName: "order_id", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "order_id", KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  return { outbox, orders, streamArn: created.TableDescription!.LatestStreamArn! };
}

export interface Workload {
  commits: { orderId: string; eventIndexes: number[] }[];
  eventIds: string[];
  /** A short, run-independent name for an event (its index), the key faults are drawn by. */
  keyOf: (id: string) => string;
  poisonOf: Map<string, PoisonKind>;
}

export function planWorkload(seed: number, events: number, poisonRate: number, runId: string): Workload {
  const commits: Workload["commits"] = [];
  for (let i = 0; i < events; ) {
    const size = Math.min(events - i, 1 + Math.floor(draw(seed, `commit-size:${i}`) * 8));
    commits.push({ orderId: seededUuid(seed, `order:${i}:${runId}`), eventIndexes: Array.from({ length: size }, (_, k) => i + k) });
    i += size;
  }
  // Event ids differ per run (DynamoDB scopes ClientRequestTokens to the account, not the table, so
  // a second run of the same seed must not reuse them); faults are drawn by event index instead.
  const eventIds = Array.from({ length: events }, (_, i) => seededUuid(seed, `event:${i}:${runId}`));
  const indexOf = new Map(eventIds.map((id, i) => [id, i]));
  const keyOf = (id: string) => `e${indexOf.get(id) ?? id}`;
  const poisonOf = new Map<string, PoisonKind>();
  eventIds.forEach((id, i) => {
    if (draw(seed, `poison:${i}`) < poisonRate) poisonOf.set(id, draw(seed, `poison-kind:${i}`) < 0.5 ? "unsupported-schema" : "refused-by-handler");
  });
  return { commits, eventIds, keyOf, poisonOf };
}

export interface ProducerOptions {
  seed: number;
  faults: FaultProfile;
  clock: SimClock;
  dynamodb: DynamoDBClient;
  /** DynamoDB Local's endpoint: the producer then writes through a proxy that injects its faults. */
  dynamodbEndpoint?: string;
  producers: number;
  tables: Tables;
  workload: Workload;
  inject: (name: string) => void;
  /** Called once every commit has been made or refused. */
  onDone: () => void;
}

export interface Producer {
  /** Settles when every commit has been made or refused; rejects on an unexpected error. */
  done: Promise<void>;
  /** Commit time (simulated) of every event the producer saw committed. */
  committedAt: Map<string, number>;
  /** Events of commits the business condition refused: nothing of them may appear. */
  refusedEvents: Set<string>;
  /** Stops the proxy and its client. */
  close(): Promise<void>;
}

export async function startProducer(p: ProducerOptions): Promise<Producer> {
  const { seed, faults: f, clock, tables, inject } = p;
  const { commits, eventIds, keyOf, poisonOf } = p.workload;
  const commitOfOrder = new Map(commits.map((c, i) => [c.orderId, i]));
  const proxyAttempts = new Map<string, number>();
  const decide = (target: string, body: string): ProxyDecision => {
    if (!target.endsWith(".TransactWriteItems")) return "forward";
    const items = (JSON.parse(body) as { TransactItems?: { Put?: { Item?: Record<string, { S?: string }> } }[] }).TransactItems ?? [];
    const eventId = items.map((t) => t.Put?.Item?.event_id?.S).find((id) => id !== undefined);
    const orderId = items.map((t) => t.Put?.Item?.order_id?.S).find((id) => id !== undefined);
    const key = eventId !== undefined ? keyOf(eventId) : `order${commitOfOrder.get(orderId ?? "") ?? "?"}`;
    const n = (proxyAttempts.get(key) ?? 0) + 1;
    proxyAttempts.set(key, n);
    let r = draw(seed, `ddb:${key}:${n}`);
    if ((r -= f.producerCancelled) < 0) {
      inject("producer transaction cancelled (TransactionConflict)");
      const reasons = items.map((_, i) => (i === 0 ? { Code: "TransactionConflict", Message: "Transaction is ongoing for the item" } : { Code: "None" }));
      return { status: 400, type: "com.amazonaws.dynamodb.v20120810#TransactionCanceledException", message: "Transaction cancelled (simulated)", cancellationReasons: reasons };
    }
    if ((r -= f.producerThrottled) < 0) {
      inject("producer throttled (ThrottlingException)");
      return { status: 400, type: "com.amazon.coral.availability#ThrottlingException", message: "Rate of requests exceeds the allowed throughput (simulated)" };
    }
    if ((r -= f.producerTimeoutAfterCommit) < 0) {
      inject("producer timed out after commit (answer dropped)");
      return "drop-response";
    }
    return "forward";
  };
  let proxy: DynamoDbFaultProxy | undefined;
  let producerDynamodb: DynamoDBClient = p.dynamodb;
  if (p.dynamodbEndpoint) {
    proxy = await startDynamoDbFaultProxy(p.dynamodbEndpoint, decide);
    // One attempt per call: the SDK's own retries would hide the faults from the producer's retry loop.
    producerDynamodb = new DynamoDBClient({ endpoint: proxy.endpoint, region: await p.dynamodb.config.region(), credentials: await p.dynamodb.config.credentials(), maxAttempts: 1 });
  }
  const writer = createOutboxWriter({ dynamodb: producerDynamodb, outboxTableName: tables.outbox, validation: { supportedSchemaMajors: ["1", "2"] } });
  // Some orders were changed by someone else first: the commit's condition fails, nothing of it may appear.
  const conflicted = new Set(commits.filter((c) => draw(seed, `conflict:${c.eventIndexes[0]}`) < f.businessConflict).map((c) => c.orderId));
  for (const orderId of conflicted) {
    await p.dynamodb.send(new PutItemCommand({ TableName: tables.orders, Item: { order_id: { S: orderId }, status: { S: "LOCKED" } } }));
  }
  const refusedEvents = new Set<string>();
  const committedAt = new Map<string, number>();
  const produceOne = async (commit: (typeof commits)[number]): Promise<void> => {
    const events: DomainEvent[] = commit.eventIndexes.map((i) => {
      const id = eventIds[i];
      const poison = poisonOf.get(id);
      return {
        metadata: {
          event_id: id,
          type: "OrderPlaced",
          source: "com.example.orders",
          timestamp: new Date(clock.now()).toISOString(),
          schema_version: poison === "unsupported-schema" ? "2.0" : "1.0",
        },
        data: { orderId: commit.orderId, line: i, amountCents: 100 + (i % 900), ...(poison === "refused-by-handler" ? { refuse: true } : {}) },
      };
    });
    const state = [
      {
        Put: {
          TableName: tables.orders,
          Item: { order_id: { S: commit.orderId }, status: { S: "PLACED" } },
          // Refused only when someone else locked the order; a retry of our own landed commit passes.
          ConditionExpression: "NOT (#s = :locked)",
          ExpressionAttributeNames: { "#s": "status" },
          ExpressionAttributeValues: { ":locked": { S: "LOCKED" } },
        },
      },
    ];
    for (let attempt = 1; ; attempt++) {
      try {
        await clock.busy(writer.commit(state, events));
        if (attempt === 1 && draw(seed, `producer-crash:${commit.eventIndexes[0]}`) < f.producerCrashAfterCommit) {
          // The commit landed, but the producer died before it heard so: its restart retries the same commit.
          inject("producer crash after commit");
          await clock.sleep(1_000);
          continue;
        }
      } catch (error) {
        if (error instanceof OutboxCommitError && error.code === "EventAlreadyWritten") {
          // The retry of a commit that landed earlier: the events exist once.
        } else if (error instanceof OutboxCommitError && error.code === "BusinessConditionFailed") {
          inject("producer commit refused (business condition failed)");
          for (const e of events) refusedEvents.add(e.metadata.event_id);
          return;
        } else if (error instanceof OutboxCommitError && error.retryable && attempt < 10) {
          await clock.sleep(100 * attempt);
          continue;
        } else {
          throw error;
        }
      }
      break;
    }
    for (const e of events) if (!committedAt.has(e.metadata.event_id)) committedAt.set(e.metadata.event_id, clock.now());
  };
  const done = (async () => {
    let next = 0;
    await Promise.all(
      Array.from({ length: p.producers }, async () => {
        while (next < commits.length) await produceOne(commits[next++]);
      }),
    );
    p.onDone();
  })();
  return {
    done,
    committedAt,
    refusedEvents,
    close: async () => {
      if (producerDynamodb !== p.dynamodb) producerDynamodb.destroy();
      await proxy?.stop();
    },
  };
}
