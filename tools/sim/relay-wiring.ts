/**
 * The relay stage of a run: the REAL relay handler (runtime/relay.ts), invoked by the event source
 * mapping model, publishing to the EventBridge model, with its faults (a crash after PutEvents).
 * The harness records around it which stream record holds which event and how many invocations
 * failed each record: the oracle's evidence, not the mapping model's own word.
 */
import type { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import type { PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import { silentLogger } from "../../runtime/logger";
import { createRelayHandler, DynamoDBStreamEvent, PutEventsPort } from "../../runtime/relay";
import type { SimClock } from "./clock";
import type { EventBridgeModel } from "./eventbridge-model";
import type { FaultProfile } from "./faults";
import { draw } from "./random";
import { InvocationResult, StreamEventSourceMapping } from "./stream-event-source";

export interface RelayWiringOptions {
  seed: number;
  faults: FaultProfile;
  clock: SimClock;
  streams: DynamoDBStreamsClient;
  streamArn: string;
  bus: EventBridgeModel;
  keyOf: (id: string) => string;
  inject: (name: string) => void;
  sourceFinished: () => boolean;
  /** The stack's event source mapping settings (relayBatchSize, relayBatchWindowSeconds, relayMaximumRetryAttempts). */
  settings: { batchSize: number; batchWindowMs: number; maximumRetryAttempts: number };
  /** Sees every entry EventBridge accepted from the relay. */
  onPublished?: (entry: PutEventsRequestEntry) => void;
  /** The mapping's on-failure destination (the relay redrive's queue). */
  onFailureDestination?: (message: string) => void;
}

export interface RelayStage {
  mapping: StreamEventSourceMapping;
  /** Stream sequence number → event id, as the harness saw the records go by. */
  eventOfSequence: Map<string, string>;
  /**
   * Event id → relay invocations that included its record and did not succeed whole (a function
   * error or any reported failure), counted by the harness. Lambda counts retries per batch, and a
   * record after the lowest failure is retried although it may itself have been published.
   */
  relayFailures: Map<string, number>;
  relayMaximumRetryAttempts: number;
}

const never = () => new Promise<never>(() => {});

export function wireRelay(w: RelayWiringOptions): RelayStage {
  const { seed, faults: f, clock, bus, keyOf, inject } = w;
  const invocationsByEvent = new Map<string, number>();
  const eventOfSequence = new Map<string, string>();
  const relayFailures = new Map<string, number>();
  const countRelayFailure = (id: string) => relayFailures.set(id, (relayFailures.get(id) ?? 0) + 1);
  const invokeRelayOnce = (event: DynamoDBStreamEvent): Promise<InvocationResult> =>
    (async () => {
      const firstId = event.Records[0]?.dynamodb?.Keys?.event_id?.S ?? "?";
      const n = (invocationsByEvent.get(firstId) ?? 0) + 1;
      invocationsByEvent.set(firstId, n);
      let crash!: (reason: string) => void;
      const crashed = new Promise<InvocationResult>((resolve) => (crash = (reason) => resolve({ kind: "function-error", reason })));
      let dead = false;
      let request = 0;
      let started = 0;
      // A timeout part-way through the batch (Lambda: "Task timed out"; a function error, so the
      // mapping bisects): the invocation dies as it is about to send request `timeoutBefore` (0: the
      // first), so the requests sent before it were published and the rest of the batch was not.
      // The relay packs at most 10 entries per request.
      const requests = Math.ceil(event.Records.length / 10);
      const timeoutBefore =
        draw(seed, `relay-timeout:${keyOf(firstId)}:${n}`) < f.relayTimeoutMidBatch ? Math.floor(draw(seed, `relay-timeout-at:${keyOf(firstId)}:${n}`) * requests) : -1;
      const port: PutEventsPort = {
        send: async (command) => {
          if (dead) throw new Error("invocation already ended");
          // Up to four requests are in flight at once: those already sent still land.
          if (started++ === timeoutBefore) {
            inject("relay timed out mid-batch (function error)");
            dead = true;
            crash(`relay timed out before PutEvents request ${timeoutBefore + 1} of ${requests}`);
            return never();
          }
          const output = await bus.putEvents(command);
          request++;
          (command.input.Entries ?? []).forEach((entry, i) => {
            if (!output.Entries?.[i]?.ErrorCode) w.onPublished?.(entry);
          });
          if (draw(seed, `relay-crash:${keyOf(firstId)}:${n}:${request}`) < f.relayCrashAfterPutEvents) {
            // PutEvents accepted the entries; the invocation dies before it can return.
            inject("relay crash after PutEvents");
            dead = true;
            crash("relay crashed after PutEvents");
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
  const invokeRelay = (event: DynamoDBStreamEvent): Promise<InvocationResult> =>
    clock.busy(async () => {
      for (const r of event.Records) {
        const seq = r.dynamodb?.SequenceNumber;
        const id = r.dynamodb?.Keys?.event_id?.S;
        if (seq && id) eventOfSequence.set(seq, id);
      }
      const result = await invokeRelayOnce(event);
      if (result.kind === "function-error" || result.response.batchItemFailures.length > 0) {
        for (const r of event.Records) countRelayFailure(r.dynamodb?.Keys?.event_id?.S ?? "?");
      }
      return result;
    });
  const relayMaximumRetryAttempts = w.settings.maximumRetryAttempts;
  const mapping = new StreamEventSourceMapping({
    clock,
    streams: w.streams,
    streamArn: w.streamArn,
    onFailureDestination: w.onFailureDestination,
    invoke: invokeRelay,
    sourceFinished: w.sourceFinished,
    batchSize: w.settings.batchSize,
    // Lambda polls a stream shard about four times a second; the batching window holds a batch longer.
    pollIntervalMs: Math.max(250, w.settings.batchWindowMs),
    maximumRetryAttempts: relayMaximumRetryAttempts,
    bisectBatchOnFunctionError: true,
  });
  return { mapping, eventOfSequence, relayFailures, relayMaximumRetryAttempts };
}
