/**
 * What the idempotency Redis really did, recorded at the command level of the ioredis client the
 * store uses (not from the consumer's report): every script call on a key of the run, with its
 * arguments, the simulated time it was sent and answered, and Redis's reply. The oracle judges
 * mutual exclusion and repeated effects from these records, and audits the keys Redis holds.
 *
 * Which script a call is, is read off the wire: EVALSHA carries the script's SHA-1 and EVAL its
 * source, both matched against runtime/idempotency-store.ts IDEMPOTENCY_SCRIPTS (a complete and a
 * release send the same number of arguments, so their shape cannot tell them apart).
 */
import { createHash } from "crypto";
import { IDEMPOTENCY_SCRIPTS } from "../../runtime/idempotency-store";
import type Redis from "ioredis";

export interface StoreCall {
  op: "claim" | "complete" | "release";
  key: string;
  token: string;
  /** Lease (claim) or dedupe window (complete) in ms, as sent to Redis. */
  ms: number;
  sentAt: number;
  repliedAt: number;
  /** First element of the reply (claim) or the reply (complete, release); "error" when the call failed. */
  reply: string;
  /** The delivery the call was made for (from the async context), when known. */
  delivery?: unknown;
  /** A claim answered `in-progress`: the lease Redis said the other holder still has, in ms. */
  retryAfterMs?: number;
}

export interface StoreObserver {
  readonly calls: StoreCall[];
  byKey(key: string): StoreCall[];
  stop(): void;
}

type SendCommand = Redis["sendCommand"];
interface CommandLike {
  name: string;
  args: unknown[];
  promise: Promise<unknown>;
}

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");
const SCRIPT_OPS = new Map<string, StoreCall["op"]>(
  (Object.entries(IDEMPOTENCY_SCRIPTS) as [StoreCall["op"], string][]).flatMap(([op, lua]) => [
    [sha1(lua), op],
    [lua, op],
  ]),
);

export function observeStore(client: Redis, keyPrefix: string, now: () => number, deliveryOf: () => unknown): StoreObserver {
  const calls: StoreCall[] = [];
  const index = new Map<string, StoreCall[]>();
  const original = client.sendCommand;
  client.sendCommand = function (this: Redis, command: Parameters<SendCommand>[0], stream?: Parameters<SendCommand>[1]) {
    const c = command as unknown as CommandLike;
    const result = original.call(this, command, stream);
    const name = c.name.toLowerCase();
    if ((name === "evalsha" || name === "eval") && typeof c.args[2] === "string" && c.args[2].startsWith(keyPrefix)) {
      const key = c.args[2];
      const token = String(c.args[3]);
      const ms = Number(c.args[4]);
      const sentAt = now();
      const delivery = deliveryOf();
      const record = (reply: unknown, failed: boolean) => {
        // Which script ran is read off the wire (EVALSHA's digest, or EVAL's source), not from the reply.
        const op = SCRIPT_OPS.get(String(c.args[0]));
        if (op === undefined) return;
        const text = failed ? "error" : String(Array.isArray(reply) ? reply[0] : reply);
        const call: StoreCall = { op, key, token, ms, sentAt, repliedAt: now(), reply: failed ? "error" : text, delivery };
        if (op === "claim" && text === "in-progress" && Array.isArray(reply)) call.retryAfterMs = Number(reply[1]);
        calls.push(call);
        const list = index.get(key) ?? [];
        list.push(call);
        index.set(key, list);
      };
      // ioredis retries a NOSCRIPT as EVAL internally; the reply that counts is the final one.
      c.promise.then(
        (reply) => record(reply, false),
        () => record(undefined, true),
      );
    }
    return result;
  } as SendCommand;
  return {
    calls,
    byKey: (key) => index.get(key) ?? [],
    stop: () => {
      client.sendCommand = original;
    },
  };
}

/** The idempotency keys Redis holds now: value and remaining TTL in ms (-1: no expiry). */
export async function snapshotKeys(client: Redis, keyPrefix: string): Promise<Map<string, { value: string; pttl: number }>> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await retryTimeouts(() => client.scan(cursor, "MATCH", `${keyPrefix}*`, "COUNT", 1000));
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  const out = new Map<string, { value: string; pttl: number }>();
  for (let i = 0; i < keys.length; i += 500) {
    const chunk = keys.slice(i, i + 500);
    const pipeline = client.pipeline();
    for (const k of chunk) pipeline.get(k).pttl(k);
    const replies = (await retryTimeouts(() => pipeline.exec())) ?? [];
    chunk.forEach((k, j) => {
      const value = replies[2 * j]?.[1];
      const pttl = replies[2 * j + 1]?.[1];
      if (typeof value === "string") out.set(k, { value, pttl: Number(pttl) });
    });
  }
  return out;
}

/**
 * The harness's own reads and the catch-up share the consumer's client and its 2 s command timeout;
 * on a loaded machine one can outlast it. They are idempotent (reads, and aging recorded per key in
 * the offsets hash), so a timed-out call is sent again rather than aborting the run.
 */
export async function retryTimeouts<T>(call: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await call();
    } catch (error) {
      if (i >= attempts || !/timed out/i.test(String((error as Error)?.message))) throw error;
    }
  }
}
