import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { freePort, ManagedProcess, spawnManaged, tcpExchange, waitUntilReady } from "./processes";

/**
 * A real `redis-server` on a free port, without persistence (tests want a clean slate), that can be
 * stopped and started again on the same port: the consumer tests need "Redis went away mid-run".
 */
export interface RedisServer {
  readonly port: number;
  readonly host: string;
  /** Stops the server (idempotent). Its data is gone: it runs with no RDB and no AOF. */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
  isRunning(): boolean;
}

const READY_TIMEOUT_MS = 10_000;

export async function startRedisServer(options: { port?: number } = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "mesh-redis-"));
  let current: ManagedProcess | undefined;

  const start = async (): Promise<void> => {
    const proc = await spawnManaged({
      command: "redis-server",
      args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workDir],
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
