import { spawnSync } from "child_process";
import * as path from "path";
import type { RecordedResource } from "../../tools/mock-engine";

export const ROOT = path.resolve(__dirname, "..", "..");

/** A resource as `preview --json` prints it: the mock engine's record. */
export type PreviewResource = Omit<RecordedResource, "inputs" | "outputs"> & {
    inputs: Record<string, any>;
    outputs: Record<string, any>;
};

export interface PreviewResult {
    status: number;
    stdout: string;
    stderr: string;
    stack: string;
    resources: PreviewResource[];
    outputs: Record<string, any>;
}

const cache = new Map<string, PreviewResult>();

/**
 * Runs the README's preview command (tools/preview.ts) in a fresh Node process, because the Pulumi
 * SDK keeps one program per process. Results are cached per argument list.
 */
export function preview(args: string[]): PreviewResult {
    const key = JSON.stringify(args);
    const hit = cache.get(key);
    if (hit) return hit;
    const run = spawnSync(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(ROOT, "tools", "preview.ts"), ...args], {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 120_000,
    });
    const result: PreviewResult = { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr, stack: "", resources: [], outputs: {} };
    if (args.includes("--json") && run.status === 0) {
        const doc = JSON.parse(run.stdout);
        Object.assign(result, { stack: doc.stack, resources: doc.resources, outputs: doc.outputs });
    }
    cache.set(key, result);
    return result;
}

/** The one resource of a type (optionally whose logical name ends with a role suffix); fails when not exactly one. */
export function one(result: PreviewResult, type: string, nameSuffix = ""): PreviewResource {
    const found = result.resources.filter((r) => r.type === type && r.name.endsWith(nameSuffix));
    if (found.length !== 1) {
        throw new Error(`expected exactly one ${type}${nameSuffix ? ` named *${nameSuffix}` : ""}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
    }
    return found[0];
}

export function all(result: PreviewResult, type: string): PreviewResource[] {
    return result.resources.filter((r) => r.type === type);
}
