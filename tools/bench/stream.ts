/**
 * The message stream both benchmarks feed their consumers (bench-consumer: Redis; bench-idempotency:
 * DynamoDB): seeded, so every side and every run sees the same stream, with duplicates arriving
 * late as EventBridge retries and replays do.
 */
import { randomUUID } from "crypto";

/** Seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An EventBridge event carrying a mesh envelope (the shape the consumers parse). */
export function envelopeBody(eventId: string, source: string): string {
  const timestamp = new Date().toISOString();
  return JSON.stringify({
    version: "0",
    id: randomUUID(),
    "detail-type": "OrderPlaced",
    source,
    account: "123456789012",
    time: timestamp,
    region: "eu-west-1",
    resources: [],
    detail: {
      metadata: { event_id: eventId, type: "OrderPlaced", source, timestamp, schema_version: "1.0" },
      data: { orderId: eventId.slice(0, 8), amountCents: 1299, lines: [{ sku: "A-1", qty: 2 }] },
    },
  });
}

export interface StreamMessage {
  body: string;
  eventId: string;
  duplicate: boolean;
}

export interface StreamOptions {
  events: number;
  /** Share of the messages that repeat an earlier event. */
  duplicateShare: number;
  /** A duplicate repeats an event at least this many messages earlier. */
  minDuplicateDistance: number;
  seed: number;
  source: string;
}

export function makeStream(options: StreamOptions): StreamMessage[] {
  const random = prng(options.seed);
  const distance = options.minDuplicateDistance;
  const stream: StreamMessage[] = [];
  for (let i = 0; i < options.events; i++) {
    if (i >= distance && random() < options.duplicateShare) {
      const original = stream[Math.floor(random() * (i - distance))];
      stream.push({ body: envelopeBody(original.eventId, options.source), eventId: original.eventId, duplicate: true });
    } else {
      const eventId = randomUUID();
      stream.push({ body: envelopeBody(eventId, options.source), eventId, duplicate: false });
    }
  }
  return stream;
}

/** The q-quantile of an ascending list (NaN when empty). */
export const quantile = (sorted: number[], q: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);
export const median = (xs: number[]): number => quantile([...xs].sort((a, b) => a - b), 0.5);
