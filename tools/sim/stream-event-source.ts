/**
 * MODEL of a Lambda event source mapping on a DynamoDB stream, polling the REAL stream of the
 * outbox table in DynamoDB Local (DescribeStream, GetShardIterator, GetRecords) and invoking the
 * REAL relay handler (runtime/relay.ts). Modelled, as documented for stream mappings with
 * `FunctionResponseTypes: ["ReportBatchItemFailures"]`:
 * - Records of a shard are processed in order, in batches of at most BatchSize (100).
 * - A partial batch response checkpoints just before the LOWEST reported sequence number; the
 *   records from there on are invoked again (the ones after it are re-published: duplicates).
 * - A function error (the invocation threw, crashed or timed out) fails the whole batch; with
 *   BisectBatchOnFunctionError the batch is split in two and each half retried (splitting does not
 *   count towards the retry quota).
 * - After MaximumRetryAttempts retries the batch is discarded and its metadata goes to the
 *   on-failure destination in the shape Lambda documents (Lambda Developer Guide, "Retaining
 *   discarded records for a DynamoDB event source": `DDBStreamBatchInfo` with shard id, first and
 *   last sequence number, approximate arrival of the first and last record, batch size, stream
 *   ARN); no record and no event id travels with it. The shard then moves on.
 * Assumptions, not documented by AWS and named here: a retry re-invokes the same records (Lambda
 * may refill the batch with newer records), and retries back off 0.5 s, doubling up to 30 s.
 *
 * Like a stream consumer (and the mapping) does, a poll continues from the NextShardIterator of the
 * previous GetRecords when the checkpoint is where that read ended, and describes the stream again
 * only when it knows no shard yet or a shard has closed: one DynamoDB Local call per poll instead
 * of three, the same records in the same order (docs/simulation.md "Speed").
 */
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from "@aws-sdk/client-dynamodb-streams";
import type { DynamoDBStreamEvent, DynamoDBStreamRecord, StreamBatchResponse } from "../../runtime/relay";
import { compareSequenceNumbers } from "../../runtime/relay";
import { toLambdaRecord } from "../local-servers/dynamodb-streams";
import type { SimClock } from "./clock";

export type InvocationResult = { kind: "response"; response: StreamBatchResponse } | { kind: "function-error"; reason: string };

export interface OnFailureRecord {
  shardId: string;
  startSequenceNumber: string;
  endSequenceNumber: string;
  approximateArrivalOfFirstRecord: string;
  approximateArrivalOfLastRecord: string;
  batchSize: number;
  streamArn: string;
  reason: string;
}

/** The message Lambda sends to an SQS on-failure destination for a discarded stream batch. */
export function onFailureMessage(r: OnFailureRecord, functionArn: string, at: Date): string {
  return JSON.stringify({
    requestContext: { requestId: `${r.shardId}-${r.startSequenceNumber}`, functionArn, condition: "RetryAttemptsExhausted", approximateInvokeCount: 1 },
    responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: r.reason.includes("partial") ? undefined : "Unhandled" },
    version: "1.0",
    timestamp: at.toISOString(),
    DDBStreamBatchInfo: {
      shardId: r.shardId,
      startSequenceNumber: r.startSequenceNumber,
      endSequenceNumber: r.endSequenceNumber,
      approximateArrivalOfFirstRecord: r.approximateArrivalOfFirstRecord,
      approximateArrivalOfLastRecord: r.approximateArrivalOfLastRecord,
      batchSize: r.batchSize,
      streamArn: r.streamArn,
    },
  });
}

function arrivalOf(record: DynamoDBStreamRecord): string {
  const seconds = record.dynamodb?.ApproximateCreationDateTime;
  return new Date((seconds ?? 0) * 1000).toISOString().replace(/\.\d+Z$/, "Z");
}

export interface StreamEventSourceOptions {
  clock: SimClock;
  streams: DynamoDBStreamsClient;
  streamArn: string;
  invoke: (event: DynamoDBStreamEvent) => Promise<InvocationResult>;
  /** True once no more records can be written. */
  sourceFinished: () => boolean;
  batchSize?: number;
  maximumRetryAttempts?: number;
  bisectBatchOnFunctionError?: boolean;
  /** The batching window: how long a shard waits after a batch that was not full. Default 250 ms. */
  pollIntervalMs?: number;
  /** The on-failure destination: receives each discarded batch's message (onFailureMessage). */
  onFailureDestination?: (message: string, record: OnFailureRecord) => void;
}

export class StreamEventSourceMapping {
  readonly onFailure: OnFailureRecord[] = [];
  invocations = 0;
  functionErrors = 0;
  partialFailures = 0;
  bisections = 0;
  retriedRecords = 0;
  private readonly checkpoints = new Map<string, string | undefined>();
  /** Per shard: the iterator that continues the last read, valid while the checkpoint is `after`. */
  private readonly continuations = new Map<string, { iterator: string; after: string | undefined }>();
  private shards: string[] | undefined;
  private readErrors = 0;
  private readonly batchSize: number;
  private readonly maxRetries: number;
  private readonly bisect: boolean;
  private readonly pollMs: number;

  constructor(private readonly o: StreamEventSourceOptions) {
    this.batchSize = o.batchSize ?? 100;
    this.maxRetries = o.maximumRetryAttempts ?? 10;
    this.bisect = o.bisectBatchOnFunctionError ?? true;
    this.pollMs = o.pollIntervalMs ?? 250;
  }

  /** Polls until the source is finished and every record has been processed or discarded. */
  async run(): Promise<void> {
    const clock = this.o.clock;
    for (;;) {
      const finishedBefore = this.o.sourceFinished();
      if (this.shards === undefined) {
        const description = await clock.busy(this.o.streams.send(new DescribeStreamCommand({ StreamArn: this.o.streamArn })));
        const shards = (description.StreamDescription?.Shards ?? []).map((shard) => shard.ShardId!);
        // A stream with no shard yet is described again at the next poll.
        this.shards = shards.length > 0 ? shards : undefined;
      }
      let read = 0;
      let failedReads = 0;
      for (const shardId of this.shards ?? []) {
        const records = await clock.busy(() => this.read(shardId));
        if (records === undefined) {
          failedReads++;
          continue;
        }
        read += records.length;
        if (records.length > 0) await this.process(shardId, records);
      }
      if (read === 0 && finishedBefore && failedReads === 0) return;
      // A batch that was not full waits out the batching window before the next read (MaximumBatchingWindowInSeconds).
      if (read < this.batchSize) await clock.sleep(this.pollMs);
    }
  }

  /** The next records after the checkpoint; undefined when the read failed (try again later). */
  private async read(shardId: string): Promise<DynamoDBStreamRecord[] | undefined> {
    const after = this.checkpoints.get(shardId);
    const continuation = this.continuations.get(shardId);
    this.continuations.delete(shardId);
    let shardIterator = continuation !== undefined && continuation.after === after ? continuation.iterator : undefined;
    if (shardIterator === undefined) {
      const iterator = await this.o.streams.send(
        new GetShardIteratorCommand({
          StreamArn: this.o.streamArn,
          ShardId: shardId,
          ...(after ? { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", SequenceNumber: after } : { ShardIteratorType: "TRIM_HORIZON" }),
        }),
      );
      if (!iterator.ShardIterator) {
        this.shards = undefined;
        return [];
      }
      shardIterator = iterator.ShardIterator;
    }
    let page;
    try {
      page = await this.o.streams.send(new GetRecordsCommand({ ShardIterator: shardIterator, Limit: this.batchSize }));
    } catch (error) {
      // An expired iterator (DynamoDB's last 15 minutes of real time): read again from the checkpoint.
      if ((error as Error).name === "ExpiredIteratorException" && shardIterator === continuation?.iterator) return undefined;
      // DynamoDB Local occasionally answers TrimmedDataAccessException for a brand-new stream
      // read at TRIM_HORIZON. The checkpoint has not moved, so reading again later is safe;
      // persistent failures end the run.
      if ((error as Error).name !== "TrimmedDataAccessException" || ++this.readErrors > 20) throw error;
      return undefined;
    }
    this.readErrors = 0;
    const records = page.Records ?? [];
    // A closed shard has no next iterator: describe the stream again to find its children.
    if (page.NextShardIterator) this.continuations.set(shardId, { iterator: page.NextShardIterator, after: records.length > 0 ? records[records.length - 1].dynamodb!.SequenceNumber! : after });
    else this.shards = undefined;
    return records.map((r) => toLambdaRecord(r, this.o.streamArn));
  }

  private checkpoint(shardId: string, record: DynamoDBStreamRecord): void {
    this.checkpoints.set(shardId, record.dynamodb!.SequenceNumber!);
  }

  private async process(shardId: string, records: DynamoDBStreamRecord[]): Promise<void> {
    let pending = records;
    let retries = 0;
    while (pending.length > 0) {
      this.invocations++;
      const result = await this.o.invoke({ Records: pending });
      if (result.kind === "response") {
        const failed = result.response.batchItemFailures.map((f) => f.itemIdentifier).sort(compareSequenceNumbers);
        if (failed.length === 0) {
          this.checkpoint(shardId, pending[pending.length - 1]);
          return;
        }
        this.partialFailures++;
        const index = pending.findIndex((r) => r.dynamodb?.SequenceNumber === failed[0]);
        if (index > 0) {
          this.checkpoint(shardId, pending[index - 1]);
          pending = pending.slice(index);
        }
        // An identifier that is not in the batch counts as a failure of the whole batch (as Lambda does).
      } else {
        this.functionErrors++;
        if (this.bisect && pending.length > 1) {
          this.bisections++;
          const middle = Math.ceil(pending.length / 2);
          await this.process(shardId, pending.slice(0, middle));
          await this.process(shardId, pending.slice(middle));
          return;
        }
      }
      retries++;
      if (retries > this.maxRetries) {
        const parked: OnFailureRecord = {
          shardId,
          startSequenceNumber: pending[0].dynamodb!.SequenceNumber!,
          endSequenceNumber: pending[pending.length - 1].dynamodb!.SequenceNumber!,
          approximateArrivalOfFirstRecord: arrivalOf(pending[0]),
          approximateArrivalOfLastRecord: arrivalOf(pending[pending.length - 1]),
          batchSize: pending.length,
          streamArn: this.o.streamArn,
          reason: result.kind === "response" ? "RetryAttemptsExhausted (partial batch failure)" : `RetryAttemptsExhausted (${result.reason})`,
        };
        this.onFailure.push(parked);
        this.o.onFailureDestination?.(onFailureMessage(parked, "arn:aws:lambda:eu-west-1:123456789012:function:mesh-sim-relay", new Date(this.o.clock.now())), parked);
        this.checkpoint(shardId, pending[pending.length - 1]);
        return;
      }
      this.retriedRecords += pending.length;
      await this.o.clock.sleep(Math.min(30_000, 500 * 2 ** (retries - 1)));
    }
  }
}
