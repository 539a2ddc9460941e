/**
 * npm run local:reverse -- --events 300 --seed 7 [--seeds 1,2,3] [--parallel 4] [--wall-limit-seconds 90] [--json]
 * The Azure → AWS direction under seeded faults (docs/simulation-reverse.md). Exit code 1 when a
 * seed fails: an event lost, an effect repeated without a measured cause, a dead letter without a
 * fault that explains it, a state violation, or poison applied.
 */
import { formatReverseReport, runReverseSeeds } from "./run-seeds";

function parseArgs(argv: string[]) {
  const out = { events: 300, seeds: [1], parallel: 1, wallLimitMs: 90_000, json: false };
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
    else throw new Error(`unknown option ${flag} (options: --events N --seed S --seeds a,b --parallel P --wall-limit-seconds S --json)`);
  }
  if (out.events < 1) throw new Error("--events must be at least 1");
  return out;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const reports = await runReverseSeeds({ seeds: args.seeds, events: args.events, parallel: args.parallel, wallLimitMs: args.wallLimitMs });
  process.stdout.write((args.json ? JSON.stringify(reports, null, 2) : formatReverseReport(reports)) + "\n");
  process.exit(reports.every((r) => r.finished && r.verdict.ok) ? 0 : 1);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(2);
});
