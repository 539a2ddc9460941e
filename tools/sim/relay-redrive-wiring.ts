/**
 * The relay redrive inside a run: the mapping model's discarded batches go, as Lambda's on-failure
 * message (ranges only), into a local SQS queue (tools/local-servers/sqs-endpoint.ts), and an
 * operator runs the REAL `npm run redrive -- relay` code (tools/redrive/relay.ts) against it, the
 * outbox stream in DynamoDB Local and the EventBridge model, a minute after each parking and again
 * every two simulated minutes while ranges stay parked. The count does not read what the redrive
 * reports: a parked event counts as lost unless its effect was applied (the ledger).
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { redriveRelayFailures, RelayRedriveSummary } from "../redrive/relay";
import { SqsEndpoint, startSqsEndpoint } from "../local-servers/sqs-endpoint";
import type { SimClock } from "./clock";
import type { EventBridgeModel } from "./eventbridge-model";

/** When the alarm on the failure queue has someone run the redrive (simulated). */
const OPERATOR_DELAY_MS = 60_000;
/** Between runs while ranges stay parked (simulated). */
const RERUN_DELAY_MS = 2 * 60_000;
/** Runs after which the operator gives up; what is still parked then is lost. */
const MAX_RUNS = 8;

export interface RelayRedriveStage {
  /** The mapping's on-failure destination. */
  park: (message: string) => void;
  /** Redrives until the mapping is done and the queue is empty (or MAX_RUNS). */
  run: (mappingDone: () => boolean) => Promise<void>;
  idle: () => boolean;
  runs: RelayRedriveSummary[];
  /** Messages still in the failure queue (measured on the queue, not from the redrive's summary). */
  left: () => number;
  close: () => Promise<void>;
}

export async function startRelayRedrive(o: {
  clock: SimClock;
  streams: DynamoDBStreamsClient;
  dynamodb: DynamoDBClient;
  outboxTable: string;
  bus: EventBridgeModel;
  busName: string;
}): Promise<RelayRedriveStage> {
  const sqs: SqsEndpoint = await startSqsEndpoint("mesh-sim-relay-failures");
  const client = sqs.client();
  const runs: RelayRedriveSummary[] = [];
  let running = false;
  let gaveUp = false;
  return {
    park: (message) => void sqs.send(message),
    runs,
    idle: () => !running && (gaveUp || sqs.messages.length === 0),
    left: () => sqs.messages.length,
    run: async (mappingDone) => {
      for (;;) {
        if (sqs.messages.length === 0) {
          if (mappingDone()) return;
          await o.clock.sleep(5_000);
          continue;
        }
        running = true;
        await o.clock.sleep(runs.length === 0 ? OPERATOR_DELAY_MS : RERUN_DELAY_MS);
        // The SQS endpoint keeps visibility in real time; the next run comes after any timeout.
        sqs.expireVisibility();
        runs.push(
          await o.clock.busy(
            redriveRelayFailures({
              sqs: client,
              queueUrl: sqs.queueUrl,
              streams: o.streams,
              dynamodb: o.dynamodb,
              outboxTableName: o.outboxTable,
              eventBridge: o.bus.port(),
              busName: o.busName,
              dryRun: false,
              roundDelayMs: 100,
              entryRetryBaseDelayMs: 5,
              now: () => o.clock.now(),
              print: () => {},
            }),
          ),
        );
        running = false;
        if (runs.length >= MAX_RUNS) {
          gaveUp = true;
          return;
        }
      }
    },
    close: async () => {
      client.destroy();
      await sqs.stop();
    },
  };
}
