import { spawn, ChildProcess } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";

/**
 * Shared plumbing for the real servers the runtime tests and the tools (npm run local, bench, smoke) start: free ports, process groups that
 * are always killed (even when mocha exits early), and readiness polling with an error that says
 * what the server printed before it died.
 */

const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last line of defence: a crashed or interrupted test run must not leave java/redis behind.
  const killAll = () => {
    for (const pgid of liveGroups) {
      try {
        process.kill(-pgid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
    liveGroups.clear();
  };
  process.once("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

/** A port that was free a moment ago (the OS picks it); the caller binds it right away. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error("could not obtain a free TCP port"));
        return;
      }
      const port = address.port;
      server.close(() => resolve(port));
    });
  });
}

export interface ManagedProcess {
  readonly child: ChildProcess;
  /** The last few KB the process wrote to stdout/stderr, for error messages. */
  output(): string;
  /** Resolves once the process has exited (immediately if it already has). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM to the whole process group, SIGKILL after `graceMs`; resolves when it is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  command: string;
  args: string[];
  cwd?: string;
  /** Shown in errors, e.g. "redis-server". */
  label: string;
  /** What to tell the person when the command is not installed. */
  installHint: string;
}

const OUTPUT_TAIL_BYTES = 8 * 1024;

/** The absolute path of `command` on PATH, or undefined. */
export function findExecutable(command: string): string | undefined {
  if (command.includes("/")) return fs.existsSync(command) ? command : undefined;
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/**
 * The server runs under a small sh watchdog that leads the process group: it stops the server
 * when the test process disappears, even by SIGKILL (when no exit hook can run), so an
 * interrupted run leaves nothing behind.
 */
const WATCHDOG = [
  'parent="$1"; shift',
  '"$@" & server=$!',
  'trap \'kill -TERM "$server" 2>/dev/null; wait "$server"; exit 143\' TERM INT',
  'while kill -0 "$parent" 2>/dev/null && kill -0 "$server" 2>/dev/null; do sleep 0.5; done',
  'if kill -0 "$server" 2>/dev/null; then kill -TERM "$server"; fi',
  'wait "$server"',
].join("\n");

export async function spawnManaged(options: SpawnOptions): Promise<ManagedProcess> {
  installExitHook();
  const executable = findExecutable(options.command);
  if (!executable) {
    throw new Error(`${options.label}: '${options.command}' is not installed or not on PATH. ${options.installHint}`);
  }
  let tail = "";
  const child = spawn("/bin/sh", ["-c", WATCHDOG, "watchdog", String(process.pid), executable, ...options.args], {
    cwd: options.cwd,
    // Own process group, so stop() can kill the server and anything it forked in one call.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const append = (chunk: Buffer) => {
    tail = (tail + chunk.toString("utf8")).slice(-OUTPUT_TAIL_BYTES);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      if (child.pid !== undefined) liveGroups.delete(child.pid);
      resolve({ code, signal });
    });
  });

  await new Promise<void>((resolve, reject) => {
    child.once("spawn", () => resolve());
    child.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") {
        reject(new Error(`${options.label}: '${options.command}' is not installed or not on PATH. ${options.installHint}`));
      } else {
        reject(new Error(`${options.label}: could not start '${options.command}': ${error.message}`));
      }
    });
  });
  if (child.pid === undefined) throw new Error(`${options.label}: started without a pid`);
  const pgid = child.pid;
  liveGroups.add(pgid);

  let stopping: Promise<void> | undefined;
  const stop = (graceMs = 5000): Promise<void> => {
    if (stopping) return stopping;
    stopping = (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-pgid, "SIGTERM");
      } catch {
        return;
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-pgid, "SIGKILL");
        } catch {
          /* already gone */
        }
      }, graceMs);
      await exited;
      clearTimeout(timer);
      liveGroups.delete(pgid);
    })();
    return stopping;
  };

  return { child, output: () => tail, exited, stop };
}

/**
 * Polls `probe` until it resolves true, failing early (with the server's own output) if the process
 * exits, and failing with a clear message after `timeoutMs`.
 */
export async function waitUntilReady(
  proc: ManagedProcess,
  label: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitedEarly = false;
  void proc.exited.then(() => {
    exitedEarly = true;
  });
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exitedEarly) {
      throw new Error(`${label} exited before it was ready. Its output:\n${proc.output()}`);
    }
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await proc.stop();
  throw new Error(
    `${label} was not ready after ${timeoutMs} ms (last probe error: ${String(lastError)}). Its output:\n${proc.output()}`,
  );
}

/** One TCP exchange: send `request`, resolve with what came back before `until` matched or the socket closed. */
export function tcpExchange(port: number, request: string, until: (reply: string) => boolean, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    let reply = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply on port ${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("connect", () => socket.write(request));
    socket.on("data", (chunk) => {
      reply += chunk.toString("utf8");
      if (until(reply)) {
        clearTimeout(timer);
        socket.end();
        resolve(reply);
      }
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(reply);
    });
  });
}
