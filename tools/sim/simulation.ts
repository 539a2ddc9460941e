/**
 * One seeded fault-injection run of the whole event path:
 *
 *   producer ─▶ outbox writer (REAL, DynamoDB Local) ─▶ stream (REAL, DynamoDB Local)
 *     ─▶ event source mapping (MODEL) ─▶ relay (REAL runtime/relay.ts)
 *     ─▶ EventBridge bus, rule, target retry policy, DLQ (MODEL) ─▶ API destination (MODEL)
 *     ─▶ Service Bus queue, peek-lock, DLQ (MODEL) ─▶ consumer (REAL runtime/consumer.ts, REAL redis-server)
 *     ─▶ business handler, effect ledger (REAL redis-server)
 *
 * and the count at the end (count.ts): every produced event must have its effect applied exactly
 * once, or be in a dead-letter queue with a reason; every poison event must be in a dead-letter queue.
 *
 * This file wires the stages (workload.ts, relay-wiring.ts, consumer-wiring.ts) to the models and
 * runs the clock until the pipeline is drained.
 */
import { randomUUID } from "crypto";
import { API_DESTINATION_MODES, ApiDestinationModel } from "./api-destination-model";
import { SimClock } from "./clock";
import { wireConsumer } from "./consumer-wiring";
import { countRun } from "./count";
import { BUS_FAULTS, EventBridgeModel } from "./eventbridge-model";
import { LateCopies } from "./late-copies";
import { startRelayRedrive } from "./relay-redrive-wiring";
import { wireRelay } from "./relay-wiring";
import type { SimulationOptions, SimulationReport } from "./run-options";
import { ServiceBusQueueModel } from "./service-bus-model";
import { stackSettings } from "./stack-settings";
import { createTables, planWorkload, startProducer } from "./workload";

export type { ConsumerDesign, IdempotencyRedis, Progress, SimulationOptions, SimulationReport } from "./run-options";

const sleepReal = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runSimulation(o: SimulationOptions): Promise<SimulationReport> {
  const wallStart = Date.now();
  const seed = o.seed;
  const f = o.faults;
  const clock = new SimClock();
  const runId = `${seed}-${randomUUID().slice(0, 8)}`;
  const injected: Record<string, number> = {};
  const inject = (name: string) => (injected[name] = (injected[name] ?? 0) + 1);
  // The stack's real durations: one clock (clock.ts, redis-time.ts) makes them affordable.
  const stack = o.stack ?? stackSettings(undefined);
  const lockMs = o.lockDurationMs ?? stack.lockDurationMs;
  const workers = o.workers ?? 16;

  const tables = await createTables(o.dynamodb, runId);
  const workload = planWorkload(seed, o.events, f.poison, runId);
  const { keyOf } = workload;

  // ── models ────────────────────────────────────────────────────────────────────────────────
  const published = new Set<string>();
  const delivered = new Set<string>();
  const maxDeliveryCount = o.maxDeliveryCount ?? stack.maxDeliveryCount;
  const retryPolicy = o.retryPolicy ?? stack.retryPolicy;
  const dedupeWindowMs = o.dedupeWindowMs ?? stack.dedupeWindowMs;
  const queue = new ServiceBusQueueModel(clock, lockMs, maxDeliveryCount);
  const apiDestination = new ApiDestinationModel(clock, seed, f, queue, (id) => delivered.add(id), keyOf, API_DESTINATION_MODES[f.name]);
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
    BUS_FAULTS[f.name],
  );

  // ── stages ────────────────────────────────────────────────────────────────────────────────
  let producerDone = false;
  const producer = await startProducer({
    seed,
    faults: f,
    clock,
    dynamodb: o.dynamodb,
    dynamodbEndpoint: o.dynamodbEndpoint,
    producers: o.producers ?? 6,
    tables,
    workload,
    inject,
    onDone: () => {
      producerDone = true;
      apiDestination.beginOutage(clock.now());
    },
  });
  const lateCopies = new LateCopies({ clock, seed, rate: f.lateCopy, dedupeWindowMs, bus, keyOf });
  const redrive = await startRelayRedrive({ clock, streams: o.streams, dynamodb: o.dynamodb, outboxTable: tables.outbox, bus, busName: "mesh-sim-bus" });
  const relay = wireRelay({
    seed,
    faults: f,
    clock,
    streams: o.streams,
    streamArn: tables.streamArn,
    bus,
    keyOf,
    inject,
    sourceFinished: () => producerDone,
    settings: stack.relay,
    onPublished: (entry) => lateCopies.observe(entry),
    onFailureDestination: redrive.park,
  });
  const consumer = wireConsumer({
    seed,
    faults: f,
    clock,
    runId,
    events: o.events,
    queue,
    lockMs,
    dedupeWindowMs,
    maxAutoLockRenewalMs: stack.maxAutoLockRenewalMs,
    consumer: o.consumer,
    handlerContract: o.handlerContract,
    idempotencyRedis: o.idempotencyRedis,
    businessRedis: o.businessRedis,
    keyOf,
    inject,
  });

  // ── run ───────────────────────────────────────────────────────────────────────────────────
  clock.start();
  let failure: unknown;
  producer.done.catch((error) => (failure = error));
  const mappingRun = relay.mapping.run().catch((error) => (failure = error));
  consumer.start(workers);
  const wallLimit = o.wallLimitMs ?? 600_000;
  let finished = false;
  let mappingDone = false;
  void mappingRun.then(() => (mappingDone = true));
  void redrive.run(() => mappingDone).catch((error) => (failure = error));
  for (;;) {
    await sleepReal(25);
    o.onProgress?.({
      produced: producer.committedAt.size,
      published: published.size,
      delivered: delivered.size,
      effects: consumer.effectsSeen(),
      expected: o.events,
      simulatedMs: clock.elapsed(),
    });
    failure ??= clock.error;
    if (failure) break;
    if (producerDone && mappingDone && bus.deliveriesInFlight === 0 && queue.active === 0 && consumer.inFlight() === 0 && lateCopies.pending === 0 && redrive.idle()) {
      finished = true;
      break;
    }
    if (Date.now() - wallStart > wallLimit) break;
  }
  consumer.stop();
  queue.close();
  clock.stop();
  await producer.close();
  await redrive.close();
  if (failure) {
    await consumer.untrack();
    throw failure;
  }

  return countRun({
    o,
    finished,
    wallStart,
    wallLimit,
    simulatedMs: () => clock.elapsed(),
    simulatedNow: () => clock.now(),
    tables,
    workload,
    producer,
    relay,
    redrive,
    bus,
    apiDestination,
    queue,
    consumer,
    published,
    delivered,
    injected,
    retryPolicy,
    maxDeliveryCount,
    dedupeWindowMs,
    lateCopies,
    stack: stack.stack,
    lockMs,
  });
}
