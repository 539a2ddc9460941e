/**
 * The consumer stage of a run: workers receive from the Service Bus model and hand each message to
 * the REAL consumer (runtime/consumer.ts with the REAL Redis idempotency store, or the SET NX
 * baseline), whose business handler applies its effect to the ledger. Each delivery draws its fault
 * from the seed; the idempotency Redis is stopped and restarted once, its keys snapshotted around
 * the restart so the oracle can tell which records were really lost.
 */
import { AsyncLocalStorage } from "async_hooks";
import type Redis from "ioredis";
import { BusinessHandler, createConsumer, ConsumerMessage, Settlement } from "../../runtime/consumer";
import { createRedisIdempotencyStore, recordState, RecordState } from "../../runtime/idempotency-store";
import { silentLogger } from "../../runtime/logger";
import { createNaiveSetNxConsumer } from "../../runtime/naive-setnx-consumer";
import type { SimClock } from "./clock";
import type { DeliveryObservation } from "./dead-letter-oracle";
import type { FaultProfile } from "./faults";
import { HandlerRun, RECORDED_COMPLETIONS, Restart } from "./lease-oracle";
import { EffectLedger, HandlerContract } from "./ledger";
import { FunctionsHostModel } from "./functions-host-model";
import { draw } from "./random";
import { followClock } from "./redis-time";
import type { ConsumerDesign, IdempotencyRedis } from "./run-options";
import { MessageLockLostError, ReceivedMessage, ServiceBusQueueModel } from "./service-bus-model";
import { observeStore, snapshotKeys, StoreObserver } from "./store-observer";

type ConsumerFault = "none" | "handler-throws" | "crash-before-effect" | "crash-after-effect" | "stall-past-lease" | "settle-fails" | "dependency-not-ready" | "abandoned-at-shutdown";

interface DeliveryPlan {
  fault: ConsumerFault;
  crash: () => void;
  /** The host abandons this delivery's message (its instance is shutting down). */
  hostAbandons: () => void;
  honoursAbort: boolean;
  latencyMs: number;
  slow: boolean;
}

export interface ConsumerWiringOptions {
  seed: number;
  faults: FaultProfile;
  clock: SimClock;
  runId: string;
  events: number;
  queue: ServiceBusQueueModel;
  lockMs: number;
  dedupeWindowMs: number;
  /** host.json maxAutoLockRenewalDuration of the Functions host model. */
  maxAutoLockRenewalMs: number;
  consumer: ConsumerDesign;
  handlerContract: HandlerContract;
  idempotencyRedis: IdempotencyRedis;
  businessRedis: Redis;
  keyOf: (id: string) => string;
  inject: (name: string) => void;
}

export interface ConsumerStage {
  ledger: EffectLedger;
  observer: StoreObserver;
  /** The key prefix of the run's idempotency records. */
  idemPrefix: string;
  /** Handler runs per event (every run, whether or not it reached its effect). */
  handlerRuns: Map<string, number>;
  /** Runs that reached the effect, per event, with their delivery and times. */
  runsByEvent: Map<string, HandlerRun[]>;
  /** What the harness saw of each delivery, per message id. */
  observedDeliveries: Map<string, DeliveryObservation[]>;
  restarts: Restart[];
  /** Outcome kinds the consumer returned. */
  outcomes: Record<string, number>;
  /** Simulated ms the idempotency Redis was aged by (the clock's jumps). */
  redisAgedMs(): number;
  effectsSeen(): number;
  lostInRestart(): number;
  /** Deliveries (or restart steps) in progress. */
  inFlight(): number;
  start(workers: number): void;
  stop(): void;
  /** Ages every idempotency key to the simulated clock now (before reading keys wholesale). */
  catchUp(): Promise<unknown>;
  /** Stops following the clock (after the count's last read). */
  untrack(): Promise<void>;
}

/** The record state each store operation leaves when it writes. */
const STATE_WRITTEN_BY: Record<"claim" | "complete" | "release", RecordState> = { claim: "held", complete: "done", release: "free" };

/** Replies after which the operation wrote the record. */
const WRITING_REPLIES = new Set(["claimed", "released", "expired", ...RECORDED_COMPLETIONS]);

const never = () => new Promise<never>(() => {});

export function eventIdOfBody(body: string): string {
  try {
    const v = JSON.parse(body) as { detail?: { metadata?: { event_id?: string } } };
    return v.detail?.metadata?.event_id ?? "?";
  } catch {
    return "?";
  }
}

export function wireConsumer(w: ConsumerWiringOptions): ConsumerStage {
  const { seed, faults: f, clock, queue, lockMs, keyOf, inject } = w;
  const ledger = new EffectLedger(w.businessRedis, `sim:${w.runId}:biz:`, w.handlerContract);
  const handlerRuns = new Map<string, number>();
  // The delivery's fault plan reaches the handler through the async context: the SET NX baseline
  // does not pass the message id or delivery count to the handler.
  const plans = new AsyncLocalStorage<DeliveryPlan>();
  const runsByEvent = new Map<string, HandlerRun[]>();
  /** Per event: until when the lease of a holder whose instance shut down may still be live. */
  const deadHolderUntil = new Map<string, number>();
  let effectsSeen = 0;
  const handler: BusinessHandler = async (event, ctx) => {
    const eventId = event.metadata.event_id;
    handlerRuns.set(eventId, (handlerRuns.get(eventId) ?? 0) + 1);
    const plan = plans.getStore();
    if ((event.data as { refuse?: boolean }).refuse) throw new Error(`business rule refuses order line of event ${eventId}`);
    if (plan) await clock.sleep(plan.latencyMs);
    if (plan?.fault === "abandoned-at-shutdown") {
      // The instance shuts down while the handler runs: the host abandons the message (it is
      // delivered again at once, to another instance) and the process is gone before the handler
      // gets any further. Its lease stays until it expires.
      inject("consumer instance shutdown (host abandoned the message mid-run)");
      deadHolderUntil.set(eventId, clock.now() + lockMs);
      plan.hostAbandons();
      plan.crash();
      return never();
    }
    if (plan?.slow) await clock.sleep(Math.max(0, ctx.deadline.getTime() - clock.now() - 1_000));
    switch (plan?.fault) {
      case "handler-throws":
        throw new Error("injected: downstream dependency refused");
      case "dependency-not-ready":
        inject("consumer dependency not ready (handler refused)");
        throw new Error(`injected: the downstream has not caught up with event ${eventId} yet`);
      case "crash-before-effect":
        plan.crash();
        return never();
      case "stall-past-lease": {
        // A dependency hangs past the lease. A handler that honours its AbortSignal gives up at the
        // deadline (the signal fires then); one that does not goes on to its effect after the lease.
        const toDeadline = Math.max(0, ctx.deadline.getTime() - clock.now());
        if (plan.honoursAbort) {
          await clock.sleep(toDeadline);
          throw new Error(`handler for event ${eventId} aborted at its deadline`);
        }
        await clock.sleep(toDeadline + lockMs);
        break;
      }
      default:
        break;
    }
    const run: HandlerRun = { delivery: plan, fault: plan?.fault ?? "none", reachedAt: clock.now() };
    runsByEvent.set(eventId, [...(runsByEvent.get(eventId) ?? []), run]);
    if (await clock.busy(ledger.apply(eventId, clock.now()))) effectsSeen++;
    run.endedAt = clock.now();
    if (plan?.fault === "crash-after-effect") {
      plan.crash();
      return never();
    }
  };

  const idemPrefix = `sim:${w.runId}:idem:`;
  const naivePrefix = `sim:${w.runId}:naive:`;
  const redis = w.idempotencyRedis;
  // One clock: every command is real work, and every jump ages the run's keys by the jump.
  const follower = followClock(redis.client, clock, [idemPrefix, naivePrefix], `sim:${w.runId}:clock-offsets`);
  const store = createRedisIdempotencyStore(redis.client, { keyPrefix: idemPrefix, dedupeWindowMs: w.dedupeWindowMs });
  const observer = observeStore(redis.client, idemPrefix, () => clock.now(), () => plans.getStore());
  const restarts: Restart[] = [];
  const handle: (m: ConsumerMessage, s: Settlement) => Promise<unknown> =
    w.consumer === "claim-complete"
      ? ((c) => (m, s) => c.handle(m, s))(createConsumer({ store, handler, logger: silentLogger, messageLockMs: lockMs, now: () => clock.now(), sleep: (ms) => clock.sleep(ms) }))
      : ((c) => (m, s) => c.handle(m, s))(createNaiveSetNxConsumer({ redis: redis.client, handler, keyPrefix: naivePrefix }));

  const host = new FunctionsHostModel({ clock, queue, maxAutoLockRenewalMs: w.maxAutoLockRenewalMs });
  const deliveriesByEvent = new Map<string, number>();
  const observedDeliveries = new Map<string, DeliveryObservation[]>();
  let redisDown = false;
  let redisRestarts = 0;
  const outcomes: Record<string, number> = {};
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
      ["abandoned-at-shutdown", f.abandonedAtShutdown],
    ];
    for (const [fault, p] of table) {
      if (r < p) return fault;
      r -= p;
    }
    return "none";
  };
  // A lagging downstream refuses the first k deliveries of each message of some events (k from 2 to
  // MaxDeliveryCount − 2): each failure is abandoned and redelivered at once, so these messages
  // climb towards MaxDeliveryCount and still succeed.
  const notReadyFor = (eventId: string): number => {
    if (draw(seed, `not-ready:${keyOf(eventId)}`) >= f.dependencyNotReady) return 0;
    const most = Math.max(2, queue.maxDeliveryCount - 2);
    return 2 + Math.floor(draw(seed, `not-ready-k:${keyOf(eventId)}`) * (most - 1));
  };
  const deliverOne = async (received: ReceivedMessage): Promise<void> => {
    const m = received.message;
    const eventId = eventIdOfBody(m.body);
    const n = (deliveriesByEvent.get(eventId) ?? 0) + 1;
    deliveriesByEvent.set(eventId, n);
    const drawn = consumerFault(eventId, n);
    const fault: ConsumerFault = drawn === "none" && m.deliveryCount <= notReadyFor(eventId) ? "dependency-not-ready" : drawn;
    // These two are counted where they fire (in the handler), not when drawn.
    if (fault !== "none" && fault !== "dependency-not-ready" && fault !== "abandoned-at-shutdown") inject(`consumer ${fault}`);
    inFlightEvents.set(eventId, (inFlightEvents.get(eventId) ?? 0) + 1);
    let contended = (inFlightEvents.get(eventId) ?? 0) > 1;
    const restartsBefore = redisRestarts;
    const downBefore = redisDown;
    let outcomeKind = "crashed";
    let crash!: () => void;
    const crashed = new Promise<void>((resolve) => (crash = resolve));
    // Slowness belongs to the event (a large order, a slow downstream account): every copy of it is
    // slow, so a copy that arrives while the first runs waits out its budget (in-progress-elsewhere).
    const slow = draw(seed, `slow:${keyOf(eventId)}`) < f.slowHandler;
    const latencyMs = Math.floor(draw(seed, `latency:${keyOf(eventId)}:${n}`) * f.handlerLatencyMs);
    if (slow) inject("consumer slow handler (ends just inside its deadline)");
    const hostAbandons = () => {
      try {
        queue.abandon(received);
      } catch {
        // the lock was already lost: the message is on its way back anyway
      }
    };
    const plan: DeliveryPlan = { fault, crash, hostAbandons, honoursAbort: draw(seed, `honours-abort:${keyOf(eventId)}:${n}`) < 0.5, latencyMs, slow };
    const settle: Settlement = {
      complete: async () => {
        if (fault === "settle-fails") throw new MessageLockLostError("MessageLockLost (injected)");
        queue.complete(received);
      },
      abandon: async () => queue.abandon(received),
      deadLetter: async (reason, description) => queue.deadLetter(received, reason, description),
    };
    const invocation = Promise.race([
      // A host that sees handle() throw leaves the message to its lock, as the Functions host does.
      plans
        .run(plan, () => handle(host.bindingMessage(received), settle))
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
    await host.run(received, invocation);
    // A holder whose instance shut down is gone, but its lease lives on: a delivery that ends before
    // that lease could have expired met it (the injected shutdown explains its failure).
    contended ||= (inFlightEvents.get(eventId) ?? 0) > 1 || (deadHolderUntil.get(eventId) ?? 0) >= clock.now();
    const seen = observedDeliveries.get(m.messageId) ?? [];
    seen.push({ fault, outcome: outcomeKind, contended, duringRedisRestart: downBefore || redisDown || redisRestarts !== restartsBefore });
    observedDeliveries.set(m.messageId, seen);
    const left = (inFlightEvents.get(eventId) ?? 1) - 1;
    if (left > 0) inFlightEvents.set(eventId, left);
    else inFlightEvents.delete(eventId);
  };
  const restartRedis = async (restart: () => Promise<void>): Promise<void> => {
    inject("idempotency redis stopped and restarted");
    // Measured: which records the restart really lost (none, with persistence).
    consumerInFlight++;
    const restartAt = clock.now();
    const before = await clock.busy(async () => {
      await follower.catchUp();
      return snapshotKeys(redis.client, idemPrefix);
    }).finally(() => consumerInFlight--);
    consumerInFlight++;
    redisDown = true;
    redisRestarts++;
    // The old server answered until the connection closed: a call answered before then may be lost.
    let stoppedAt = Infinity;
    redis.client.once("close", () => (stoppedAt = clock.now()));
    await clock.busy(restart()).finally(() => {
      consumerInFlight--;
      redisDown = false;
    });
    consumerInFlight++;
    const after = await clock.busy(async () => {
      await follower.catchUp();
      return snapshotKeys(redis.client, idemPrefix);
    }).finally(() => consumerInFlight--);
    const afterAt = clock.now();
    // Keys written between the snapshot and the stop count too: the observer saw those writes.
    const snapshotAt = restartAt;
    // Calls that may have written after the snapshot read the key: answered after it began, sent before the stop.
    const laterCalls = (k: string) => observer.byKey(k).filter((c) => c.repliedAt >= snapshotAt && c.sentAt <= stoppedAt);
    const held = new Set([...before.keys(), ...observer.calls.filter((c) => c.repliedAt <= stoppedAt && c.reply !== "error").map((c) => c.key)]);
    // A key survived if it holds after the restart what it held before and nothing wrote it since,
    // or what one of the calls sent since wrote (same state, same token; with an answer lost in the
    // stop, Redis may or may not have run it). Anything else counts as lost.
    const survived = (k: string): boolean => {
      const now = after.get(k)?.value;
      if (now === undefined) return false;
      // Other workers run on while the snapshot is read: a call sent after the stop may already
      // have rewritten the key (a copy re-claiming with the token its failed calls carried). What
      // the key held before that is unknown, so it survived only if the same holder held it before.
      const rewrite = observer.byKey(k).find((c) => c.sentAt > stoppedAt && c.repliedAt <= afterAt && WRITING_REPLIES.has(c.reply) && now.endsWith(c.token));
      if (rewrite) return before.get(k)?.value.endsWith(rewrite.token) === true;
      const since = laterCalls(k).filter((c) => c.reply === "error" || WRITING_REPLIES.has(c.reply));
      if (since.length === 0) return now === before.get(k)?.value;
      return since.some((c) => now.endsWith(c.token) && recordState(now) === STATE_WRITTEN_BY[c.op]);
    };
    const lost = new Set([...held].filter((k) => !survived(k)));
    restarts.push({ at: restartAt, until: clock.now(), lost });
    lostInRestart += lost.size;
  };
  const worker = async (): Promise<void> => {
    while (!stopped) {
      const received = await queue.receive();
      if (stopped) return;
      consumerInFlight++;
      try {
        // Not busy as a whole: the clock may jump while the delivery waits (latency, polling a
        // lease held elsewhere); its Redis commands are busy one by one (trackCommands).
        await deliverOne(received);
      } finally {
        consumerInFlight--;
      }
      if (!redisRestarted && f.redisRestartAt !== undefined && redis.restart && effectsSeen >= f.redisRestartAt * w.events) {
        redisRestarted = true;
        await restartRedis(redis.restart);
      }
    }
  };
  return {
    ledger,
    observer,
    idemPrefix,
    handlerRuns,
    runsByEvent,
    observedDeliveries,
    restarts,
    outcomes,
    redisAgedMs: () => follower.agedMs(),
    effectsSeen: () => effectsSeen,
    lostInRestart: () => lostInRestart,
    inFlight: () => consumerInFlight,
    start: (workers) => {
      for (let i = 0; i < workers; i++) void worker();
    },
    stop: () => {
      stopped = true;
    },
    catchUp: () => follower.catchUp(),
    untrack: () => follower.stop(),
  };
}
