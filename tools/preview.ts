/**
 * `npm run preview -- --stack dev|prod [--json] [--policy-only] [--policy-config policy.key=value]`
 *
 * Evaluates the real program (index.ts) with the stack's configuration under Pulumi's mocks, with
 * no Pulumi CLI and no cloud credentials, and prints every resource it would create as a tree, then
 * the stack outputs, then the verdicts of the CrossGuard pack in policy/ run against those
 * resources (tools/policy-runner.ts). Exits non-zero with the program's error when the program
 * throws, and with the violations when a mandatory policy is violated. Then checks every name and
 * property against the clouds' documented constraints (tools/cloud-constraints, docs/cloud-constraints.md)
 * and exits 4 naming resource, property, value and rule for each one a cloud API would reject
 * (`--strict-constraints`: also the violations listed as pending another change).
 */
import * as fs from "fs";
import * as path from "path";
import type { PolicyPackConfig } from "@pulumi/policy";
import { FAKE_NOW, loadStackConfig, ProgramRun, RecordedResource, runProgram } from "./mock-engine";
import { formatPolicyReport, PolicyReport, runPolicies } from "./policy-runner";
import { meshDiagram, meshDiagramMarkdown, meshDiagramSvg, replaceReadmeDiagram } from "./diagram";
import { checkCloudConstraints, CloudConstraintsResult, formatCloudConstraints } from "./cloud-constraints";

const ROOT = path.resolve(__dirname, "..");
const PROJECT = "multicloud-mesh";

interface Options {
    /** Write each code archive (Lambda closure, Functions package) under this folder, as the provider would zip it. */
    writeArchives?: string;
    stack: string;
    json: boolean;
    /** Print secret values instead of "[secret]" (like `pulumi stack output --show-secrets`). */
    showSecrets: boolean;
    /** `key=value` overrides on top of the stack file, like `pulumi config set` without writing it. */
    overrides: Record<string, string>;
    /** Print only the policy verdicts (CI). */
    policyOnly: boolean;
    /** `policy.key=value` (value parsed as JSON when it parses) or `policy=level`, like `--policy-config`. */
    policyConfig: PolicyPackConfig;
    /** Where the diagram goes (`<dir>/<stack>/mesh.md` and `mesh.svg`); undefined: not written. */
    diagramDir?: string;
    /** Also replace the stack's diagram embedded in docs/diagram.md (the README links it). */
    updateReadme: boolean;
    /** Fail on cloud-constraint violations that are listed as pending another change, too. */
    strictConstraints: boolean;
}

function parseArgs(argv: string[]): Options {
    const options: Options = { stack: "dev", json: false, showSecrets: false, overrides: {}, policyOnly: false, policyConfig: {}, diagramDir: path.join(ROOT, ".preview"), updateReadme: false, strictConstraints: false };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--stack" || arg === "-s") {
            const value = argv[++i];
            if (!value) throw new UsageError("--stack needs a stack name (dev, prod)");
            options.stack = value;
        } else if (arg.startsWith("--stack=")) {
            options.stack = arg.slice("--stack=".length);
        } else if (arg === "--config" || arg === "-c") {
            const pair = argv[++i] ?? "";
            const eq = pair.indexOf("=");
            if (eq <= 0) throw new UsageError(`--config needs key=value, got ${JSON.stringify(pair)}`);
            const key = pair.slice(0, eq);
            options.overrides[key.includes(":") ? key : `${PROJECT}:${key}`] = pair.slice(eq + 1);
        } else if (arg === "--diagram-dir") {
            const value = argv[++i];
            if (!value) throw new UsageError("--diagram-dir needs a folder");
            options.diagramDir = path.resolve(value);
        } else if (arg === "--update-readme") {
            options.updateReadme = true;
        } else if (arg === "--strict-constraints") {
            options.strictConstraints = true;
        } else if (arg === "--no-diagram") {
            options.diagramDir = undefined;
        } else if (arg === "--policy-only") {
            options.policyOnly = true;
        } else if (arg === "--policy-config") {
            const pair = argv[++i] ?? "";
            const match = /^([^.=]+)(?:\.([^=]+))?=(.*)$/.exec(pair);
            if (!match) throw new UsageError(`--policy-config needs policy.key=value or policy=level, got ${JSON.stringify(pair)}`);
            const [, policy, key, raw] = match;
            const entry = options.policyConfig[policy];
            const current = typeof entry === "string" ? { enforcementLevel: entry } : { ...(entry ?? {}) };
            if (key === undefined) (current as Record<string, unknown>).enforcementLevel = raw;
            else {
                let value: unknown = raw;
                try {
                    value = JSON.parse(raw);
                } catch {
                    /* a plain string */
                }
                (current as Record<string, unknown>)[key] = value;
            }
            options.policyConfig[policy] = current as PolicyPackConfig[string];
        } else if (arg === "--show-secrets") {
            options.showSecrets = true;
        } else if (arg === "--write-archives") {
            const dir = argv[++i];
            if (!dir) throw new UsageError("--write-archives needs a folder");
            options.writeArchives = path.resolve(dir);
        } else if (arg === "--json") {
            options.json = true;
        } else if (arg === "--help" || arg === "-h") {
            throw new UsageError("");
        } else {
            throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
        }
    }
    return options;
}

class UsageError extends Error {}

/** Inputs that say nothing a reader needs in a tree (tags repeat on every resource). */
const HIDDEN_INPUTS = new Set(["tags", "__defaults", "version"]);

function formatValue(value: unknown): string {
    if (typeof value === "string") {
        const trimmed = value.trim();
        if ((trimmed.startsWith("{") || trimmed.startsWith("[")) && trimmed.length > 2) {
            try {
                return JSON.stringify(JSON.parse(trimmed));
            } catch {
                /* not JSON: print as a string */
            }
        }
        return JSON.stringify(value);
    }
    return JSON.stringify(value);
}

function describeInputs(resource: RecordedResource, showSecrets: boolean): string[] {
    const lines: string[] = [];
    for (const [key, value] of Object.entries(resource.inputs)) {
        if (HIDDEN_INPUTS.has(key) || value === undefined) continue;
        const text = resource.secretInputs.includes(key) && !showSecrets ? "[secret]" : formatValue(value);
        lines.push(`${key}: ${text}`);
    }
    return lines;
}

function printTree(run: ProgramRun, stack: string, showSecrets: boolean): void {
    const children = new Map<string | undefined, RecordedResource[]>();
    for (const r of run.resources) {
        const list = children.get(r.parent) ?? [];
        list.push(r);
        children.set(r.parent, list);
    }
    const custom = run.resources.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:")).length;
    console.log(`Offline preview of stack "${stack}" (mocked engine, no cloud calls): ${custom} resources would be created\n`);

    const walk = (parent: string | undefined, indent: string) => {
        for (const r of children.get(parent) ?? []) {
            const flags = [r.custom ? "" : "component", r.protect ? "protected" : ""].filter(Boolean).join(", ");
            console.log(`${indent}+ ${r.type}  ${r.name}${flags ? `  (${flags})` : ""}`);
            if (r.custom && !r.type.startsWith("pulumi:")) {
                for (const line of describeInputs(r, showSecrets)) {
                    console.log(`${indent}      ${line.length > 220 ? `${line.slice(0, 217)}...` : line}`);
                }
            }
            walk(r.urn, `${indent}    `);
        }
    };
    walk(undefined, "");

    console.log("\nOutputs:");
    const width = Math.max(...Object.keys(run.outputs).map((k) => k.length));
    for (const [key, value] of Object.entries(run.outputs)) {
        console.log(`    ${key.padEnd(width)}  ${run.secretOutputs.includes(key) && !showSecrets ? "[secret]" : formatValue(value)}`);
    }
    console.log("\nValues that only a cloud provider computes (ARNs, ids, endpoints, secrets) are invented by the mocks.");
}

function toJson(run: ProgramRun, stack: string, showSecrets: boolean, policies: PolicyReport, constraints: CloudConstraintsResult): unknown {
    const hide = (values: Record<string, unknown>, secretKeys: string[]) =>
        showSecrets ? values : Object.fromEntries(Object.entries(values).map(([k, v]) => [k, secretKeys.includes(k) ? "[secret]" : v]));
    return {
        stack,
        resources: run.resources.map((r) => ({
            urn: r.urn,
            type: r.type,
            name: r.name,
            parent: r.parent,
            provider: r.provider,
            custom: r.custom,
            protect: r.protect,
            dependsOn: r.dependsOn,
            replaceOnChanges: r.replaceOnChanges,
            deleteBeforeReplace: r.deleteBeforeReplace,
            inputs: hide(r.inputs, r.secretInputs),
            secretInputs: r.secretInputs,
            // Outputs echo inputs, so a secret input must not come back out through them either.
            outputs: hide(r.outputs, [...r.secretInputs, ...r.secretOutputs]),
            secretOutputs: r.secretOutputs,
        })),
        outputs: hide(run.outputs, run.secretOutputs),
        secretOutputs: run.secretOutputs,
        policies,
        cloudConstraints: {
            failing: constraints.failing,
            pending: constraints.pending,
            stalePending: constraints.stalePending,
            checkedValues: constraints.checkedValues,
            skippedComputed: constraints.skippedComputed,
            autoNames: constraints.autoNames,
            providerForcesNew: constraints.providerForcesNew,
            exempt: constraints.exempt,
            unchecked: constraints.unchecked,
        },
    };
}

async function main(): Promise<void> {
    let options: Options;
    try {
        options = parseArgs(process.argv.slice(2));
    } catch (err) {
        if (err instanceof UsageError) {
            if (err.message) console.error(`preview: ${err.message}`);
            console.error("usage: npm run preview -- [--stack dev|prod] [--json] [--show-secrets] [--config key=value ...] [--policy-only] [--policy-config policy.key=value ...] [--diagram-dir DIR | --no-diagram] [--update-readme] [--strict-constraints]");
            process.exit(err.message ? 2 : 0);
        }
        throw err;
    }
    const config = loadStackConfig(ROOT, options.stack);
    Object.assign(config.values, options.overrides);
    const run = await runProgram({
        project: PROJECT,
        stack: options.stack,
        config,
        program: () => require(path.join(ROOT, "index.ts")),
        writeArchivesTo: options.writeArchives,
    });
    // Secret lifetimes are measured from the mock engine's clock, which dates every invented secret.
    const entraPolicy = "entra-application-password-lifetime";
    const entry = options.policyConfig[entraPolicy];
    const policyConfig: PolicyPackConfig = {
        ...options.policyConfig,
        [entraPolicy]: { referenceTime: FAKE_NOW, ...(typeof entry === "string" ? { enforcementLevel: entry } : entry ?? {}) },
    };
    const report = await runPolicies(run.resources, { config: policyConfig });
    // What the mocks accept but a cloud API would refuse (names, enums, ranges, create-only properties).
    const constraints = checkCloudConstraints(run.resources);
    const written: string[] = [];
    if (options.diagramDir) {
        const dir = path.join(options.diagramDir, options.stack);
        fs.mkdirSync(dir, { recursive: true });
        const mermaid = meshDiagram(run.resources, options.stack);
        fs.writeFileSync(path.join(dir, "mesh.md"), meshDiagramMarkdown(mermaid, options.stack));
        written.push(path.relative(process.cwd(), path.join(dir, "mesh.md")));
        if (options.updateReadme) {
            const readme = path.join(ROOT, "docs", "diagram.md");
            fs.writeFileSync(readme, replaceReadmeDiagram(fs.readFileSync(readme, "utf8"), options.stack, mermaid));
            written.push("docs/diagram.md");
        }
        const svg = await meshDiagramSvg(mermaid);
        if (svg) {
            fs.writeFileSync(path.join(dir, "mesh.svg"), svg);
            written.push(path.relative(process.cwd(), path.join(dir, "mesh.svg")));
        }
    }
    if (options.json) {
        console.log(JSON.stringify(toJson(run, options.stack, options.showSecrets, report, constraints), null, 2));
    } else {
        if (!options.policyOnly) {
            printTree(run, options.stack, options.showSecrets);
            console.log("");
        }
        console.log(formatPolicyReport(report, options.stack));
        console.log(`\n${formatCloudConstraints(constraints, options.stack)}`);
        if (written.length > 0) console.log(`\nDiagram of the mesh: ${written.join(", ")}`);
    }
    if (!report.passed) {
        if (options.json) console.error(formatPolicyReport(report, options.stack));
        process.exit(3);
    }
    const rejected = constraints.failing.length + (options.strictConstraints ? constraints.pending.length : 0);
    if (rejected > 0) {
        if (options.json) console.error(formatCloudConstraints(constraints, options.stack));
        console.error(`\npreview failed: ${rejected} value(s) the cloud APIs would reject (resource, property, value, rule above)`);
        // Not process.exit: on a pipe, stdout is written asynchronously and exit would cut the report short.
        process.exitCode = 4;
    }
}

const fail = (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`preview failed:\n${message}`);
    process.exit(1);
};
process.on("unhandledRejection", fail);
main().catch(fail);
