/**
 * State and outbox together, read back from DynamoDB Local at the end of a run (not from what the
 * producer believes): a commit that the producer saw succeed has its state record (the order,
 * PLACED) and every one of its events in the outbox; a commit that was refused left the order as it
 * was (LOCKED) and no event of it in the outbox. An event without its state, or state without its
 * events, is what writing the two in separate transactions produces.
 */
import { DynamoDBClient, ScanCommand, ScanCommandOutput } from "@aws-sdk/client-dynamodb";

async function scanAll(dynamodb: DynamoDBClient, table: string, attribute: string, extra?: string): Promise<Map<string, string | undefined>> {
  const out = new Map<string, string | undefined>();
  let start: ScanCommandOutput["LastEvaluatedKey"];
  do {
    const page = await dynamodb.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) out.set(item[attribute]?.S ?? "?", extra ? item[extra]?.S : undefined);
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}

export async function checkStateAndOutbox(
  dynamodb: DynamoDBClient,
  tables: { outbox: string; orders: string },
  commits: readonly { orderId: string; eventIds: readonly string[] }[],
  committed: (eventId: string) => boolean,
  refused: (eventId: string) => boolean,
): Promise<string[]> {
  const [outbox, orders] = await Promise.all([scanAll(dynamodb, tables.outbox, "event_id"), scanAll(dynamodb, tables.orders, "order_id", "status")]);
  const problems: string[] = [];
  for (const c of commits) {
    const status = orders.get(c.orderId);
    const inOutbox = c.eventIds.filter((id) => outbox.has(id));
    if (c.eventIds.every(refused)) {
      if (status !== "LOCKED") problems.push(`order ${c.orderId}: commit refused, but its state is ${status ?? "missing"}`);
      if (inOutbox.length > 0) problems.push(`order ${c.orderId}: commit refused, but ${inOutbox.length} of its events are in the outbox`);
    } else if (c.eventIds.every(committed)) {
      if (status !== "PLACED") problems.push(`order ${c.orderId}: committed, but its state is ${status ?? "missing"}`);
      if (inOutbox.length !== c.eventIds.length) problems.push(`order ${c.orderId}: committed, but ${c.eventIds.length - inOutbox.length} of its events are not in the outbox`);
    } else if (status === "PLACED" ? inOutbox.length !== c.eventIds.length : inOutbox.length > 0) {
      problems.push(`order ${c.orderId}: state ${status ?? "missing"} with ${inOutbox.length} of ${c.eventIds.length} events in the outbox`);
    }
  }
  return problems;
}
