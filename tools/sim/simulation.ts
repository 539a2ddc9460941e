/**
 * One seeded fault-injection run of the whole event path:
 *
 *   producer ─▶ outbox writer (REAL, DynamoDB Local) ─▶ stream (REAL, DynamoDB Local)
 *     ─▶ event source mapping (MODEL) ─▶ relay (REAL runtime/relay.ts)
 *     ─▶ EventBridge bus, rule, target retry policy, DLQ (MODEL) ─▶ API destination (MODEL)
 *     ─▶ Service Bus queue, peek-lock, DLQ (MODEL) ─▶ consumer (REAL runtime/consumer.ts, REAL redis-server)
 *     ─▶ business handler, effect ledger (REAL redis-server)
 *
 * and the count at the end: every produced event must have its effect applied exactly once, or be
 * in a dead-letter queue with a reason; every poison event must be in a dead-letter queue.
 */
import { AsyncLocalStorage } from "async_hooks";
import { randomUUID } from "crypto";
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import type { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import type Redis from "ioredis";
import { BusinessHandler, createConsumer, ConsumerMessage, Settlement } from "../../runtime/consumer";
import type { DomainEvent } from "../../runtime/event";
import { createRedisIdempotencyStore, DEFAULT_DEDUPE_WINDOW_MS } from "../../runtime/idempotency-store";
import { silentLogger } from "../../runtime/logger";
import { createNaiveSetNxConsumer } from "../../runtime/naive-setnx-consumer";
import { createOutboxWriter, OutboxCommitError } from "../../runtime/outbox-writer";
import { compareSequenceNumbers, createRelayHandler, DynamoDBStreamEvent, PutEventsPort } from "../../runtime/relay";
import { ApiDestinationModel } from "./api-destination-model";
import { DynamoDbFaultProxy, ProxyDecision, startDynamoDbFaultProxy } from "./dynamodb-fault-proxy";
import { checkStateAndOutbox } from "./state-oracle";
import { SimClock } from "./clock";
import { EventBridgeModel } from "./eventbridge-model";
import type { FaultProfile } from "./faults";
import { EffectLedger, HandlerContract } from "./ledger";
import { DeadLetterPlace, DeliveryObservation, explainDeadLetter } from "./dead-letter-oracle";
import { HandlerRun, judgeLeases, Restart } from "./lease-oracle";
import { observeStore, snapshotKeys } from "./store-observer";
import { draw, seededUuid } from "./random";
import { MessageLockLostError, ReceivedMessage, ServiceBusQueueModel } from "./service-bus-model";
import { InvocationResult, StreamEventSourceMapping } from "./stream-event-source";

export type ConsumerDesign = "claim-complete" | "setnx-first";

/** The idempotency Redis, with the ability (when we started it) to stop and restart it. */
export interface IdempotencyRedis {
  client: Redis;
  /** Stops the server (its data is lost) and starts it again; undefined when Redis was given by URL. */
  restart?: () => Promise<void>;
}

export interface SimulationOptions {
  seed: number;
  events: number;
  faults: FaultProfile;
  consumer: ConsumerDesign;
  handlerContract: HandlerContract;
  dynamodb: DynamoDBClient;
  /** DynamoDB Local's endpoint: the producer then writes through a proxy that injects its faults. */
  dynamodbEndpoint?: string;
  streams: DynamoDBStreamsClient;
  idempotencyRedis: IdempotencyRedis;
  businessRedis: Redis;
  /** Concurrent consumer deliveries (Functions instances × concurrency). Default 16. */
  workers?: number;
  /** Concurrent producer commits. Default 6. */
  producers?: number;
  /** Service Bus LockDuration (and lease) in ms; simulated time runs at real speed while it matters. Default 1000 (a loaded 2-vCPU machine needs the room). */
  lockDurationMs?: number;
  maxDeliveryCount?: number;
  /** The idempotency store's dedupe window. Default: the store's (7 days). */
  dedupeWindowMs?: number;
  retryPolicy?: { maximumEventAgeMs: number; maximumRetryAttempts: number };
  /** Give up (and fail the run) after this much wall time. Default 10 minutes. */
  wallLimitMs?: number;
  onProgress?: (progress: Progress) => void;
}

export interface Progress {
  produced: number;
  published: number;
  delivered: number;
  effects: number;
  expected: number;
  simulatedMs: number;
}

type PoisonKind = "unsupported-schema" | "refused-by-handler";
const EXPECTED_POISON_REASON: Record<PoisonKind, string> = {
  "unsupported-schema": "UnsupportedSchemaVersion",
  "refused-by-handler": "MaxDeliveryCountExceeded",
};

interface DeliveryPlan {
  fault: ConsumerFault;
  crash: () => void;
  honoursAbort: boolean;
  latencyMs: number;
}

type ConsumerFault = "none" | "handler-throws" | "crash-before-effect" | "crash-after-effect" | "stall-past-lease" | "settle-fails";

export interface SimulationReport {
  seed: number;
  faults: string;
  consumer: ConsumerDesign;
  handlerContract: HandlerContract;
  passed: boolean;
  finished: boolean;
  failures: string[];
  counts: {
    produced: number;
    poison: number;
    published: number;
    publications: number;
    delivered: number;
    queueMessages: number;
    effectsApplied: number;
    lost: number;
    duplicateEffects: number;
    handlerRanMoreThanOnce: number;
    /** Events whose handler reached its effect more than once: what an unconditional effect would have duplicated. */
    effectReachedMoreThanOnce: number;
    /** Healthy events in a dead-letter queue, each explained by an injected fault (they need a redrive). */
    deadLetteredHealthy: number;
    /** Dead letters of healthy events that no injected fault explains: a defect if ever non-zero. */
    unexplainedDeadLetters: number;
    deadLetteredPoison: number;
    poisonNotDeadLettered: number;
    redelivered: number;
  };
  deadLettered: Record<string, number>;
  /** Events whose handler reached its effect more than once, by the window that explains it (an event can have several). */
  effectReachedTwiceBy: Record<string, number>;
  /** Such events that no documented window explains: a defect if ever non-empty. */
  unexplainedRepeats: string[];
  /** What the consumer did with each delivery (its outcome kinds). */
  consumerOutcomes: Record<string, number>;
  injected: Record<string, number>;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  simulatedMs: number;
  wallMs: number;
  eventsPerSecond: number;
  lostEventIds: string[];
  duplicateEventIds: string[];
  unaccountedPoison: string[];
  unexplainedDeadLetterIds: string[];
  /** Claims Redis granted while another lease was live (mutual exclusion broken). */
  overlappingLeases: string[];
  /** Idempotency keys that are wrong at the end: no expiry, a completed record kept shorter than the window, missing. */
  recordAudit: string[];
  /** Records the Redis restart lost (snapshot before vs after). */
  recordsLostInRestart: number;
}

const sleepReal = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const never = () => new Promise<never>(() => {});

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function eventIdOfBody(body: string): string {
  try {
    const v = JSON.parse(body) as { detail?: { metadata?: { event_id?: string } } };
    return v.detail?.metadata?.event_id ?? "?";
  } catch {
    return "?";
  }
}

export async function runSimulation(o: SimulationOptions): Promise<SimulationReport> {
  const wallStart = Date.now();
  const seed = o.seed;
  const f = o.faults;
  const clock = new SimClock();
  const runId = `${seed}-${randomUUID().slice(0, 8)}`;
  const injected: Record<string, number> = {};
  const inject = (name: string) => (injected[name] = (injected[name] ?? 0) + 1);
  const lockMs = o.lockDurationMs ?? 1000;
  const workers = o.workers ?? 16;

  // ── tables (real DynamoDB Local) ──────────────────────────────────────────────────────────
  const outboxTable = `sim-outbox-${runId}`;
  const ordersTable = `sim-orders-${runId}`;
  const created = await o.dynamodb.send(
    new CreateTableCommand({
      TableName: outboxTable,
      AttributeDefinitions: [{ AttributeName: "event_id", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "event_id", KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
      StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_IMAGE" },
    }),
  );
  await o.dynamodb.send(
    new CreateTableCommand({
      TableName: ordersTable,
      AttributeDefinitions: [{ AttributeName: "order_id", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "order_id", KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  const streamArn = created.TableDescription!.LatestStreamArn!;

  // ── the events, their poison and their commits (all from the seed) ───────────────────────
  const poisonOf = new Map<string, PoisonKind>();
  const commits: { orderId: string; eventIndexes: number[] }[] = [];
  for (let i = 0; i < o.events; ) {
    const size = Math.min(o.events - i, 1 + Math.floor(draw(seed, `commit-size:${i}`) * 8));
    commits.push({ orderId: seededUuid(seed, `order:${i}:${runId}`), eventIndexes: Array.from({ length: size }, (_, k) => i + k) });
    i += size;
  }
  // Event ids differ per run (DynamoDB scopes ClientRequestTokens to the account, not the table, so
  // a second run of the same seed must not reuse them); faults are drawn by event index instead.
  const eventIds = Array.from({ length: o.events }, (_, i) => seededUuid(seed, `event:${i}:${runId}`));
  const indexOf = new Map(eventIds.map((id, i) => [id, i]));
  const keyOf = (id: string) => `e${indexOf.get(id) ?? id}`;
  eventIds.forEach((id, i) => {
    if (draw(seed, `poison:${i}`) < f.poison) poisonOf.set(id, draw(seed, `poison-kind:${i}`) < 0.5 ? "unsupported-schema" : "refused-by-handler");
  });

  // ── models ────────────────────────────────────────────────────────────────────────────────
  const published = new Set<string>();
  const delivered = new Set<string>();
  const maxDeliveryCount = o.maxDeliveryCount ?? 10;
  const retryPolicy = o.retryPolicy ?? { maximumEventAgeMs: 86_400_000, maximumRetryAttempts: 185 };
  const queue = new ServiceBusQueueModel(clock, lockMs, maxDeliveryCount);
  const apiDestination = new ApiDestinationModel(clock, seed, f, queue, (id) => delivered.add(id), keyOf);
  const bus = new EventBridgeModel(
    clock,
    seed,
    f,
    {
      eventBusName: "mesh-sim-bus",
      ruleSources: ["com.example.orders"],
      retryPolicy,
      region: "eu-west-1",
      account: "123456789012",
    },
    apiDestination,
    (id) => published.add(id),
    keyOf,
  );

  // ── producer: real outbox writer, real DynamoDB Local (through the fault proxy) ─────────────
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
  let producerDynamodb: DynamoDBClient = o.dynamodb;
  if (o.dynamodbEndpoint) {
    proxy = await startDynamoDbFaultProxy(o.dynamodbEndpoint, decide);
    // One attempt per call: the SDK's own retries would hide the faults from the producer's retry loop.
    producerDynamodb = new DynamoDBClient({ endpoint: proxy.endpoint, region: await o.dynamodb.config.region(), credentials: await o.dynamodb.config.credentials(), maxAttempts: 1 });
  }
  const writer = createOutboxWriter({ dynamodb: producerDynamodb, outboxTableName: outboxTable, validation: { supportedSchemaMajors: ["1", "2"] } });
  // Some orders were changed by someone else first: the commit's condition fails, nothing of it may appear.
  const conflicted = new Set(commits.filter((c) => draw(seed, `conflict:${c.eventIndexes[0]}`) < f.businessConflict).map((c) => c.orderId));
  for (const orderId of conflicted) {
    await o.dynamodb.send(new PutItemCommand({ TableName: ordersTable, Item: { order_id: { S: orderId }, status: { S: "LOCKED" } } }));
  }
  const refusedEvents = new Set<string>();
  const committedAt = new Map<string, number>();
  let producerDone = false;
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
          TableName: ordersTable,
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
  const producer = (async () => {
    let next = 0;
    await Promise.all(
      Array.from({ length: o.producers ?? 6 }, async () => {
        while (next < commits.length) await produceOne(commits[next++]);
      }),
    );
    producerDone = true;
    apiDestination.beginOutage(clock.now());
  })();

  // ── relay: real handler, invoked by the event source mapping model ────────────────────────
  const invocationsByEvent = new Map<string, number>();
  // Observed by the harness around the relay, not taken from the mapping model: which stream record
  // holds which event, and how many invocations failed each record.
  const eventOfSequence = new Map<string, string>();
  const relayFailures = new Map<string, number>();
  const countRelayFailure = (id: string) => relayFailures.set(id, (relayFailures.get(id) ?? 0) + 1);
  const invokeRelay = (event: DynamoDBStreamEvent): Promise<InvocationResult> =>
    clock.busy(async () => {
      for (const r of event.Records) {
        const seq = r.dynamodb?.SequenceNumber;
        const id = r.dynamodb?.Keys?.event_id?.S;
        if (seq && id) eventOfSequence.set(seq, id);
      }
      const result = await invokeRelayOnce(event);
      if (result.kind === "function-error") for (const r of event.Records) countRelayFailure(r.dynamodb?.Keys?.event_id?.S ?? "?");
      else for (const f of result.response.batchItemFailures) countRelayFailure(eventOfSequence.get(f.itemIdentifier) ?? "?");
      return result;
    });
  const invokeRelayOnce = (event: DynamoDBStreamEvent): Promise<InvocationResult> =>
    (async () => {
      const firstId = event.Records[0]?.dynamodb?.Keys?.event_id?.S ?? "?";
      const n = (invocationsByEvent.get(firstId) ?? 0) + 1;
      invocationsByEvent.set(firstId, n);
      let crash!: () => void;
      const crashed = new Promise<InvocationResult>((resolve) => (crash = () => resolve({ kind: "function-error", reason: "relay crashed after PutEvents" })));
      let dead = false;
      let request = 0;
      const port: PutEventsPort = {
        send: async (command) => {
          if (dead) throw new Error("invocation already ended");
          const output = await bus.putEvents(command);
          request++;
          if (draw(seed, `relay-crash:${keyOf(firstId)}:${n}:${request}`) < f.relayCrashAfterPutEvents) {
            // PutEvents accepted the entries; the invocation dies before it can return.
            inject("relay crash after PutEvents");
            dead = true;
            crash();
            return never();
          }
          return output;
        },
      };
      const relay = createRelayHandler({
        eventBridge: port,
        eventBusName: "mesh-sim-bus",
        logger: silentLogger,
        entryRetryBaseDelayMs: 5,
        // As runtime/relay-lambda.ts builds it: a transport, forwarding every well-formed major.
        validation: { supportedSchemaMajors: "any" },
      });
      return Promise.race([
        relay(event).then(
          (response): InvocationResult => ({ kind: "response", response }),
          (error): InvocationResult => ({ kind: "function-error", reason: (error as Error).message }),
        ),
        crashed,
      ]);
    })();
  const relayMaximumRetryAttempts = 10;
  const mapping = new StreamEventSourceMapping({
    clock,
    streams: o.streams,
    streamArn,
    invoke: invokeRelay,
    sourceFinished: () => producerDone,
    batchSize: 100,
    // The stack's relayBatchWindowSeconds default (Pulumi.yaml): 1 s.
    pollIntervalMs: 1_000,
    maximumRetryAttempts: relayMaximumRetryAttempts,
    bisectBatchOnFunctionError: true,
  });

  // ── consumer: real consumer (or the SET NX baseline), real Redis, business ledger ─────────
  const ledger = new EffectLedger(o.businessRedis, `sim:${runId}:biz:`, o.handlerContract);
  const handlerRuns = new Map<string, number>();
  // The delivery's fault plan reaches the handler through the async context: the SET NX baseline
  // does not pass the message id or delivery count to the handler.
  const plans = new AsyncLocalStorage<DeliveryPlan>();
  const runsByEvent = new Map<string, HandlerRun[]>();
  let effectsSeen = 0;
  const handler: BusinessHandler = async (event, ctx) => {
    const eventId = event.metadata.event_id;
    handlerRuns.set(eventId, (handlerRuns.get(eventId) ?? 0) + 1);
    const plan = plans.getStore();
    if ((event.data as { refuse?: boolean }).refuse) throw new Error(`business rule refuses order line of event ${eventId}`);
    if (plan) await sleepReal(plan.latencyMs);
    switch (plan?.fault) {
      case "handler-throws":
        throw new Error("injected: downstream dependency refused");
      case "crash-before-effect":
        plan.crash();
        return never();
      case "stall-past-lease": {
        // A dependency hangs past the lease; the lock runs out and the message goes to another worker.
        const signal = ctx.signal;
        await sleepReal(Math.min(lockMs, Math.max(0, ctx.deadline.getTime() - clock.now())) + lockMs);
        if (plan.honoursAbort && signal.aborted) throw signal.reason;
        break;
      }
      default:
        break;
    }
    const run: HandlerRun = { delivery: plan, fault: plan?.fault ?? "none", reachedAt: clock.now() };
    runsByEvent.set(eventId, [...(runsByEvent.get(eventId) ?? []), run]);
    if (await ledger.apply(eventId, clock.now())) effectsSeen++;
    run.endedAt = clock.now();
    appliedEvents.add(eventId);
    if (plan?.fault === "crash-after-effect") {
      plan.crash();
      return never();
    }
  };

  const idemPrefix = `sim:${runId}:idem:`;
  const dedupeWindowMs = o.dedupeWindowMs ?? DEFAULT_DEDUPE_WINDOW_MS;
  const store = createRedisIdempotencyStore(o.idempotencyRedis.client, { keyPrefix: idemPrefix, dedupeWindowMs });
  const observer = observeStore(o.idempotencyRedis.client, idemPrefix, () => clock.now(), () => plans.getStore());
  const restarts: Restart[] = [];
  const handle: (m: ConsumerMessage, s: Settlement) => Promise<unknown> =
    o.consumer === "claim-complete"
      ? ((c) => (m, s) => c.handle(m, s))(createConsumer({ store, handler, logger: silentLogger, messageLockMs: lockMs, now: () => clock.now() }))
      : ((c) => (m, s) => c.handle(m, s))(createNaiveSetNxConsumer({ redis: o.idempotencyRedis.client, handler, keyPrefix: `sim:${runId}:naive:` }));

  const deliveriesByEvent = new Map<string, number>();
  const observedDeliveries = new Map<string, DeliveryObservation[]>();
  let redisDown = false;
  let redisRestarts = 0;
  const outcomes: Record<string, number> = {};
  const appliedEvents = new Set<string>();
  const inFlightEvents = new Map<string, number>();
  let consumerInFlight = 0;
  let stopped = false;
  let redisRestarted = false;
  let lostInRestart = 0;
  const consumerFault = (eventId: string, n: number): ConsumerFault => {
    let r = draw(seed, `consumer:${keyOf(eventId)}:${n}`);
    const table: [ConsumerFault, number][] = [
      ["handler-throws", f.handlerThrows],
      ["crash-before-effect", f.crashBeforeEffect],
      ["crash-after-effect", f.crashAfterEffect],
      ["stall-past-lease", f.stallPastLease],
      ["settle-fails", f.settleFails],
    ];
    for (const [fault, p] of table) {
      if (r < p) return fault;
      r -= p;
    }
    return "none";
  };
  const deliverOne = async (received: ReceivedMessage): Promise<void> => {
    const m = received.message;
    const eventId = eventIdOfBody(m.body);
    const n = (deliveriesByEvent.get(eventId) ?? 0) + 1;
    deliveriesByEvent.set(eventId, n);
    const fault = consumerFault(eventId, n);
    if (fault !== "none") inject(`consumer ${fault}`);
    inFlightEvents.set(eventId, (inFlightEvents.get(eventId) ?? 0) + 1);
    let contended = (inFlightEvents.get(eventId) ?? 0) > 1;
    const restartsBefore = redisRestarts;
    const downBefore = redisDown;
    let outcomeKind = "crashed";
    let crash!: () => void;
    const crashed = new Promise<void>((resolve) => (crash = resolve));
    const slow = draw(seed, `slow:${keyOf(eventId)}:${n}`) < f.slowHandler;
    const latencyMs = slow ? lockMs / 2 : Math.floor(draw(seed, `latency:${keyOf(eventId)}:${n}`) * f.handlerLatencyMs);
    if (slow) inject("consumer slow handler (half the lock)");
    const plan: DeliveryPlan = { fault, crash, honoursAbort: draw(seed, `honours-abort:${keyOf(eventId)}:${n}`) < 0.5, latencyMs };
    const settle: Settlement = {
      complete: async () => {
        if (fault === "settle-fails") throw new MessageLockLostError("MessageLockLost (injected)");
        queue.complete(received);
      },
      abandon: async () => queue.abandon(received),
      deadLetter: async (reason, description) => queue.deadLetter(received, reason, description),
    };
    await Promise.race([
      // A host that sees handle() throw leaves the message to its lock, as the Functions host does.
      plans
        .run(plan, () =>
          handle({ body: m.body, messageId: m.messageId, deliveryCount: m.deliveryCount, lockedUntilUtc: received.lockedUntilUtc }, settle),
        )
        .then(
          (outcome) => {
            const o = outcome as { kind: string; settleError?: unknown; leaseExpiredBeforeComplete?: boolean };
            const kind = o.settleError ? `${o.kind} (settle failed)` : o.kind;
            outcomes[kind] = (outcomes[kind] ?? 0) + 1;
            outcomeKind = o.kind;
          },
          () => {
            outcomes["threw"] = (outcomes["threw"] ?? 0) + 1;
            outcomeKind = "threw";
          },
        ),
      crashed,
    ]);
    contended ||= (inFlightEvents.get(eventId) ?? 0) > 1;
    const seen = observedDeliveries.get(m.messageId) ?? [];
    seen.push({ fault, outcome: outcomeKind, contended, duringRedisRestart: downBefore || redisDown || redisRestarts !== restartsBefore });
    observedDeliveries.set(m.messageId, seen);
    const left = (inFlightEvents.get(eventId) ?? 1) - 1;
    if (left > 0) inFlightEvents.set(eventId, left);
    else inFlightEvents.delete(eventId);
  };
  const worker = async (): Promise<void> => {
    while (!stopped) {
      const received = await queue.receive();
      if (stopped) return;
      consumerInFlight++;
      try {
        await clock.busy(() => deliverOne(received));
      } finally {
        consumerInFlight--;
      }
      if (!redisRestarted && f.redisRestartAt !== undefined && o.idempotencyRedis.restart && effectsSeen >= f.redisRestartAt * o.events) {
        redisRestarted = true;
        inject("idempotency redis stopped and restarted");
        // Measured: which records the restart really lost (none, with persistence).
        consumerInFlight++;
        const restartAt = clock.now();
        const before = await clock.busy(snapshotKeys(o.idempotencyRedis.client, idemPrefix)).finally(() => consumerInFlight--);
        consumerInFlight++;
        redisDown = true;
        redisRestarts++;
        await clock.busy(o.idempotencyRedis.restart()).finally(() => {
          consumerInFlight--;
          redisDown = false;
        });
        consumerInFlight++;
        const after = await clock.busy(snapshotKeys(o.idempotencyRedis.client, idemPrefix)).finally(() => consumerInFlight--);
        // Keys written between the snapshot and the stop count too: the observer saw those writes.
        const held = new Set([...before.keys(), ...observer.calls.filter((c) => c.repliedAt <= clock.now() && c.reply !== "error").map((c) => c.key)]);
        // A key survived only if it holds after the restart what it held before; one written after the
        // snapshot cannot be told from a write after the restart, so it counts as lost (the lenient side).
        const lost = new Set([...held].filter((k) => !before.has(k) || after.get(k)?.value !== before.get(k)!.value));
        restarts.push({ at: restartAt, until: clock.now(), lost });
        lostInRestart += lost.size;
      }
    }
  };

  // ── run ───────────────────────────────────────────────────────────────────────────────────
  clock.start();
  let failure: unknown;
  producer.catch((error) => (failure = error));
  const mappingRun = mapping.run().catch((error) => (failure = error));
  for (let i = 0; i < workers; i++) void worker();
  const wallLimit = o.wallLimitMs ?? 600_000;
  let finished = false;
  let mappingDone = false;
  void mappingRun.then(() => (mappingDone = true));
  for (;;) {
    await sleepReal(25);
    o.onProgress?.({
      produced: committedAt.size,
      published: published.size,
      delivered: delivered.size,
      effects: effectsSeen,
      expected: o.events,
      simulatedMs: clock.elapsed(),
    });
    if (failure) break;
    if (producerDone && mappingDone && bus.deliveriesInFlight === 0 && queue.active === 0 && consumerInFlight === 0) {
      finished = true;
      break;
    }
    if (Date.now() - wallStart > wallLimit) break;
  }
  stopped = true;
  queue.close();
  clock.stop();
  if (failure) {
    await proxy?.stop();
    throw failure;
  }

  // ── count ─────────────────────────────────────────────────────────────────────────────────
  if (producerDynamodb !== o.dynamodb) producerDynamodb.destroy();
  await proxy?.stop();
  const stateProblems = await checkStateAndOutbox(
    o.dynamodb,
    { outbox: outboxTable, orders: ordersTable },
    commits.map((c) => ({ orderId: c.orderId, eventIds: c.eventIndexes.map((i) => eventIds[i]) })),
    (id) => committedAt.has(id),
    (id) => refusedEvents.has(id),
  );
  const counts = await ledger.read();
  const phantoms = [...refusedEvents].filter((id) => published.has(id) || (counts.reached.get(id) ?? 0) > 0);
  await ledger.drop();
  const deadLettered: Record<string, number> = {};
  const dlqEvents = new Map<string, string[]>();
  const unexplainedDeadLetters: string[] = [];
  const evidence = {
    retryPolicy,
    maxDeliveryCount,
    relayMaximumRetryAttempts,
    answers: (id: string) => apiDestination.answersByEvent.get(id) ?? [],
    deliveries: (messageId: string) => observedDeliveries.get(messageId) ?? [],
    relayFailures: (id: string) => relayFailures.get(id) ?? 0,
  };
  const addDead = (where: DeadLetterPlace, eventId: string | undefined, reason: string, messageId?: string) => {
    const label = `${where}: ${reason}`;
    deadLettered[label] = (deadLettered[label] ?? 0) + 1;
    if (!eventId) return;
    dlqEvents.set(eventId, [...(dlqEvents.get(eventId) ?? []), reason]);
    if (!poisonOf.has(eventId) && !explainDeadLetter(where, { eventId, reason, messageId }, evidence)) {
      unexplainedDeadLetters.push(`${eventId} (${label})`);
    }
  };
  // The on-failure record carries a shard and a sequence range only (as Lambda's does); the events
  // in it are the ones the harness saw in that range.
  for (const r of mapping.onFailure) {
    for (const [seq, id] of eventOfSequence) {
      if (compareSequenceNumbers(seq, r.startSequenceNumber) >= 0 && compareSequenceNumbers(seq, r.endSequenceNumber) <= 0) addDead("relay on-failure destination", id, r.reason);
    }
  }
  for (const d of bus.deadLetters) addDead("EventBridge DLQ", d.eventId, d.reason);
  for (const m of queue.deadLettered) addDead("Service Bus DLQ", eventIdOfBody(m.body), m.deadLetterReason ?? "?", m.messageId);

  const produced = [...committedAt.keys()];
  const lost: string[] = [];
  const duplicates: string[] = [];
  const unaccountedPoison: string[] = [];
  let deadLetteredHealthy = 0;
  let unsettled = 0;
  let effectsApplied = 0;
  const latencies: number[] = [];
  for (const id of produced) {
    const applied = counts.applied.get(id) ?? 0;
    const poison = poisonOf.get(id);
    if (applied > 0) effectsApplied++;
    if (applied > 1) duplicates.push(id);
    if (poison) {
      // Poison must be refused by the consumer with its reason, or stopped earlier in a dead-letter
      // queue (an API destination 403 can hit a poison event before the consumer sees it).
      const reasons = dlqEvents.get(id) ?? [];
      const refused = reasons.includes(EXPECTED_POISON_REASON[poison]) || (!delivered.has(id) && reasons.length > 0);
      if (applied > 0 || !refused) unaccountedPoison.push(`${id} (${poison}; dead-lettered as: ${reasons.join(", ") || "nowhere"}; applied ${applied})`);
      continue;
    }
    if (applied === 0) {
      if (dlqEvents.has(id)) {
        if (!unexplainedDeadLetters.some((u) => u.startsWith(id))) deadLetteredHealthy++;
      }
      else if (finished) lost.push(id);
      else unsettled++;
    } else {
      latencies.push(counts.firstAppliedAt.get(id)! - committedAt.get(id)!);
    }
  }
  latencies.sort((a, b) => a - b);
  // Measured from Redis: who held each lease when, what the keys hold at the end.
  observer.stop();
  const redisKeyOf = (id: string) => idemPrefix + id;
  const eventOfKey = (key: string) => key.slice(idemPrefix.length);
  const repeatedKeys = [...counts.reached].filter(([, n]) => n > 1).map(([id]) => redisKeyOf(id));
  const leaseKeys = new Set(observer.calls.map((c) => c.key));
  const verdict = judgeLeases(
    (key) => observer.byKey(key),
    new Set([...repeatedKeys, ...leaseKeys]),
    (key) => (counts.reached.get(eventOfKey(key)) ?? 0) > 1 ? runsByEvent.get(eventOfKey(key)) ?? [] : [],
    restarts,
  );
  const reachedTwiceBy = verdict.reachedTwiceBy;
  const unexplained = verdict.unexplainedRepeats.map(eventOfKey);
  if (process.env.SIM_DEBUG) console.error(verdict.unexplainedRepeats, verdict.overlappingLeases, restarts.map((r) => ({ at: r.at, until: r.until, lost: r.lost.size })));
  const finalKeys = o.consumer === "claim-complete" ? await snapshotKeys(o.idempotencyRedis.client, idemPrefix) : new Map<string, { value: string; pttl: number }>();
  const recordAudit: string[] = [];
  // A completed record must be kept for the whole dedupe window: what remains of it now is at least
  // the window less the run's wall time (Redis counts real time).
  const minimumPttl = dedupeWindowMs - (Date.now() - wallStart) - 1_000;
  for (const [key, { value, pttl }] of finalKeys) {
    if (pttl === -1) recordAudit.push(`${eventOfKey(key)}: key without expiry (${value.slice(0, 5)})`);
    else if (value.startsWith("done:") && pttl < minimumPttl) recordAudit.push(`${eventOfKey(key)}: completed record expires in ${pttl} ms, before the ${dedupeWindowMs} ms dedupe window`);
  }
  if (o.consumer === "claim-complete") {
    for (const [id, n] of counts.applied) {
      if (n === 0 || finalKeys.get(redisKeyOf(id))?.value.startsWith("done:")) continue;
      if (restarts.some((r) => r.lost.has(redisKeyOf(id)))) continue;
      recordAudit.push(`${id}: applied, but Redis holds no completed record for it`);
    }
  }
  const failures: string[] = [];
  if (!finished) failures.push(`the run did not finish within ${wallLimit} ms of wall time (${unsettled} events still on their way)`);
  if (lost.length > 0) failures.push(`${lost.length} events lost (produced, never applied, in no dead-letter queue)`);
  if (duplicates.length > 0) failures.push(`${duplicates.length} events had their effect applied more than once`);
  if (unexplained.length > 0) failures.push(`${unexplained.length} events reached their effect twice outside the documented windows`);
  if (verdict.overlappingLeases.length > 0) failures.push(`${verdict.overlappingLeases.length} claims granted while another worker's lease was live (measured from Redis)`);
  if (recordAudit.length > 0) failures.push(`${recordAudit.length} idempotency records wrong at the end (measured from Redis), e.g. ${recordAudit[0]}`);
  if (stateProblems.length > 0) failures.push(`${stateProblems.length} orders whose state and outbox disagree, e.g. ${stateProblems[0]}`);
  if (phantoms.length > 0) failures.push(`${phantoms.length} events of refused commits were published or handled`);
  if (unexplainedDeadLetters.length > 0) failures.push(`${unexplainedDeadLetters.length} dead letters of healthy events that no injected fault explains`);
  if (unaccountedPoison.length > 0) failures.push(`${unaccountedPoison.length} poison events are not in a dead-letter queue with their reason`);
  const wallMs = Date.now() - wallStart;
  return {
    seed,
    faults: f.name,
    consumer: o.consumer,
    handlerContract: o.handlerContract,
    passed: failures.length === 0,
    finished,
    failures,
    counts: {
      produced: produced.length,
      poison: [...poisonOf.keys()].filter((id) => committedAt.has(id)).length,
      published: published.size,
      publications: bus.entriesAccepted,
      delivered: delivered.size,
      queueMessages: queue.messages.length,
      effectsApplied,
      lost: lost.length,
      duplicateEffects: duplicates.length,
      handlerRanMoreThanOnce: [...handlerRuns.values()].filter((n) => n > 1).length,
      effectReachedMoreThanOnce: [...counts.reached.values()].filter((n) => n > 1).length,
      deadLetteredHealthy,
      unexplainedDeadLetters: unexplainedDeadLetters.length,
      deadLetteredPoison: [...poisonOf.keys()].filter((id) => dlqEvents.has(id)).length,
      poisonNotDeadLettered: unaccountedPoison.length,
      redelivered: queue.redeliveries,
    },
    deadLettered,
    effectReachedTwiceBy: reachedTwiceBy,
    unexplainedRepeats: unexplained.slice(0, 20),
    consumerOutcomes: outcomes,
    injected: {
      ...injected,
      "PutEvents request throttled": bus.requestsThrottled,
      "PutEvents entry failed (FailedEntryCount)": bus.entriesFailed,
      ...Object.fromEntries(Object.entries(apiDestination.faultAnswers).map(([k, v]) => [`API destination ${k}`, v])),
    },
    latencyMs: { p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99), max: latencies[latencies.length - 1] ?? 0 },
    simulatedMs: clock.elapsed(),
    wallMs,
    eventsPerSecond: Math.round((produced.length / wallMs) * 1000),
    lostEventIds: lost.slice(0, 20),
    duplicateEventIds: duplicates.slice(0, 20),
    unaccountedPoison: unaccountedPoison.slice(0, 20),
    unexplainedDeadLetterIds: unexplainedDeadLetters.slice(0, 20),
    overlappingLeases: verdict.overlappingLeases.slice(0, 20),
    recordAudit: recordAudit.slice(0, 20),
    recordsLostInRestart: lostInRestart,
  };
}
