/**
 * Fault profiles: the probability of each named fault at each step. `none` checks the plumbing,
 * `default` is what CI runs, `heavy` adds a long Service Bus outage (simulated hours of 503s) and
 * raises every rate.
 */
export type FaultProfileName = "none" | "default" | "heavy";

export interface FaultProfile {
  name: FaultProfileName;
  /** Producer: the commit lands but the producer dies before it learns so; it retries the same commit. */
  producerCrashAfterCommit: number;
  /** Producer, per TransactWriteItems request (through the DynamoDB proxy): cancelled (TransactionConflict), nothing written. */
  producerCancelled: number;
  /** Producer: ThrottlingException, nothing written. */
  producerThrottled: number;
  /** Producer: the transaction committed, the answer was lost (a dropped connection). */
  producerTimeoutAfterCommit: number;
  /** Producer: the order was changed by someone else first; the commit's condition fails and nothing of it may appear. */
  businessConflict: number;
  /** Relay: PutEvents accepted the request, then the invocation died before returning (a function error). */
  relayCrashAfterPutEvents: number;
  /**
   * Relay, per invocation: the function times out ("Task timed out") part-way through its batch, before
   * one of its PutEvents requests (drawn): the requests before it were published, the rest were not.
   * A function error: the mapping bisects the batch (BisectBatchOnFunctionError).
   */
  relayTimeoutMidBatch: number;
  /** EventBridge: the whole PutEvents request is throttled (ThrottlingException). */
  putEventsThrottle: number;
  /** EventBridge: one entry fails in an otherwise accepted request (FailedEntryCount > 0). */
  putEventsEntryFailure: number;
  /** EventBridge: an entry fails on its first three sends in a row (a throttling burst), outlasting the relay's own retries. */
  putEventsEntryFailureBurst: number;
  /** API destination answers, per attempt. */
  http429: number;
  http5xx: number;
  /** The request times out after 5 s; it reached Service Bus with probability 1/2. */
  httpTimeout: number;
  /** Service Bus accepted the message but the answer was lost (EventBridge retries: a duplicate). */
  httpAnswerLost: number;
  /** The OAuth token is refused (expired or revoked): 401, the connection refreshes it. */
  http401: number;
  /**
   * The event reaches the queue twice at once: an archive replay or a global endpoint's secondary
   * Region delivering it too. The two copies go to two workers together, so their leases contend.
   */
  concurrentCopy: number;
  /** Final 4xx, not retried: the event goes to the EventBridge DLQ. */
  http403: number;
  http410: number;
  /** A Service Bus outage: every send answers 503 for this long (simulated ms), starting early in the run. */
  outageMs: number;
  /** Consumer, per delivery. */
  handlerThrows: number;
  crashBeforeEffect: number;
  crashAfterEffect: number;
  /** The handler stalls past its lease; the lock expires and the message is redelivered while it still runs. */
  stallPastLease: number;
  /** Every handler run takes up to this long (simulated ms, drawn from the seed): copies overlap. */
  handlerLatencyMs: number;
  /** A slow dependency: the run ends just inside its deadline (most of the lease), so a copy arriving meanwhile gives up waiting (in-progress-elsewhere). */
  slowHandler: number;
  /** Settling the message fails (MessageLockLost). */
  settleFails: number;
  /**
   * Per delivery: the instance shuts down (scale-in, restart) while the handler runs; the host
   * abandons the in-flight message, which is redelivered at once while this run's lease is still
   * live, and the process dies before the handler finishes. The redelivered message is the holder's
   * own: acknowledging it while the lease is held elsewhere loses the event.
   */
  abandonedAtShutdown: number;
  /**
   * Share of events whose downstream has not caught up yet (a lagging read replica, an account not yet
   * replicated): the handler throws on the first k deliveries of each message of the event, k drawn
   * from 2 to MaxDeliveryCount − 2, then succeeds. Drives messages towards MaxDeliveryCount without
   * reaching it.
   */
  dependencyNotReady: number;
  /**
   * A late copy of a published event (an archive replay, a DLQ redrive) reaches the bus again days
   * later: half inside the dedupe window (it must be absorbed), half beyond it (it is processed as new).
   */
  lateCopy: number;
  /** Stop the idempotency Redis (losing its data) and start it again, once, when this share of events has been consumed. */
  redisRestartAt: number | undefined;
  /** Share of events that are poison: half with an unsupported schema version, half refused by the business handler. */
  poison: number;
}

const NONE: FaultProfile = {
  name: "none",
  producerCrashAfterCommit: 0,
  producerCancelled: 0,
  producerThrottled: 0,
  producerTimeoutAfterCommit: 0,
  businessConflict: 0,
  relayCrashAfterPutEvents: 0,
  relayTimeoutMidBatch: 0,
  putEventsThrottle: 0,
  putEventsEntryFailure: 0,
  putEventsEntryFailureBurst: 0,
  http429: 0,
  http5xx: 0,
  httpTimeout: 0,
  httpAnswerLost: 0,
  http401: 0,
  concurrentCopy: 0,
  http403: 0,
  http410: 0,
  outageMs: 0,
  handlerThrows: 0,
  crashBeforeEffect: 0,
  crashAfterEffect: 0,
  stallPastLease: 0,
  handlerLatencyMs: 0,
  lateCopy: 0,
  slowHandler: 0,
  settleFails: 0,
  abandonedAtShutdown: 0,
  dependencyNotReady: 0,
  redisRestartAt: undefined,
  poison: 0,
};

const DEFAULT: FaultProfile = {
  name: "default",
  producerCrashAfterCommit: 0.02,
  producerCancelled: 0.02,
  producerThrottled: 0.02,
  producerTimeoutAfterCommit: 0.02,
  businessConflict: 0.02,
  relayCrashAfterPutEvents: 0.01,
  relayTimeoutMidBatch: 0.05,
  putEventsThrottle: 0.02,
  putEventsEntryFailure: 0.02,
  putEventsEntryFailureBurst: 0.01,
  http429: 0.03,
  http5xx: 0.03,
  httpTimeout: 0.01,
  httpAnswerLost: 0.02,
  http401: 0.01,
  concurrentCopy: 0.03,
  http403: 0.001,
  http410: 0.001,
  outageMs: 15 * 60_000,
  handlerThrows: 0.03,
  crashBeforeEffect: 0.005,
  crashAfterEffect: 0.005,
  stallPastLease: 0.002,
  handlerLatencyMs: 200,
  lateCopy: 0.03,
  slowHandler: 0.05,
  settleFails: 0.01,
  abandonedAtShutdown: 0.015,
  dependencyNotReady: 0.02,
  redisRestartAt: 0.5,
  poison: 0.01,
};

const HEAVY: FaultProfile = {
  ...DEFAULT,
  name: "heavy",
  producerCrashAfterCommit: 0.05,
  producerCancelled: 0.04,
  producerThrottled: 0.04,
  producerTimeoutAfterCommit: 0.04,
  businessConflict: 0.03,
  relayCrashAfterPutEvents: 0.03,
  relayTimeoutMidBatch: 0.08,
  putEventsThrottle: 0.05,
  putEventsEntryFailure: 0.05,
  putEventsEntryFailureBurst: 0.02,
  http429: 0.08,
  http5xx: 0.08,
  httpTimeout: 0.03,
  httpAnswerLost: 0.05,
  http401: 0.02,
  concurrentCopy: 0.06,
  lateCopy: 0.02,
  http403: 0.003,
  http410: 0.002,
  outageMs: 6 * 3600_000,
  handlerThrows: 0.08,
  crashBeforeEffect: 0.01,
  crashAfterEffect: 0.01,
  stallPastLease: 0.004,
  settleFails: 0.03,
  abandonedAtShutdown: 0.02,
  dependencyNotReady: 0.03,
  redisRestartAt: 0.4,
  poison: 0.02,
};

export const FAULT_PROFILES: Record<FaultProfileName, FaultProfile> = { none: NONE, default: DEFAULT, heavy: HEAVY };

export function faultProfile(name: string): FaultProfile {
  const profile = (FAULT_PROFILES as Record<string, FaultProfile>)[name];
  if (!profile) throw new Error(`--faults must be one of ${Object.keys(FAULT_PROFILES).join(", ")}, got '${name}'`);
  return profile;
}
