/**
 * Fault rates of the reverse simulation and the record of what the harness injected and measured.
 * Every decision is `draw(seed, key) < rate` with a key naming the event and its attempt
 * (tools/sim/random.ts), so a seed injects the same faults into the same events and attempts.
 */
export const RATES = {
  /** Poison: schema_version 2.0 (the relay forwards any major; the consumer knows only 1). */
  poison: 0.03,
  /** The producer's business write throws inside the transaction. */
  businessWriteFails: 0.06,
  /** The producer calls commit again after it succeeded (a lost reply). */
  commitRetried: 0.05,
  /** Relay killed right after its claim (before PutEvents). */
  relayCrashAfterClaim: 0.02,
  /** Relay killed after PutEvents accepted entries, before it marked them. */
  relayCrashAfterAccept: 0.05,
  putEventsThrottled: 0.05,
  entryFails: 0.06,
  /**
   * A sustained throttling burst on one event: its entry fails on its first 3–6 PutEvents attempts
   * in a row, more than the relay's in-process retries, so the row is put back at least once.
   */
  entryFailureStreak: 0.05,
  targetDeliveryFails: 0.05,
  targetDeliversTwice: 0.03,
  sqsDeleteLost: 0.03,
  /** A receive leaves the message visible: a second poller receives it while the first still works on it. */
  sqsReceivedTwice: 0.03,
  handlerThrows: 0.06,
  consumerCrashBeforeEffect: 0.008,
  consumerCrashAfterEffect: 0.012,
  /** The handler stalls past the function timeout before its effect (a slow downstream): the invocation times out. */
  handlerStalls: 0.01,
} as const;

export type FaultCounts = Record<
  | "poison"
  | "businessWriteFails"
  | "commitRetried"
  | "corruptRows"
  | "relayCrashAfterClaim"
  | "relayCrashAfterAccept"
  | "putEventsThrottled"
  | "entryFails"
  | "entryFailureStreaks"
  | "targetDeliveryFails"
  | "targetDeliversTwice"
  | "sqsDeleteLost"
  | "sqsReceivedTwice"
  | "handlerThrows"
  | "consumerCrashBeforeEffect"
  | "consumerCrashAfterEffect"
  | "handlerStalls"
  | "lambdaTimeouts",
  number
>;

export function zeroCounts(): FaultCounts {
  return {
    poison: 0,
    businessWriteFails: 0,
    commitRetried: 0,
    corruptRows: 0,
    relayCrashAfterClaim: 0,
    relayCrashAfterAccept: 0,
    putEventsThrottled: 0,
    entryFails: 0,
    entryFailureStreaks: 0,
    targetDeliveryFails: 0,
    targetDeliversTwice: 0,
    sqsDeleteLost: 0,
    sqsReceivedTwice: 0,
    handlerThrows: 0,
    consumerCrashBeforeEffect: 0,
    consumerCrashAfterEffect: 0,
    handlerStalls: 0,
    lambdaTimeouts: 0,
  };
}

/** What the harness itself saw; the oracle reads only this and the databases, never the consumer's outcomes. */
export interface Measurements {
  /** Event ids whose commit the producer saw refused (business write failed). */
  refused: Set<string>;
  /** Event ids the producer saw committed. */
  committed: Set<string>;
  poison: Set<string>;
  /** Rows inserted behind the writer's back, not valid events. */
  corrupt: Set<string>;
  /** Retried commits not answered already-committed (must stay empty). */
  retriedCommitWrongAnswer: string[];
  /** Commits refused though no fault was injected into them (must stay empty). */
  commitErrors: string[];
  /** `${messageId}|${receiveCount}` receives that an injected fault (or a measured Lambda timeout) failed, or whose delete the model lost. */
  faultedReceives: Set<string>;
  /**
   * event id → repeats excused: the effect was applied in an invocation that then died (killed by
   * the harness, or past its timeout) before its own complete of the idempotency record was
   * answered "completed". One excuse per such effect.
   */
  excusedRepeats: Map<string, number>;
}

export function emptyMeasurements(): Measurements {
  return {
    refused: new Set(),
    committed: new Set(),
    poison: new Set(),
    corrupt: new Set(),
    retriedCommitWrongAnswer: [],
    commitErrors: [],
    faultedReceives: new Set(),
    excusedRepeats: new Map(),
  };
}
