import Redis, { RedisOptions } from "ioredis";
import { CONSUMER_REDIS_OPTIONS } from "../../runtime/idempotency-store";
import type { RedisServer } from "./redis-server";

/** An ioredis client configured the way the consumer expects, connected and ready. */
export async function connectRedis(server: RedisServer, extra: RedisOptions = {}): Promise<Redis> {
  const client = new Redis({
    host: server.host,
    port: server.port,
    ...CONSUMER_REDIS_OPTIONS,
    // Reconnect quickly in tests that restart the server.
    retryStrategy: (times: number) => Math.min(times * 20, 200),
    ...extra,
  });
  client.on("error", () => {
    /* connection errors surface as command failures; tests assert on those */
  });
  await waitForReady(client);
  return client;
}

export async function waitForReady(client: Redis, timeoutMs = 10_000): Promise<void> {
  if (client.status === "ready") return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis client not ready after ${timeoutMs} ms (status ${client.status})`)), timeoutMs);
    client.once("ready", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Calls per command from INFO commandstats (read on a separate connection so it does not count itself). */
export async function commandCalls(admin: Redis): Promise<Record<string, number>> {
  const info = await admin.info("commandstats");
  const calls: Record<string, number> = {};
  for (const line of info.split("\n")) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m) calls[m[1]] = Number(m[2]);
  }
  return calls;
}

export function diffCalls(before: Record<string, number>, after: Record<string, number>, ignore: string[] = ["info"]): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [cmd, n] of Object.entries(after)) {
    const d = n - (before[cmd] ?? 0);
    if (d > 0 && !ignore.includes(cmd)) delta[cmd] = d;
  }
  return delta;
}

/**
 * Records the name of every command the client sends (each is one request/response exchange with
 * the server; auto-pipelining is off). Returns a function that undoes the wrapping.
 */
export function recordCommands(client: Redis, into: string[]): () => void {
  const original = client.sendCommand;
  client.sendCommand = function (this: Redis, command: Parameters<Redis["sendCommand"]>[0], stream?: Parameters<Redis["sendCommand"]>[1]) {
    into.push(command.name);
    return original.call(this, command, stream);
  } as Redis["sendCommand"];
  return () => {
    client.sendCommand = original;
  };
}

/**
 * A client on a server this process started, with a restart that really stops the server (its data
 * is lost: no persistence), starts it on the same port and waits for the client to reconnect.
 */
export function restartableRedis(server: RedisServer, client: Redis): { client: Redis; restart: () => Promise<void> } {
  return {
    client,
    restart: async () => {
      await server.stop();
      await new Promise((r) => setTimeout(r, 200));
      await server.restart();
      await waitForReady(client);
    },
  };
}
