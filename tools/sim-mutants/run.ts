/**
 * `npm run sim:mutants`: the fault simulation's own mutation test. Each mutant (mutants.ts) is
 * applied to a temporary copy of the source, and `npm run local` of that copy runs on fixed seeds
 * against one shared DynamoDB Local; a mutant is caught when the simulation exits non-zero on at
 * least `--need` of the seeds (default 2 of 3). An unmutated copy runs first on the same seeds and
 * must pass every one, or the whole suite is void (exit 2).
 *
 *   npm run sim:mutants -- [--only id,id] [--fast] [--seeds 1,2,3] [--need 2] [--events 300]
 *                          [--parallel 2] [--wall-limit-seconds 120] [--json]
 *
 * Prints one line per mutant and `caught X of Y`; exits 1 when any mutant survives.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DynamoDbLocal, startDynamoDbLocal } from "../local-servers/dynamodb-local";
import { applyMutant, Mutant, MUTANTS } from "./mutants";
import { MutantRunOptions, parseRunnerArgs } from "./runner-args";
import { reverseMutantsMain } from "./reverse-run";

const ROOT = path.resolve(__dirname, "..", "..");
/** What `npm run local` needs from the repository. */
const COPIED = ["runtime", "tools", "components", "package.json", "tsconfig.json", "Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml"];

export type MutantOptions = MutantRunOptions;

export interface SeedRun {
  seed: number;
  exitCode: number;
  /** The simulation's failures (empty when it passed), or the error that ended it. */
  why: string;
  wallMs: number;
}

export interface MutantResult {
  id: string;
  area: string;
  bug: string;
  caught: boolean;
  runs: SeedRun[];
}

export function parseMutantArgs(argv: string[]): MutantOptions {
  return parseRunnerArgs(argv, { fast: false, seeds: [1, 2, 3], need: 2, events: 300, parallel: 2, wallLimitSeconds: 120, json: false }, MUTANTS.map((m) => m.id), "mutant");
}

export function selectMutants(o: Pick<MutantOptions, "only" | "fast">): Mutant[] {
  return MUTANTS.filter((m) => (o.only ? o.only.includes(m.id) : !o.fast || m.fast));
}

/**
 * A copy of the source with the mutant applied (none: the control). Copies are made from `source`,
 * a snapshot taken once at the start, so edits made while the suite runs do not leak into it.
 */
export function prepareCopy(mutant: Mutant | undefined, source: string = ROOT): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sim-mutant-${mutant?.id ?? "control"}-`));
  for (const entry of COPIED) {
    const from = path.join(source, entry);
    if (fs.existsSync(from)) fs.cpSync(from, path.join(dir, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  if (mutant) {
    const file = path.join(dir, mutant.file);
    fs.writeFileSync(file, applyMutant(fs.readFileSync(file, "utf8"), mutant));
  }
  return dir;
}

function runSeed(dir: string, seed: number, o: MutantOptions, dynamodbUrl: string): Promise<SeedRun> {
  const started = Date.now();
  const args = [
    "-r", "ts-node/register/transpile-only", "tools/local-mesh.ts",
    "--events", String(o.events), "--seed", String(seed), "--json",
    "--dynamodb-url", dynamodbUrl, "--wall-limit-seconds", String(o.wallLimitSeconds),
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: dir, env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    // The simulation's own wall limit ends a stuck run; this is the backstop for a hung process.
    const kill = setTimeout(() => child.kill("SIGKILL"), (o.wallLimitSeconds + 60) * 1000);
    child.on("close", (code, signal) => {
      clearTimeout(kill);
      let why = "";
      try {
        const report = JSON.parse(stdout) as { runs: { failures: string[]; unexplainedRepeats: string[]; unexplainedDeadLetterIds: string[]; overlappingLeases: string[]; recordAudit: string[] }[] };
        const r = report.runs[0];
        const examples = [r.unexplainedRepeats[0], r.unexplainedDeadLetterIds[0], r.overlappingLeases[0], r.recordAudit[0]].filter(Boolean);
        why = r.failures.join("; ") + (examples.length > 0 ? ` [e.g. ${examples.join(" | ")}]` : "");
      } catch {
        why = signal ? `killed (${signal})` : `no report: ${stderr.trim().split("\n").slice(-3).join(" | ").slice(0, 300)}`;
      }
      resolve({ seed, exitCode: code ?? 137, why, wallMs: Date.now() - started });
    });
  });
}

/** Runs seeds until the verdict is certain: `need` failures (caught) or too few seeds left to reach it. */
async function judge(dir: string, o: MutantOptions, dynamodbUrl: string, stopEarly: boolean): Promise<SeedRun[]> {
  const runs: SeedRun[] = [];
  for (const seed of o.seeds) {
    runs.push(await runSeed(dir, seed, o, dynamodbUrl));
    const failed = runs.filter((r) => r.exitCode !== 0).length;
    const left = o.seeds.length - runs.length;
    if (stopEarly && (failed >= o.need || failed + left < o.need)) break;
  }
  return runs;
}

export async function runMutants(o: MutantOptions, print: (line: string) => void): Promise<{ control: SeedRun[]; results: MutantResult[] }> {
  const mutants = selectMutants(o);
  // Every anchor is checked before anything runs: a stale anchor fails the suite at once.
  const base = prepareCopy(undefined);
  const dirs: string[] = [base];
  let ddb: DynamoDbLocal | undefined;
  try {
    for (const m of mutants) applyMutant(fs.readFileSync(path.join(base, m.file), "utf8"), m);
    ddb = await startDynamoDbLocal();
    const endpoint = ddb.endpoint;
    const controlDir = prepareCopy(undefined, base);
    dirs.push(controlDir);
    const control = await judge(controlDir, o, endpoint, false);
    const controlFailed = control.filter((r) => r.exitCode !== 0);
    print(`control (no mutant)${" ".repeat(22)}${controlFailed.length === 0 ? "passes" : "FAILS"} on seeds ${o.seeds.join(",")}${controlFailed.map((r) => `\n    seed ${r.seed}: ${r.why}`).join("")}`);
    if (controlFailed.length > 0) return { control, results: [] };
    const results: MutantResult[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(o.parallel, mutants.length) }, async () => {
        while (next < mutants.length) {
          const m = mutants[next++];
          const dir = prepareCopy(m, base);
          dirs.push(dir);
          const runs = await judge(dir, o, endpoint, true);
          const caught = runs.filter((r) => r.exitCode !== 0).length >= o.need;
          results.push({ id: m.id, area: m.area, bug: m.bug, caught, runs });
          const seeds = runs.map((r) => `${r.seed}:${r.exitCode === 0 ? "pass" : "FAIL"}`).join(" ");
          const why = runs.find((r) => r.exitCode !== 0)?.why ?? "";
          print(`${caught ? "caught " : "MISSED "} ${m.id.padEnd(40)} ${seeds.padEnd(22)} ${why.slice(0, 160)}`);
        }
      }),
    );
    results.sort((a, b) => mutants.findIndex((m) => m.id === a.id) - mutants.findIndex((m) => m.id === b.id));
    return { control, results };
  } finally {
    await ddb?.stop();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  // The Azure → AWS direction's mutants (reverse-mutants.ts) have their own runner and servers.
  if (process.argv.includes("--reverse")) return reverseMutantsMain(process.argv.slice(2).filter((a) => a !== "--reverse"));
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const o = parseMutantArgs(process.argv.slice(2));
  const started = Date.now();
  const print = o.json ? () => undefined : (line: string) => process.stdout.write(line + "\n");
  const { control, results } = await runMutants(o, print);
  if (results.length === 0) return 2;
  const caught = results.filter((r) => r.caught).length;
  const seconds = Math.round((Date.now() - started) / 1000);
  if (o.json) process.stdout.write(JSON.stringify({ options: o, control, results, caught, of: results.length, seconds }, null, 2) + "\n");
  else print(`caught ${caught} of ${results.length} (${o.events} events, seeds ${o.seeds.join(",")}, need ${o.need}; ${seconds} s)`);
  return caught === results.length ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(2);
    },
  );
}
