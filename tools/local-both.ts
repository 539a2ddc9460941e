/**
 * npm run local:both -- [--events 2000] [--reverse-events 300] [--seed 42] [--wall-limit-seconds 600] [--json]
 *
 * Both directions of the mesh under seeded faults AT THE SAME TIME on this machine: `npm run local`
 * (AWS → Azure, tools/sim/) and `npm run local:reverse` (Azure → AWS, tools/sim-reverse/) run as
 * two processes started together, each with its own real servers (DynamoDB Local and two
 * redis-servers; PostgreSQL 15 and DynamoDB Local) and its own oracle. This file judges nothing
 * itself: it prints both reports as one, with the time the two runs overlapped, and exits 0 only
 * when both processes exited 0 AND both reports say they passed; 1 when a report says a run
 * failed; 2 when a run gave no report at all (crashed, killed, or unreadable).
 */
import { spawn } from "child_process";
import * as path from "path";
import { formatReport } from "./sim/report";
import type { SimulationReport } from "./sim/simulation";
import { formatReverseReport } from "./sim-reverse/run-seeds";
import type { ReverseSimReport } from "./sim-reverse/simulation";

export interface BothArgs {
  /** Events of the AWS → Azure run. */
  events: number;
  /** Events of the Azure → AWS run. */
  reverseEvents: number;
  seed: number;
  /** Each run's own wall limit. */
  wallLimitSeconds: number;
  json: boolean;
}

const USAGE = "usage: npm run local:both -- [--events N] [--reverse-events N] [--seed S] [--wall-limit-seconds S] [--json]";

export function parseBothArgs(argv: string[]): BothArgs {
  const args: BothArgs = { events: 2000, reverseEvents: 300, seed: 42, wallLimitSeconds: 600, json: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const integer = (min: number) => {
      const v = argv[++i];
      const n = Number(v);
      if (v === undefined || !Number.isInteger(n) || n < min) throw new Error(`${flag} must be an integer ≥ ${min}, got ${JSON.stringify(v)}\n${USAGE}`);
      return n;
    };
    if (flag === "--events") args.events = integer(1);
    else if (flag === "--reverse-events") args.reverseEvents = integer(1);
    else if (flag === "--seed") args.seed = integer(0);
    else if (flag === "--wall-limit-seconds") args.wallLimitSeconds = integer(1);
    else if (flag === "--json") args.json = true;
    else throw new Error(`unknown option '${flag}'\n${USAGE}`);
  }
  return args;
}

/** What one child process left behind. */
export interface ChildRun {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  startedAt: number;
  endedAt: number;
}

export interface DirectionVerdict {
  direction: "AWS → Azure" | "Azure → AWS";
  command: string;
  /** PASS: exit 0 and the report says passed. FAIL: the report says failed. NO REPORT: nothing readable. */
  verdict: "PASS" | "FAIL" | "NO REPORT";
  why: string;
  seconds: number;
  text: string;
}

export function judgeForward(run: ChildRun, command: string): DirectionVerdict {
  const base = { direction: "AWS → Azure" as const, command, seconds: (run.endedAt - run.startedAt) / 1000 };
  let report: { command: string; runs: SimulationReport[] };
  try {
    report = JSON.parse(run.stdout) as { command: string; runs: SimulationReport[] };
    if (!Array.isArray(report.runs) || report.runs.length === 0) throw new Error("no runs");
  } catch {
    return { ...base, verdict: "NO REPORT", why: noReport(run), text: "" };
  }
  const passed = report.runs[0].passed === true;
  const verdict = passed && run.exitCode === 0 ? "PASS" : passed ? "NO REPORT" : "FAIL";
  const why = verdict === "NO REPORT" ? `report says passed but the process exited ${run.exitCode}` : report.runs[0].failures.join("; ");
  return { ...base, verdict, why, text: formatted(() => formatReport(report.runs, report.command)) };
}

export function judgeReverse(run: ChildRun, command: string): DirectionVerdict {
  const base = { direction: "Azure → AWS" as const, command, seconds: (run.endedAt - run.startedAt) / 1000 };
  let reports: ReverseSimReport[];
  try {
    reports = JSON.parse(run.stdout) as ReverseSimReport[];
    if (!Array.isArray(reports) || reports.length === 0) throw new Error("no seeds");
  } catch {
    return { ...base, verdict: "NO REPORT", why: noReport(run), text: "" };
  }
  const failed = reports.filter((r) => !(r.finished && r.verdict.ok));
  const verdict = failed.length === 0 && run.exitCode === 0 ? "PASS" : failed.length === 0 ? "NO REPORT" : "FAIL";
  const why = verdict === "NO REPORT" ? `report says passed but the process exited ${run.exitCode}` : failed.map((r) => `seed ${r.seed} failed`).join("; ");
  return { ...base, verdict, why, text: formatted(() => formatReverseReport(reports)) };
}

/** The verdict stands on the report's own pass flag; a report the formatter cannot lay out is shown as such. */
function formatted(format: () => string): string {
  try {
    return format();
  } catch (error) {
    return `(report could not be formatted: ${(error as Error).message})`;
  }
}

function noReport(run: ChildRun): string {
  const tail = run.stderr.trim().split("\n").slice(-3).join(" | ").slice(0, 400);
  return `${run.signal ? `killed (${run.signal})` : `exit ${run.exitCode}`}, no readable report${tail ? `: ${tail}` : ""}`;
}

/** Seconds during which both processes were running. */
export function overlapSeconds(a: ChildRun, b: ChildRun): number {
  return Math.max(0, Math.min(a.endedAt, b.endedAt) - Math.max(a.startedAt, b.startedAt)) / 1000;
}

export function combinedExitCode(verdicts: DirectionVerdict[]): number {
  if (verdicts.some((v) => v.verdict === "NO REPORT")) return 2;
  return verdicts.every((v) => v.verdict === "PASS") ? 0 : 1;
}

export function formatBoth(verdicts: DirectionVerdict[], overlap: number): string {
  const lines = [`Both directions at once: the two runs overlapped for ${overlap.toFixed(1)} s.`];
  for (const v of verdicts) {
    lines.push("", `== ${v.direction}: ${v.verdict} in ${v.seconds.toFixed(1)} s (${v.command})${v.verdict === "PASS" ? "" : ` — ${v.why}`}`);
    if (v.text) lines.push(v.text);
  }
  const code = combinedExitCode(verdicts);
  lines.push("", `BOTH DIRECTIONS: ${code === 0 ? "PASS" : "FAIL"} (${verdicts.map((v) => `${v.direction} ${v.verdict}`).join(", ")})`);
  return lines.join("\n");
}

function runChild(script: string, args: string[], killAfterMs: number): Promise<ChildRun> {
  const root = path.resolve(__dirname, "..");
  const startedAt = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", script, ...args], {
      cwd: root,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    // Each run ends itself at its wall limit; this is the backstop for a hung process.
    const kill = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    child.on("close", (exitCode, signal) => {
      clearTimeout(kill);
      resolve({ exitCode, signal, stdout, stderr, startedAt, endedAt: Date.now() });
    });
  });
}

export async function runBoth(args: BothArgs): Promise<{ verdicts: DirectionVerdict[]; overlap: number; code: number }> {
  const forwardArgs = ["--events", String(args.events), "--seed", String(args.seed), "--wall-limit-seconds", String(args.wallLimitSeconds)];
  const reverseArgs = ["--events", String(args.reverseEvents), "--seed", String(args.seed), "--wall-limit-seconds", String(args.wallLimitSeconds)];
  const backstop = (args.wallLimitSeconds + 120) * 1000;
  const [forward, reverse] = await Promise.all([
    runChild("tools/local-mesh.ts", [...forwardArgs, "--json"], backstop),
    runChild("tools/sim-reverse/run.ts", [...reverseArgs, "--json"], backstop),
  ]);
  const verdicts = [judgeForward(forward, `npm run local -- ${forwardArgs.join(" ")}`), judgeReverse(reverse, `npm run local:reverse -- ${reverseArgs.join(" ")}`)];
  return { verdicts, overlap: overlapSeconds(forward, reverse), code: combinedExitCode(verdicts) };
}

async function main(): Promise<number> {
  const args = parseBothArgs(process.argv.slice(2));
  if (process.stderr.isTTY) process.stderr.write("running AWS → Azure and Azure → AWS at once, each with its own servers…\n");
  const { verdicts, overlap, code } = await runBoth(args);
  process.stdout.write((args.json ? JSON.stringify({ overlapSeconds: overlap, exitCode: code, directions: verdicts.map(({ text, ...v }) => ({ ...v, report: text })) }, null, 2) : formatBoth(verdicts, overlap)) + "\n");
  return code;
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
