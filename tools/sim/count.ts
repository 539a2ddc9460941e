/**
 * The count at the end of a run: every produced event must have its effect applied exactly once,
 * or be in a dead-letter queue for a reason an injected fault explains; every poison event must be
 * in a dead-letter queue with its reason. Repeats, leases and records are judged from what Redis
 * answered (store-observer.ts, lease-oracle.ts), state and outbox from DynamoDB Local
 * (state-oracle.ts), never from the code under test's own report.
 */
import { compareSequenceNumbers } from "../../runtime/relay";
import type { ApiDestinationModel } from "./api-destination-model";
import type { ConsumerStage } from "./consumer-wiring";
import { eventIdOfBody } from "./consumer-wiring";
import { checkFinalAnswers, DeadLetterPlace, explainDeadLetter, explainParking, modeOutcomes } from "./dead-letter-oracle";
import type { RelayRedriveStage } from "./relay-redrive-wiring";
import type { EventBridgeModel } from "./eventbridge-model";
import { judgeLeases, RECORDED_COMPLETIONS } from "./lease-oracle";
import type { LateCopies } from "./late-copies";
import type { RelayStage } from "./relay-wiring";
import type { SimulationOptions, SimulationReport } from "./run-options";
import type { ServiceBusQueueModel } from "./service-bus-model";
import { checkStateAndOutbox } from "./state-oracle";
import { snapshotKeys } from "./store-observer";
import { EXPECTED_POISON_REASON, Producer, Tables, Workload } from "./workload";

export interface RunRecord {
  o: SimulationOptions;
  finished: boolean;
  wallStart: number;
  wallLimit: number;
  simulatedMs: () => number;
  /** The simulated clock's now (epoch ms). */
  simulatedNow: () => number;
  tables: Tables;
  workload: Workload;
  producer: Producer;
  relay: RelayStage;
  redrive: RelayRedriveStage;
  bus: EventBridgeModel;
  apiDestination: ApiDestinationModel;
  queue: ServiceBusQueueModel;
  consumer: ConsumerStage;
  published: Set<string>;
  delivered: Set<string>;
  injected: Record<string, number>;
  retryPolicy: { maximumEventAgeMs: number; maximumRetryAttempts: number };
  maxDeliveryCount: number;
  dedupeWindowMs: number;
  lateCopies: LateCopies;
  stack: string;
  lockMs: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export async function countRun(r: RunRecord): Promise<SimulationReport> {
  const { o, finished, workload, producer, relay, bus, apiDestination, queue, consumer, published, delivered, dedupeWindowMs } = r;
  const { poisonOf } = workload;
  const { committedAt, refusedEvents } = producer;
  const stateProblems = await checkStateAndOutbox(
    o.dynamodb,
    { outbox: r.tables.outbox, orders: r.tables.orders },
    workload.commits.map((c) => ({ orderId: c.orderId, eventIds: c.eventIndexes.map((i) => workload.eventIds[i]) })),
    (id) => committedAt.has(id),
    (id) => refusedEvents.has(id),
  );
  const counts = await consumer.ledger.read();
  const phantoms = [...refusedEvents].filter((id) => published.has(id) || (counts.reached.get(id) ?? 0) > 0);
  await consumer.ledger.drop();
  const deadLettered: Record<string, number> = {};
  const dlqEvents = new Map<string, string[]>();
  const unexplainedDeadLetters: string[] = [];
  const evidence = {
    retryPolicy: r.retryPolicy,
    maxDeliveryCount: r.maxDeliveryCount,
    relayMaximumRetryAttempts: relay.relayMaximumRetryAttempts,
    answers: (id: string) => apiDestination.answersByEvent.get(id) ?? [],
    deliveries: (messageId: string) => consumer.observedDeliveries.get(messageId) ?? [],
    relayFailures: (id: string) => relay.relayFailures.get(id) ?? 0,
  };
  const addDead = (where: DeadLetterPlace, eventId: string | undefined, reason: string, messageId?: string, publication?: string) => {
    const label = `${where}: ${reason}`;
    deadLettered[label] = (deadLettered[label] ?? 0) + 1;
    if (!eventId) return;
    dlqEvents.set(eventId, [...(dlqEvents.get(eventId) ?? []), reason]);
    if (!poisonOf.has(eventId) && !explainDeadLetter(where, { eventId, reason, messageId, publication }, evidence)) {
      unexplainedDeadLetters.push(`${eventId} (${label})`);
    }
  };
  // The on-failure record carries a shard and a sequence range only (as Lambda's does); the events
  // in it are the ones the harness saw in that range. Parking must be explained, and it accounts
  // for nothing: a parked event is lost unless the relay redrive got it applied.
  const parked = new Set<string>();
  for (const range of relay.mapping.onFailure) {
    for (const [seq, id] of relay.eventOfSequence) {
      if (compareSequenceNumbers(seq, range.startSequenceNumber) >= 0 && compareSequenceNumbers(seq, range.endSequenceNumber) <= 0) parked.add(id);
    }
    const first = relay.eventOfSequence.get(range.startSequenceNumber) ?? "?";
    if (!explainParking(first, evidence)) unexplainedDeadLetters.push(`${first} (relay on-failure destination: ${range.reason}, range of ${range.batchSize} parked early)`);
  }
  for (const d of bus.deadLetters) addDead("EventBridge DLQ", d.eventId, d.reason, undefined, d.publication);
  const finalAnswerProblems = checkFinalAnswers(apiDestination.answersByEvent, bus.deadLetters);
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
  const { observer, idemPrefix, restarts } = consumer;
  observer.stop();
  const redisKeyOf = (id: string) => idemPrefix + id;
  const eventOfKey = (key: string) => key.slice(idemPrefix.length);
  const repeatedKeys = [...counts.reached].filter(([, n]) => n > 1).map(([id]) => redisKeyOf(id));
  const leaseKeys = new Set(observer.calls.map((c) => c.key));
  const verdict = judgeLeases(
    (key) => observer.byKey(key),
    new Set([...repeatedKeys, ...leaseKeys]),
    (key) => (counts.reached.get(eventOfKey(key)) ?? 0) > 1 ? consumer.runsByEvent.get(eventOfKey(key)) ?? [] : [],
    restarts,
    dedupeWindowMs,
  );
  const unexplained = verdict.unexplainedRepeats.map(eventOfKey);
  await consumer.catchUp();
  const finalKeys = o.consumer === "claim-complete" ? await snapshotKeys(o.idempotencyRedis.client, idemPrefix) : new Map<string, { value: string; pttl: number }>();
  await consumer.untrack();
  const endedAt = r.simulatedNow();
  // When each key's completed record was last written (measured: the complete Redis answered).
  const lastCompletion = (key: string) =>
    observer.byKey(key).filter((c) => c.op === "complete" && RECORDED_COMPLETIONS.has(c.reply)).reduce<number | undefined>((t, c) => Math.max(t ?? 0, c.sentAt), undefined);
  const recordAudit: string[] = [];
  // A completed record is kept for the whole dedupe window, on the simulated clock Redis follows:
  // what remains of it now is the window less the simulated time since it was written.
  for (const [key, { value, pttl }] of finalKeys) {
    const writtenAt = lastCompletion(key);
    if (pttl === -1) recordAudit.push(`${eventOfKey(key)}: key without expiry (${value.slice(0, 5)})`);
    else if (value.startsWith("done:") && writtenAt !== undefined && pttl < dedupeWindowMs - (endedAt - writtenAt) - 1_000) {
      recordAudit.push(`${eventOfKey(key)}: completed record expires in ${pttl} ms, ${endedAt - writtenAt} ms after it was written: before the ${dedupeWindowMs} ms dedupe window`);
    }
  }
  if (o.consumer === "claim-complete") {
    for (const [id, n] of counts.applied) {
      if (n === 0 || finalKeys.get(redisKeyOf(id))?.value.startsWith("done:")) continue;
      if (restarts.some((x) => x.lost.has(redisKeyOf(id)))) continue;
      const writtenAt = lastCompletion(redisKeyOf(id));
      if (writtenAt !== undefined && endedAt - writtenAt >= dedupeWindowMs) continue; // expired, as it should
      recordAudit.push(`${id}: applied, but Redis holds no completed record for it`);
    }
  }
  const failures: string[] = [];
  if (!finished) failures.push(`the run did not finish within ${r.wallLimit} ms of wall time (${unsettled} events still on their way)`);
  if (lost.length > 0) failures.push(`${lost.length} events lost (produced, never applied, in no dead-letter queue)`);
  if (duplicates.length > 0) failures.push(`${duplicates.length} events had their effect applied more than once`);
  if (unexplained.length > 0) failures.push(`${unexplained.length} events reached their effect twice outside the documented windows`);
  if (verdict.overlappingLeases.length > 0) failures.push(`${verdict.overlappingLeases.length} claims granted while another worker's lease was live (measured from Redis)`);
  if (verdict.leasesLongerThanAsked.length > 0) failures.push(`${verdict.leasesLongerThanAsked.length} leases longer than any claim asked for (measured from Redis), e.g. ${verdict.leasesLongerThanAsked[0]}`);
  if (recordAudit.length > 0) failures.push(`${recordAudit.length} idempotency records wrong at the end (measured from Redis), e.g. ${recordAudit[0]}`);
  if (stateProblems.length > 0) failures.push(`${stateProblems.length} orders whose state and outbox disagree, e.g. ${stateProblems[0]}`);
  if (phantoms.length > 0) failures.push(`${phantoms.length} events of refused commits were published or handled`);
  if (unexplainedDeadLetters.length > 0) failures.push(`${unexplainedDeadLetters.length} dead letters of healthy events that no injected fault explains`);
  if (unaccountedPoison.length > 0) failures.push(`${unaccountedPoison.length} poison events are not in a dead-letter queue with their reason`);
  if (finalAnswerProblems.length > 0) failures.push(`${finalAnswerProblems.length} final API destination answers not handled as EventBridge documents, e.g. ${finalAnswerProblems[0]}`);
  const lostSet = new Set(lost);
  const fate = (id: string) => ((counts.applied.get(id) ?? 0) > 0 ? "applied" : dlqEvents.has(id) ? [...new Set(dlqEvents.get(id))].join(" + ") : lostSet.has(id) ? "LOST" : "unsettled");
  const redriveRuns = r.redrive.runs;
  const wallMs = Date.now() - r.wallStart;
  return {
    seed: o.seed,
    faults: o.faults.name,
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
      handlerRanMoreThanOnce: [...consumer.handlerRuns.values()].filter((n) => n > 1).length,
      effectReachedMoreThanOnce: [...counts.reached.values()].filter((n) => n > 1).length,
      deadLetteredHealthy,
      unexplainedDeadLetters: unexplainedDeadLetters.length,
      deadLetteredPoison: [...poisonOf.keys()].filter((id) => dlqEvents.has(id)).length,
      poisonNotDeadLettered: unaccountedPoison.length,
      redelivered: queue.redeliveries,
    },
    deadLettered,
    effectReachedTwiceBy: verdict.reachedTwiceBy,
    unexplainedRepeats: unexplained.slice(0, 20),
    consumerOutcomes: consumer.outcomes,
    injected: {
      ...r.injected,
      "PutEvents request throttled": bus.requestsThrottled,
      "PutEvents entry failed (FailedEntryCount)": bus.entriesFailed,
      "PutEvents request refused (outage window: ranges parked)": bus.requestsRefusedByOutage,
      ...Object.fromEntries(Object.entries(apiDestination.faultAnswers).map(([k, v]) => [`API destination ${k}`, v])),
    },
    latencyMs: { p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99), max: latencies[latencies.length - 1] ?? 0 },
    simulatedMs: r.simulatedMs(),
    wallMs,
    eventsPerSecond: Math.round((produced.length / wallMs) * 1000),
    lostEventIds: lost.slice(0, 20),
    duplicateEventIds: duplicates.slice(0, 20),
    unaccountedPoison: unaccountedPoison.slice(0, 20),
    unexplainedDeadLetterIds: unexplainedDeadLetters.slice(0, 20),
    overlappingLeases: verdict.overlappingLeases.slice(0, 20),
    recordAudit: recordAudit.slice(0, 20),
    recordsLostInRestart: consumer.lostInRestart(),
    settings: {
      stack: r.stack,
      lockDurationMs: r.lockMs,
      maxDeliveryCount: r.maxDeliveryCount,
      dedupeWindowMs,
      maximumEventAgeMs: r.retryPolicy.maximumEventAgeMs,
      maximumRetryAttempts: r.retryPolicy.maximumRetryAttempts,
    },
    lateCopies: { insideWindow: r.lateCopies.insideWindow, beyondWindow: r.lateCopies.beyondWindow },
    redisAgedMs: consumer.redisAgedMs(),
    claimsMetLiveLease: observer.calls.filter((c) => c.op === "claim" && c.reply === "in-progress").length,
    apiDestinationModes: modeOutcomes(apiDestination.answersByEvent, fate),
    relayRedrive: {
      ranges: relay.mapping.onFailure.length,
      parkedEvents: parked.size,
      parkedApplied: [...parked].filter((id) => (counts.applied.get(id) ?? 0) > 0).length,
      parkedLost: [...parked].filter((id) => lostSet.has(id)).length,
      runs: redriveRuns.length,
      republished: redriveRuns.reduce((n, x) => n + x.republished, 0),
      deleted: redriveRuns.reduce((n, x) => n + x.deleted, 0),
      left: r.redrive.left(),
    },
    finalAnswerProblems: finalAnswerProblems.slice(0, 20),
  };
}
