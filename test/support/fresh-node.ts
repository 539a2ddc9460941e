import { spawn } from "child_process";

export interface FreshNodeRun {
    status: number | null;
    stdout: string;
    stderr: string;
}

/**
 * Runs a script in a new Node process with exactly `env` (nothing inherited but what is passed),
 * feeding `input` on stdin. Asynchronous on purpose: servers the test runs in this process (a
 * PutEvents endpoint, say) must keep answering while the child works. Killed after `timeoutMs`.
 */
export async function runFreshNode(script: string, options: { cwd: string; env: Record<string, string>; input: string; timeoutMs?: number }): Promise<FreshNodeRun> {
    const child = spawn(process.execPath, [script], { cwd: options.cwd, env: options.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    child.stdin.end(options.input);
    const killer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    const status = await new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    clearTimeout(killer);
    return { status, stdout, stderr };
}
