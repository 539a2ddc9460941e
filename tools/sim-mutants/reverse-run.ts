/**
 * `npm run sim:mutants -- --reverse`: the reverse simulation's own mutation test. Each mutant
 * (reverse-mutants.ts) is applied to a temporary copy of the source, and `npm run local:reverse`
 * of that copy runs the fixed seeds (in one process, `--parallel` at a time) against one shared
 * PostgreSQL 15 and one shared DynamoDB Local; a mutant is caught when at least `--need` of its
 * seeds fail. An unmutated copy runs first on the same seeds and must pass every one, or the whole
 * suite is void (exit 2). Mutants run one after another (the machine is shared).
 *
 *   npm run sim:mutants -- --reverse [--only id,id] [--fast] [--seeds 1,2,3] [--need 2]
 *                          [--events 100] [--parallel 3] [--wall-limit-seconds 120] [--json]
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startDynamoDbLocal } from "../local-servers/dynamodb-local";
import { startPostgres } from "../local-servers/postgres";
import type { ReverseSimReport } from "../sim-reverse/simulation";
import { MutantRunOptions, parseRunnerArgs } from "./runner-args";
import { applyReverseMutant, REVERSE_MUTANTS, ReverseMutant } from "./reverse-mutants";

const ROOT = path.resolve(__dirname, "..", "..");
/** What `npm run local:reverse` needs from the repository. */
const COPIED = ["runtime", "tools", "package.json", "tsconfig.json"];

export type ReverseMutantOptions = MutantRunOptions;

export interface ReverseSeedRun {
  seed: number;
  failed: boolean;
  /** The seed's first problems (empty when it passed), or why the run gave no report. */
  why: string;
}

export interface ReverseMutantResult {
  id: string;
  area: string;
  bug: string;
  caught: boolean;
  runs: ReverseSeedRun[];
  seconds: number;
}

export function parseReverseMutantArgs(argv: string[]): ReverseMutantOptions {
  return parseRunnerArgs(argv, { fast: false, seeds: [1, 2, 3], need: 2, events: 100, parallel: 3, wallLimitSeconds: 120, json: false }, REVERSE_MUTANTS.map((m) => m.id), "reverse mutant", " (with --reverse: --only --fast --seeds --need --events --parallel --wall-limit-seconds --json)");
}

export function selectReverseMutants(o: Pick<ReverseMutantOptions, "only" | "fast">): ReverseMutant[] {
  return REVERSE_MUTANTS.filter((m) => (o.only ? o.only.includes(m.id) : !o.fast || m.fast));
}

/** A copy of `source` with the mutant applied (none: the control). */
function prepareCopy(mutant: ReverseMutant | undefined, source: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sim-rev-mutant-${mutant?.id ?? "control"}-`));
  for (const entry of COPIED) fs.cpSync(path.join(source, entry), path.join(dir, entry), { recursive: true });
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  if (mutant) {
    const file = path.join(dir, mutant.file);
    fs.writeFileSync(file, applyReverseMutant(fs.readFileSync(file, "utf8"), mutant));
  }
  return dir;
}

function firstProblems(r: ReverseSimReport): string {
  const v = r.verdict;
  const problems = [
    ...v.lost.map((id) => `lost ${id}`),
    ...v.unexplainedRepeats.map((x) => `repeat ${x.eventId} ×${x.applied} (excused ${x.excused})`),
    ...v.unexplainedDeadLetters.map((x) => `dead letter via ${x.via}: ${x.why}`),
    ...v.stateViolations,
    ...v.poisonViolations,
  ];
  const counts = `lost ${v.lost.length}, repeats ${v.unexplainedRepeats.length}, dead letters ${v.unexplainedDeadLetters.length}, state ${v.stateViolations.length}, poison ${v.poisonViolations.length}`;
  const runFailures = r.relayRunFailures > 0 ? `, relay runs failed ${r.relayRunFailures}` : "";
  const diagnostic = r.diagnostics?.[0] ? ` {receives of ${r.diagnostics[0]}}` : "";
  return `${r.finished ? "" : `not drained in ${Math.round(r.durationMs / 1000)} s; `}${counts}${runFailures}${problems.length > 0 ? ` [e.g. ${problems[0]}]` : ""}${diagnostic}`;
}

/** All seeds of one copy in one `local:reverse` process on the shared servers. */
function runSeeds(dir: string, o: ReverseMutantOptions, servers: { postgresUrl: string; dynamodbUrl: string }): Promise<ReverseSeedRun[]> {
  const args = [
    "-r", "ts-node/register/transpile-only", "tools/sim-reverse/run.ts",
    "--events", String(o.events), "--seeds", o.seeds.join(","), "--parallel", String(o.parallel), "--json",
    "--wall-limit-seconds", String(o.wallLimitSeconds), "--postgres-url", servers.postgresUrl, "--dynamodb-url", servers.dynamodbUrl,
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: dir, env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    // The simulation's own wall limit ends a stuck seed; this is the backstop for a hung process.
    const rounds = Math.ceil(o.seeds.length / o.parallel);
    const kill = setTimeout(() => child.kill("SIGKILL"), (rounds * (o.wallLimitSeconds + 10) + 60) * 1000);
    child.on("close", (code, signal) => {
      clearTimeout(kill);
      try {
        const reports = JSON.parse(stdout) as ReverseSimReport[];
        resolve(o.seeds.map((seed) => {
          const r = reports.find((x) => x.seed === seed);
          if (!r) return { seed, failed: true, why: "no report for this seed" };
          const failed = !(r.finished && r.verdict.ok);
          return { seed, failed, why: failed ? firstProblems(r) : "" };
        }));
      } catch {
        // No report at all: the copy crashed (exit 2) or hung. Counted as failing, and the reason shown, as in run.ts.
        const why = signal ? `killed (${signal})` : `exit ${code}, no report: ${stderr.trim().split("\n").slice(-3).join(" | ").slice(0, 300)}`;
        resolve(o.seeds.map((seed) => ({ seed, failed: true, why })));
      }
    });
  });
}

export async function runReverseMutants(o: ReverseMutantOptions, print: (line: string) => void): Promise<{ control: ReverseSeedRun[]; results: ReverseMutantResult[] }> {
  const mutants = selectReverseMutants(o);
  // A snapshot of the source taken once, so edits made while the suite runs do not leak into it.
  const base = prepareCopy(undefined, ROOT);
  const dirs = [base];
  // Every anchor is checked before anything runs: a stale anchor fails the suite at once.
  for (const m of mutants) applyReverseMutant(fs.readFileSync(path.join(base, m.file), "utf8"), m);
  const [pg, ddb] = await Promise.all([startPostgres(), startDynamoDbLocal()]);
  const servers = { postgresUrl: `postgres://postgres@${pg.host}:${pg.port}`, dynamodbUrl: ddb.endpoint };
  try {
    const controlDir = prepareCopy(undefined, base);
    dirs.push(controlDir);
    const control = await runSeeds(controlDir, o, servers);
    const controlFailed = control.filter((r) => r.failed);
    print(`control (no mutant)${" ".repeat(28)}${controlFailed.length === 0 ? "passes" : "FAILS"} on seeds ${o.seeds.join(",")}${controlFailed.map((r) => `\n    seed ${r.seed}: ${r.why}`).join("")}`);
    if (controlFailed.length > 0) return { control, results: [] };
    const results: ReverseMutantResult[] = [];
    for (const m of mutants) {
      const started = Date.now();
      const dir = prepareCopy(m, base);
      dirs.push(dir);
      const runs = await runSeeds(dir, o, servers);
      fs.rmSync(dir, { recursive: true, force: true });
      const caught = runs.filter((r) => r.failed).length >= o.need;
      const seconds = Math.round((Date.now() - started) / 1000);
      results.push({ id: m.id, area: m.area, bug: m.bug, caught, runs, seconds });
      const seeds = runs.map((r) => `${r.seed}:${r.failed ? "FAIL" : "pass"}`).join(" ");
      const why = runs.find((r) => r.failed)?.why ?? "";
      const [problems, receives] = why.split(" {receives of ");
      print(`${caught ? "caught " : "MISSED "} ${m.id.padEnd(40)} ${seeds.padEnd(22)} ${String(seconds).padStart(3)} s  ${problems.slice(0, 200)}`);
      if (receives) print(`        receives of ${receives.slice(0, 400)}`);
    }
    return { control, results };
  } finally {
    await Promise.all([pg.stop(), ddb.stop()]);
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The `--reverse` branch of tools/sim-mutants/run.ts: exit 0 all caught, 1 one escaped, 2 void. */
export async function reverseMutantsMain(argv: string[]): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const o = parseReverseMutantArgs(argv);
  const started = Date.now();
  const print = o.json ? () => undefined : (line: string) => process.stdout.write(line + "\n");
  const { control, results } = await runReverseMutants(o, print);
  if (results.length === 0) return 2;
  const caught = results.filter((r) => r.caught).length;
  const seconds = Math.round((Date.now() - started) / 1000);
  if (o.json) process.stdout.write(JSON.stringify({ options: o, control, results, caught, of: results.length, seconds }, null, 2) + "\n");
  else print(`caught ${caught} of ${results.length} (reverse, ${o.events} events, seeds ${o.seeds.join(",")}, need ${o.need}; ${seconds} s)`);
  return caught === results.length ? 0 : 1;
}
