/** What a simulation run is given and what it reports (tools/sim/simulation.ts runs it). */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import type Redis from "ioredis";
import type { FaultProfile } from "./faults";
import type { HandlerContract } from "./ledger";
import type { StackSettings } from "./stack-settings";

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
  /** The stack whose durations and counts the run uses (stack-settings.ts). Default: Pulumi.yaml's defaults. */
  stack?: StackSettings;
  /** Overrides the stack's Service Bus LockDuration (and lease) in ms. */
  lockDurationMs?: number;
  /** Overrides the stack's MaxDeliveryCount. */
  maxDeliveryCount?: number;
  /** Overrides the stack's dedupe window. */
  dedupeWindowMs?: number;
  /** Overrides the stack's EventBridge retry policy. */
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
  /** The stack whose settings the run used, and the durations that matter most. */
  settings: { stack: string; lockDurationMs: number; maxDeliveryCount: number; dedupeWindowMs: number; maximumEventAgeMs: number; maximumRetryAttempts: number };
  /** Late copies re-published inside and beyond the dedupe window. */
  lateCopies: { insideWindow: number; beyondWindow: number };
  /** Simulated ms the idempotency Redis was aged by, following the clock's jumps. */
  redisAgedMs: number;
  /** Claims Redis answered `in-progress` (measured): copies that met a live lease. */
  claimsMetLiveLease: number;
  /** Per API destination failure mode: how many events it hit and where they ended up. */
  apiDestinationModes: Record<string, string>;
  /** The relay's parked ranges and what the relay redrive did (left: measured on the queue). */
  relayRedrive: { ranges: number; parkedEvents: number; parkedApplied: number; parkedLost: number; runs: number; republished: number; deleted: number; left: number };
  /** Final answers (403, de-authorized connection) retried or not dead-lettered. */
  finalAnswerProblems: string[];
}
