/**
 * Consumer benchmark: our claim/complete consumer against the source design's SET NX consumer,
 * side by side, on a redis-server this script starts on a free port.
 *
 *   npm run bench:consumer            (BENCH_MESSAGES=20000 BENCH_ROUNDS=3 to change the size)
 *
 * For each consumer and each stream (all unique; 30 % duplicates) it reports messages per second
 * with 16 messages in flight, and Redis round trips per message, counted for real: every command
 * the ioredis client sends is attributed (AsyncLocalStorage) to the message being handled, and the
 * server's INFO commandstats confirms the totals. The handler does nothing, so the figures are the
 * idempotency overhead alone. A script that prints figures, not a timed test.
 */
import { AsyncLocalStorage } from "async_hooks";
import Redis from "ioredis";
import { createConsumer, ConsumerMessage, Settlement } from "../runtime/consumer";
import { createRedisIdempotencyStore, CONSUMER_REDIS_OPTIONS } from "../runtime/idempotency-store";
import { createNaiveSetNxConsumer } from "../runtime/naive-setnx-consumer";
import { silentLogger } from "../runtime/logger";
import { makeStream as makeMessageStream, median, type StreamMessage } from "./bench/stream";
import { startRedisServer } from "./local-servers/redis-server";

const IN_FLIGHT = 16;
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DUPLICATE_SHARE = 0.3;
// Duplicates in the wild are EventBridge retries and replays: they arrive after the original.
const MIN_DUPLICATE_DISTANCE = 4 * IN_FLIGHT;

interface Tally {
  commands: number;
}
const perMessage = new AsyncLocalStorage<Tally>();

/** A message stream: `duplicateShare` of the messages repeat an event seen at least MIN_DUPLICATE_DISTANCE earlier. */
function makeStream(count: number, duplicateShare: number, seed: number): StreamMessage[] {
  return makeMessageStream({ events: count, duplicateShare, minDuplicateDistance: MIN_DUPLICATE_DISTANCE, seed, source: "com.example.orders" });
}

type Handle = (message: ConsumerMessage, settle: Settlement) => Promise<{ kind: string }>;

interface RunResult {
  seconds: number;
  perSecond: number;
  roundTrips: number;
  byKind: Record<string, { messages: number; roundTrips: number }>;
  serverTopLevel: number;
  redeliveries: number;
}

/**
 * Calls of the commands a consumer sends itself, from the server's INFO commandstats. Only those:
 * commandstats also counts the GET/SET a Lua script runs inside, which are not round trips.
 */
async function countServerCommands(admin: Redis, sentByClient: readonly string[]): Promise<number> {
  const info = await admin.info("commandstats");
  let total = 0;
  for (const line of info.split("\n")) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m && sentByClient.includes(m[1])) total += Number(m[2]);
  }
  return total;
}

async function run(handle: Handle, stream: { body: string; duplicate: boolean }[], admin: Redis, sentByClient: readonly string[]): Promise<RunResult> {
  const noop: Settlement = { complete: async () => {}, abandon: async () => {}, deadLetter: async () => {} };
  const queue = stream.map((m, i) => ({ message: { body: m.body, messageId: String(i), deliveryCount: 1 } as ConsumerMessage }));
  const byKind: RunResult["byKind"] = {};
  let redeliveries = 0;
  let next = 0;
  const serverBefore = await countServerCommands(admin, sentByClient);
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < queue.length) {
        const item = queue[next++];
        const tally: Tally = { commands: 0 };
        const outcome = await perMessage.run(tally, () => handle(item.message, noop));
        const k = (byKind[outcome.kind] ??= { messages: 0, roundTrips: 0 });
        k.messages++;
        k.roundTrips += tally.commands;
        if (outcome.kind !== "processed" && outcome.kind !== "duplicate") {
          // Not settled for good (e.g. in progress elsewhere): it comes back, as Service Bus would.
          redeliveries++;
          queue.push({ message: { ...item.message, deliveryCount: (item.message.deliveryCount ?? 1) + 1 } });
        }
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const serverAfter = await countServerCommands(admin, sentByClient);
  const roundTrips = Object.values(byKind).reduce((s, k) => s + k.roundTrips, 0);
  return { seconds, perSecond: stream.length / seconds, roundTrips, byKind, serverTopLevel: serverAfter - serverBefore, redeliveries };
}


async function main(): Promise<void> {
  const server = await startRedisServer();
  const connect = () =>
    new Promise<Redis>((resolve, reject) => {
      const client = new Redis({ host: server.host, port: server.port, ...CONSUMER_REDIS_OPTIONS });
      client.once("ready", () => resolve(client));
      client.once("error", reject);
    });
  const redis = await connect();
  const admin = await connect();
  // Attribute every command the client sends to the message whose handling sent it.
  const send = redis.sendCommand;
  redis.sendCommand = function (this: Redis, ...args: Parameters<Redis["sendCommand"]>) {
    const tally = perMessage.getStore();
    if (tally) tally.commands++;
    return send.apply(this, args);
  } as Redis["sendCommand"];

  try {
    const ours = createConsumer({
      store: createRedisIdempotencyStore(redis),
      handler: async () => {},
      logger: silentLogger,
      messageLockMs: 30_000,
    });
    const naive = createNaiveSetNxConsumer({ redis, handler: async () => {} });
    const consumers: [string, Handle, string[]][] = [
      ["claim/complete (ours)", (m, s) => ours.handle(m, s), ["evalsha", "eval"]],
      ["SET NX (naive)", (m, s) => naive.handle(m, s), ["set"]],
    ];
    const streams: [string, number][] = [
      ["unique", 0],
      ["30% duplicates", DUPLICATE_SHARE],
    ];

    console.log(`redis-server ${server.host}:${server.port}, ${MESSAGES} messages per run, ${IN_FLIGHT} in flight, median of ${ROUNDS} rounds`);
    // Warm-up: JIT, script cache, connection.
    for (const [, handle, sent] of consumers) await run(handle, makeStream(2000, DUPLICATE_SHARE, 7), admin, sent);

    const rows: { consumer: string; stream: string; rate: number; result: RunResult }[] = [];
    for (const [streamName, share] of streams) {
      const stream = makeStream(MESSAGES, share, 42);
      const rates = new Map<string, number[]>();
      const last = new Map<string, RunResult>();
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate the order so neither consumer always runs on a warmer process.
        const order = round % 2 === 0 ? consumers : [...consumers].reverse();
        for (const [name, handle, sent] of order) {
          await admin.flushall();
          const result = await run(handle, stream, admin, sent);
          rates.set(name, [...(rates.get(name) ?? []), result.perSecond]);
          last.set(name, result);
        }
      }
      for (const [name] of consumers) rows.push({ consumer: name, stream: streamName, rate: median(rates.get(name)!), result: last.get(name)! });
    }

    const header = ["consumer", "stream", "msg/s", "vs naive", "RT/msg", "RT/new", "RT/dup", "server RT/msg", "redelivered"];
    const table = rows.map((r) => {
      const naiveRow = rows.find((x) => x.stream === r.stream && x.consumer.startsWith("SET NX"))!;
      const k = r.result.byKind;
      const perKind = (kind: string) => (k[kind] ? (k[kind].roundTrips / k[kind].messages).toFixed(2) : "-");
      return [
        r.consumer,
        r.stream,
        r.rate.toFixed(0),
        `${((r.rate / naiveRow.rate) * 100).toFixed(0)}%`,
        (r.result.roundTrips / MESSAGES).toFixed(2),
        perKind("processed"),
        perKind("duplicate"),
        (r.result.serverTopLevel / MESSAGES).toFixed(2),
        String(r.result.redeliveries),
      ];
    });
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
    console.log(line(header));
    console.log(widths.map((w) => "-".repeat(w)).join("  "));
    for (const row of table) console.log(line(row));

    const ourRows = rows.filter((r) => r.consumer.includes("ours"));
    const perKind = (r: (typeof rows)[number], kind: string) => (r.result.byKind[kind] ? r.result.byKind[kind].roundTrips / r.result.byKind[kind].messages : 0);
    const maxNew = Math.max(...ourRows.map((r) => perKind(r, "processed")));
    const maxDup = Math.max(...ourRows.map((r) => perKind(r, "duplicate")));
    const minShare = Math.min(...ourRows.map((r) => r.rate / rows.find((x) => x.stream === r.stream && x.consumer.startsWith("SET NX"))!.rate));
    console.log("");
    console.log(`targets: ≤ 2 round trips per new message: ${maxNew.toFixed(2)} ${maxNew <= 2 ? "met" : "MISSED"}; ` +
      `≤ 1 per duplicate: ${maxDup.toFixed(2)} ${maxDup <= 1 ? "met" : "MISSED"}; ` +
      `≥ 50% of the naive rate at ${IN_FLIGHT} in flight: ${(minShare * 100).toFixed(0)}% ${minShare >= 0.5 ? "met" : "MISSED"}`);
    console.log("(the naive consumer is faster because it does less: it loses an event whenever a handler fails; see test/runtime/consumer.test.ts)");
  } finally {
    redis.disconnect();
    admin.disconnect();
    await server.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
