import {
  AttributeValue,
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  _Record,
} from "@aws-sdk/client-dynamodb-streams";
import type { DynamoDBStreamEvent, DynamoDBStreamRecord, StreamAttributeValue } from "../../runtime/relay";

/**
 * Reads a DynamoDB Local stream back with GetRecords and turns the records into the event Lambda
 * hands a stream-triggered function: same record fields, `eventSourceARN` added,
 * ApproximateCreationDateTime as epoch seconds, binary attributes base64-encoded (Lambda delivers
 * JSON), exactly as the event source mapping does.
 */
export async function readStreamAsLambdaEvent(client: DynamoDBStreamsClient, streamArn: string): Promise<DynamoDBStreamEvent> {
  const description = await client.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const records: DynamoDBStreamRecord[] = [];
  for (const shard of description.StreamDescription?.Shards ?? []) {
    const iterator = await client.send(
      new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.ShardId, ShardIteratorType: "TRIM_HORIZON" }),
    );
    let next = iterator.ShardIterator;
    // DynamoDB Local returns everything in one page; loop anyway, stopping on the first empty page.
    for (let page = 0; next && page < 100; page++) {
      const result = await client.send(new GetRecordsCommand({ ShardIterator: next, Limit: 1000 }));
      const batch = result.Records ?? [];
      for (const r of batch) records.push(toLambdaRecord(r, streamArn));
      if (batch.length === 0) break;
      next = result.NextShardIterator;
    }
  }
  return { Records: records };
}

export function toLambdaRecord(record: _Record, streamArn: string): DynamoDBStreamRecord {
  const d = record.dynamodb ?? {};
  const image = (m?: Record<string, AttributeValue>) => (m ? mapValues(m) : undefined);
  const out: DynamoDBStreamRecord = {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion,
    eventSource: record.eventSource,
    awsRegion: record.awsRegion,
    eventSourceARN: streamArn,
    dynamodb: {
      ApproximateCreationDateTime: d.ApproximateCreationDateTime ? Math.floor(d.ApproximateCreationDateTime.getTime() / 1000) : undefined,
      Keys: image(d.Keys),
      NewImage: image(d.NewImage),
      OldImage: image(d.OldImage),
      SequenceNumber: d.SequenceNumber,
      SizeBytes: d.SizeBytes,
      StreamViewType: d.StreamViewType,
    },
  };
  // Lambda's JSON has no undefined members.
  return JSON.parse(JSON.stringify(out)) as DynamoDBStreamRecord;
}

function mapValues(m: Record<string, AttributeValue>): Record<string, StreamAttributeValue> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, toLambdaValue(v)]));
}

function toLambdaValue(v: AttributeValue): StreamAttributeValue {
  if (v.S !== undefined) return { S: v.S };
  if (v.N !== undefined) return { N: v.N };
  if (v.B !== undefined) return { B: Buffer.from(v.B).toString("base64") };
  if (v.BOOL !== undefined) return { BOOL: v.BOOL };
  if (v.NULL !== undefined) return { NULL: v.NULL };
  if (v.SS !== undefined) return { SS: v.SS };
  if (v.NS !== undefined) return { NS: v.NS };
  if (v.BS !== undefined) return { BS: v.BS.map((b) => Buffer.from(b).toString("base64")) };
  if (v.M !== undefined) return { M: mapValues(v.M) };
  if (v.L !== undefined) return { L: v.L.map(toLambdaValue) };
  throw new Error(`unsupported attribute value ${JSON.stringify(v)}`);
}
