/**
 * `npm run policy:mutants [-- --stack dev|prod] [--full]`: the policy pack against realistic
 * weakenings of the program. Each mutant is one small edit of a stack's previewed program; the
 * policy named as its catcher must report it (mandatory policies must also fail the run). Each
 * compliant rewrite must pass with no violation at all. Prints one line per case, then
 * `caught X of Y` and `rewrites passed A of B`; exits 1 on any miss, false alarm or policy error.
 *
 * The baseline is the program previewed offline (tools/preview.ts --json) with COMPLIANT_CONFIG;
 * --full also applies the source patches of ./source-patches.ts to a copy of the program and
 * previews each (about 10 s apiece).
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { FAKE_NOW, RecordedResource } from "../mock-engine";
import { PolicyReport, runPolicies } from "../policy-runner";
import { clone, Program } from "./edit";
import { Mutant, MUTANTS, Rewrite, REWRITES } from "./catalogue";

const ROOT = path.resolve(__dirname, "..", "..");

/**
 * Program config under which the program has no violation at all: its defaults give the alarms no
 * receiver (no alarmEmail), which the pack reports (advisory by default). Offline nothing is sent anywhere.
 */
export const COMPLIANT_CONFIG = ["--config", "alarmEmail=oncall@corp.example"];

/** Policy config of every run: clocks pinned to the mock engine's, so verdicts do not drift with the date. */
export const MUTANT_POLICY_CONFIG = {
    "entra-application-password-lifetime": { referenceTime: FAKE_NOW },
    "lambda-runtime-not-deprecated": { referenceTime: FAKE_NOW },
};

/** The program of a stack as `npm run preview -- --json` records it, from the folder `root`. */
export function previewProgram(stack: string, root = ROOT, extra: string[] = []): Program {
    const run = spawnSync(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(root, "tools", "preview.ts"), "--stack", stack, "--json", "--show-secrets", "--no-diagram", ...COMPLIANT_CONFIG, ...extra], {
        cwd: root,
        encoding: "utf8",
        timeout: 180_000,
        maxBuffer: 256 * 1024 * 1024,
    });
    // Exit 3 is "a mandatory policy failed": the records are still printed, and the mutant run judges them itself.
    if (run.status !== 0 && run.status !== 3) throw new Error(`preview --stack ${stack} failed (${run.status}):\n${run.stderr}`);
    return (JSON.parse(run.stdout) as { resources: RecordedResource[] }).resources;
}

export interface CaseResult {
    id: string;
    stack: string;
    kind: "mutant" | "rewrite";
    ok: boolean;
    detail: string;
}

export function judgeMutant(mutant: Pick<Mutant, "id" | "policy">, stack: string, report: PolicyReport): CaseResult {
    const verdict = report.verdicts.find((v) => v.policy === mutant.policy);
    const errors = report.verdicts.flatMap((v) => v.errors);
    const base = { id: mutant.id, stack, kind: "mutant" as const };
    // An advisory policy catches by reporting; a mandatory one must also fail the run.
    if (!verdict) return { ...base, ok: false, detail: `no policy named ${mutant.policy}` };
    if (errors.length > 0) return { ...base, ok: false, detail: `policy error: ${errors[0]}` };
    const hits = verdict.violations;
    const blocking = verdict.enforcementLevel === "mandatory" ? !report.passed : true;
    if (hits.length > 0 && blocking) return { ...base, ok: true, detail: `${mutant.policy}: ${hits[0].message}` };
    const others = report.verdicts.filter((v) => v.violations.length > 0).map((v) => v.policy);
    return { ...base, ok: false, detail: `MISSED by ${mutant.policy}${others.length ? ` (reported by ${others.join(", ")} instead)` : ""}` };
}

export function judgeRewrite(rewrite: Pick<Rewrite, "id">, stack: string, report: PolicyReport): CaseResult {
    const failing = report.verdicts.filter((v) => v.violations.length > 0 || v.errors.length > 0);
    const base = { id: rewrite.id, stack, kind: "rewrite" as const };
    if (failing.length === 0) return { ...base, ok: true, detail: "passes" };
    const first = failing[0];
    return { ...base, ok: false, detail: `FALSE ALARM by ${first.policy}: ${first.violations[0]?.message ?? first.errors[0]}` };
}

/** Runs the record-editing mutants and rewrites against one stack's baseline. */
export async function runEditCases(stack: "dev" | "prod", baseline: Program, which: { mutants: boolean; rewrites: boolean } = { mutants: true, rewrites: true }): Promise<CaseResult[]> {
    const results: CaseResult[] = [];
    const check = (program: Program) => runPolicies(program, { config: MUTANT_POLICY_CONFIG });
    const before = await check(clone(baseline));
    if (!before.passed || before.verdicts.some((v) => v.violations.length > 0)) {
        throw new Error(`the ${stack} baseline is not compliant: ${JSON.stringify(before.verdicts.filter((v) => v.violations.length).map((v) => [v.policy, v.violations[0].message]))}`);
    }
    for (const mutant of which.mutants ? MUTANTS.filter((m) => m.stacks.includes(stack)) : []) {
        const program = clone(baseline);
        try {
            mutant.apply(program);
            results.push(judgeMutant(mutant, stack, await check(program)));
        } catch (err) {
            results.push({ id: mutant.id, stack, kind: "mutant", ok: false, detail: `does not apply: ${(err as Error).message}` });
        }
    }
    for (const rewrite of which.rewrites ? REWRITES.filter((r) => r.stacks.includes(stack)) : []) {
        const program = clone(baseline);
        try {
            rewrite.apply(program);
            results.push(judgeRewrite(rewrite, stack, await check(program)));
        } catch (err) {
            results.push({ id: rewrite.id, stack, kind: "rewrite", ok: false, detail: `does not apply: ${(err as Error).message}` });
        }
    }
    return results;
}

export function summary(results: CaseResult[]): string[] {
    const mutants = results.filter((r) => r.kind === "mutant");
    const rewrites = results.filter((r) => r.kind === "rewrite");
    return [`caught ${mutants.filter((r) => r.ok).length} of ${mutants.length}`, `rewrites passed ${rewrites.filter((r) => r.ok).length} of ${rewrites.length}`];
}

export function formatCase(r: CaseResult): string {
    return `${r.ok ? (r.kind === "mutant" ? "caught " : "passes ") : r.kind === "mutant" ? "MISSED " : "FALSE  "} ${r.stack.padEnd(4)} ${r.kind === "mutant" ? "mutant " : "rewrite"} ${r.id.padEnd(36)} ${r.detail}`;
}

async function main(argv: string[]): Promise<number> {
    const stacks = argv.includes("--stack") ? [argv[argv.indexOf("--stack") + 1] as "dev" | "prod"] : (["dev", "prod"] as const);
    const started = Date.now();
    const results: CaseResult[] = [];
    for (const stack of stacks) {
        const baseline = previewProgram(stack);
        for (const r of await runEditCases(stack, baseline)) {
            results.push(r);
            console.log(formatCase(r));
        }
    }
    if (argv.includes("--full")) {
        const { runSourcePatches } = await import("./source-patches");
        for (const r of await runSourcePatches(stacks as ("dev" | "prod")[])) {
            results.push(r);
            console.log(formatCase(r));
        }
    }
    for (const line of summary(results)) console.log(line);
    console.log(`(${((Date.now() - started) / 1000).toFixed(0)} s)`);
    return results.every((r) => r.ok) ? 0 : 1;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (err) => {
            console.error(err instanceof Error ? err.message : err);
            process.exit(2);
        },
    );
}
