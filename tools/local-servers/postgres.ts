import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client, ClientConfig } from "pg";
import { freePort, ManagedProcess, spawnManaged, waitUntilReady } from "./processes";

/**
 * A private PostgreSQL 15 cluster on a free port in a temp dir, for the outbox tests and tools.
 * initdb refuses to run as root, so as root every binary runs as the `postgres` user
 * (`runuser -u postgres -- …`) and the data dir belongs to it. Loopback only; the superuser
 * `postgres` connects without a password (trust), every other role with SCRAM — and, with
 * `tls: true`, only over TLS (`hostssl`; plain connections are rejected), like Azure's server.
 */
export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  /** PEM of the self-signed server certificate (with `tls: true`), to trust in a client's `ssl.ca`. */
  readonly caCertificate?: string;
  /** Connection settings for `database` as the superuser. */
  superuserConfig(database?: string): ClientConfig;
  /** Creates a database (and returns its name). */
  createDatabase(name: string): Promise<string>;
  /** Creates a login role with a password (SCRAM), owner of nothing; grant what the test needs. */
  createRole(name: string, password: string): Promise<void>;
  /** Runs SQL as the superuser in `database`. */
  sql(database: string, text: string, values?: unknown[]): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

export const POSTGRES_BIN = process.env.MESH_POSTGRES_BIN ?? "/usr/lib/postgresql/15/bin";
const READY_TIMEOUT_MS = 20_000;
const INSTALL_HINT = "Install PostgreSQL 15 with `apt-get install -y postgresql-15` (the tests start their own cluster), or set MESH_POSTGRES_BIN.";
const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

function asRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

/** `command args` as the postgres user when we are root, else as ourselves. */
function asPostgres(command: string, args: string[]): { command: string; args: string[] } {
  return asRoot() ? { command: "runuser", args: ["-u", "postgres", "--", command, ...args] } : { command, args };
}

function run(command: string, args: string[], label: string): void {
  const call = asPostgres(command, args);
  try {
    execFileSync(call.command, call.args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${label} failed: ${e.message}\n${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
}

export async function startPostgres(options: { tls?: boolean } = {}): Promise<PostgresServer> {
  const initdb = path.join(POSTGRES_BIN, "initdb");
  const postgresBin = path.join(POSTGRES_BIN, "postgres");
  if (!fs.existsSync(initdb) || !fs.existsSync(postgresBin)) throw new Error(`PostgreSQL binaries not found in ${POSTGRES_BIN}. ${INSTALL_HINT}`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "mesh-pg-"));
  const dataDir = path.join(root, "data");
  const socketDir = path.join(root, "sock");
  fs.mkdirSync(socketDir);
  if (asRoot()) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    fs.chownSync(root, uid, gid);
    fs.chownSync(socketDir, uid, gid);
  }
  run(initdb, ["-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"], "initdb");

  let caCertificate: string | undefined;
  const settings = [
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${socketDir}'`,
    // A throwaway cluster: durability settings off make the tests fast, not the semantics different.
    "fsync = off",
    "synchronous_commit = off",
    "full_page_writes = off",
    "max_connections = 100",
    "password_encryption = 'scram-sha-256'",
  ];
  const hba = ["local all all trust", "host all postgres 127.0.0.1/32 trust"];
  if (options.tls) {
    const key = path.join(dataDir, "server.key");
    const cert = path.join(dataDir, "server.crt");
    run(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert],
      "openssl (server certificate)",
    );
    fs.chmodSync(key, 0o600);
    caCertificate = fs.readFileSync(cert, "utf8");
    settings.push("ssl = on", `ssl_cert_file = '${cert}'`, `ssl_key_file = '${key}'`, "ssl_min_protocol_version = 'TLSv1.2'");
    hba.push("hostssl all all 127.0.0.1/32 scram-sha-256", "hostnossl all all 127.0.0.1/32 reject");
  } else {
    hba.push("host all all 127.0.0.1/32 scram-sha-256");
  }
  // Files written as root inside a dir postgres owns: hand them over, postgres must read them.
  fs.appendFileSync(path.join(dataDir, "postgresql.conf"), "\n" + settings.join("\n") + "\n");
  fs.writeFileSync(path.join(dataDir, "pg_hba.conf"), hba.join("\n") + "\n");
  if (asRoot()) execFileSync("chown", ["-R", "postgres:postgres", dataDir]);

  const port = await freePort();
  const call = asPostgres(postgresBin, ["-D", dataDir, "-p", String(port)]);
  const proc: ManagedProcess = await spawnManaged({ command: call.command, args: call.args, label: "postgres", installHint: INSTALL_HINT });
  const host = "127.0.0.1";
  const superuserConfig = (database = "postgres"): ClientConfig => ({ host, port, user: "postgres", database });
  const sql = async (database: string, text: string, values?: unknown[]) => {
    const client = new Client(superuserConfig(database));
    await client.connect();
    try {
      return (await client.query(text, values)).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  };
  await waitUntilReady(
    proc,
    `postgres on port ${port}`,
    async () => {
      await sql("postgres", "SELECT 1");
      return true;
    },
    READY_TIMEOUT_MS,
  );

  return {
    host,
    port,
    caCertificate,
    superuserConfig,
    sql,
    async createDatabase(name) {
      if (!IDENT.test(name)) throw new Error(`createDatabase: ${JSON.stringify(name)} is not a plain identifier`);
      await sql("postgres", `CREATE DATABASE ${name}`);
      return name;
    },
    async createRole(name, password) {
      if (!IDENT.test(name)) throw new Error(`createRole: ${JSON.stringify(name)} is not a plain identifier`);
      await sql("postgres", `CREATE ROLE ${name} LOGIN PASSWORD '${password.replace(/'/g, "''")}'`);
    },
    async stop() {
      // SIGTERM is a "smart" shutdown that waits for clients; the grace period then SIGKILLs the group.
      await proc.stop(3_000);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
