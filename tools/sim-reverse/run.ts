/**
 * npm run local:reverse -- --events 300 --seed 7 [--seeds 1,2,3] [--parallel 4] [--wall-limit-seconds 90] [--json]
 *                          [--postgres-url postgres://postgres@127.0.0.1:5432 --dynamodb-url http://127.0.0.1:8000]
 * The Azure → AWS direction under seeded faults (docs/simulation-reverse.md). Exit code 1 when a
 * seed fails: an event lost, an effect repeated without a measured cause, a dead letter without a
 * fault that explains it, a state violation, or poison applied.
 */
import { formatReverseReport, ReverseServers, runReverseSeeds } from "./run-seeds";

function parseArgs(argv: string[]) {
  const out: { events: number; seeds: number[]; parallel: number; wallLimitMs: number; json: boolean; postgresUrl?: string; dynamodbUrl?: string } = {
    events: 300,
    seeds: [1],
    parallel: 1,
    wallLimitMs: 90_000,
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    const int = (name: string) => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
      i++;
      return n;
    };
    if (flag === "--events") out.events = int("--events");
    else if (flag === "--seed") out.seeds = [int("--seed")];
    else if (flag === "--seeds") {
      out.seeds = String(value).split(",").map((s) => Number(s));
      if (out.seeds.some((s) => !Number.isInteger(s))) throw new Error(`--seeds must be a comma-separated list of integers, got ${JSON.stringify(value)}`);
      i++;
    } else if (flag === "--parallel") out.parallel = int("--parallel");
    else if (flag === "--wall-limit-seconds") out.wallLimitMs = int("--wall-limit-seconds") * 1000;
    else if (flag === "--json") out.json = true;
    else if (flag === "--postgres-url" || flag === "--dynamodb-url") {
      if (value === undefined || value.startsWith("--")) throw new Error(`${flag} needs a URL`);
      if (flag === "--postgres-url") out.postgresUrl = value;
      else out.dynamodbUrl = value;
      i++;
    } else throw new Error(`unknown option ${flag} (options: --events N --seed S --seeds a,b --parallel P --wall-limit-seconds S --json --postgres-url URL --dynamodb-url URL)`);
  }
  if (out.events < 1) throw new Error("--events must be at least 1");
  if ((out.postgresUrl === undefined) !== (out.dynamodbUrl === undefined)) throw new Error("--postgres-url and --dynamodb-url go together (both servers already running, or neither)");
  return out;
}

/** `postgres://postgres@host:port`: the superuser must be trusted from this host (tools/local-servers/postgres.ts sets that up). */
function serversOf(args: ReturnType<typeof parseArgs>): ReverseServers | undefined {
  if (args.postgresUrl === undefined || args.dynamodbUrl === undefined) return undefined;
  const url = new URL(args.postgresUrl);
  const port = Number(url.port);
  if (url.protocol !== "postgres:" || !url.hostname || !Number.isInteger(port) || port <= 0) throw new Error(`--postgres-url must look like postgres://postgres@127.0.0.1:5432, got ${args.postgresUrl}`);
  return { postgres: { host: url.hostname, port }, dynamodbEndpoint: args.dynamodbUrl };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const reports = await runReverseSeeds({ seeds: args.seeds, events: args.events, parallel: args.parallel, wallLimitMs: args.wallLimitMs, servers: serversOf(args) });
  process.stdout.write((args.json ? JSON.stringify(reports, null, 2) : formatReverseReport(reports)) + "\n");
  process.exit(reports.every((r) => r.finished && r.verdict.ok) ? 0 : 1);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(2);
});
