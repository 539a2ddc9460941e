import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { freePort, ManagedProcess, spawnManaged, tcpExchange, waitUntilReady } from "./processes";

/**
 * A real `redis-server` on a free port, that can be stopped and started again on the same port: the
 * consumer tests need "Redis went away mid-run". Without persistence by default (tests want a clean
 * slate: a restart loses everything); `appendFsyncAlways` turns on the append-only file with
 * `appendfsync always`, so every write is on disk before Redis answers it and a restart keeps every
 * write that was answered (redis.io, "Redis persistence": AOF fsync policy `always`).
 */
export interface RedisServer {
  readonly port: number;
  readonly host: string;
  /** Stops the server (idempotent). Without `appendFsyncAlways` its data is gone (no RDB, no AOF). */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
  isRunning(): boolean;
}

const READY_TIMEOUT_MS = 10_000;

export interface RedisServerOptions {
  port?: number;
  /** `appendonly yes` + `appendfsync always`: a restart keeps every answered write. Default off. */
  appendFsyncAlways?: boolean;
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "mesh-redis-"));
  let current: ManagedProcess | undefined;

  const start = async (): Promise<void> => {
    const proc = await spawnManaged({
      command: "redis-server",
      args: [
        "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", workDir,
        ...(options.appendFsyncAlways ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]),
      ],
      label: "redis-server",
      installHint: "Install it with `apt-get install -y redis-server` (the tests start their own instance).",
    });
    current = proc;
    await waitUntilReady(
      proc,
      `redis-server on port ${port}`,
      async () => (await tcpExchange(port, "PING\r\n", (r) => r.includes("\r\n"))).startsWith("+PONG"),
      READY_TIMEOUT_MS,
    );
  };

  await start();
  return {
    port,
    host: "127.0.0.1",
    isRunning: () => current !== undefined && current.child.exitCode === null && current.child.signalCode === null,
    stop: async () => {
      const proc = current;
      current = undefined;
      if (proc) await proc.stop();
    },
    restart: async () => {
      if (current) await current.stop();
      await start();
    },
  };
}
