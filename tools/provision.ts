/**
 * `npm test`'s pretest step: makes sure the servers the tests start for themselves are installed.
 *
 *   redis-server        Debian package redis-server (the idempotency store's tests run a private instance)
 *   java                Debian package default-jre-headless (DynamoDB Local, from the npm package
 *                       amplify-dynamodb-simulator, is a jar)
 *   PostgreSQL 15       Debian package postgresql-15 (/usr/lib/postgresql/15/bin/initdb and friends)
 *
 * When something is missing and this process may install it (root, apt-get present), it runs
 * `apt-get update` once and one noninteractive `apt-get install`; otherwise it stops at once and
 * prints the single command that installs what is missing. It never guesses at another package
 * manager: the tests are only run on Debian-like machines here, and a wrong guess would fail later
 * and less clearly than a stop now.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import { findExecutable } from "./local-servers/processes";

export interface Requirement {
    /** What the person reads: "redis-server", "java", "PostgreSQL 15". */
    label: string;
    /** A command looked up on PATH, or an absolute path that must exist. */
    probe: { command: string } | { path: string };
    /** The Debian package that provides it. */
    aptPackage: string;
}

/**
 * `postgresql-15` rather than the `postgresql` metapackage: the metapackage follows the
 * distribution's default major (15 on Debian 12, 17 on Debian 13), and the tests need the
 * binaries under /usr/lib/postgresql/15/bin. On a release without 15, apt fails at once with
 * "Unable to locate package postgresql-15", which says more than a wrong major would later.
 */
export const REQUIREMENTS: readonly Requirement[] = [
    { label: "redis-server", probe: { command: "redis-server" }, aptPackage: "redis-server" },
    { label: "java", probe: { command: "java" }, aptPackage: "default-jre-headless" },
    { label: "PostgreSQL 15", probe: { path: "/usr/lib/postgresql/15/bin/initdb" }, aptPackage: "postgresql-15" },
];

/** What this machine offers; injected so the decision can be tested without touching apt. */
export interface ProvisionEnvironment {
    /** True when the requirement's command or path is there. */
    present(requirement: Requirement): boolean;
    isRoot: boolean;
    hasAptGet: boolean;
    /** Runs a command with inherited stdio; resolves with its exit status. */
    run(command: string, args: string[], env: Record<string, string>): number;
    print(line: string): void;
}

/** The one command a person runs to install `packages` (sudo unless already root). */
export function installCommand(packages: readonly string[], isRoot: boolean): string {
    const sudo = isRoot ? "" : "sudo ";
    return `${sudo}apt-get update && ${sudo}env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${packages.join(" ")}`;
}

/** Returns the process exit code: 0 when everything is (now) installed. */
export function provision(env: ProvisionEnvironment, requirements: readonly Requirement[] = REQUIREMENTS): number {
    const missing = requirements.filter((r) => !env.present(r));
    if (missing.length === 0) return 0;
    const packages = missing.map((r) => r.aptPackage);
    const what = missing.map((r) => `${r.label} (${r.aptPackage})`).join(", ");
    if (!env.isRoot || !env.hasAptGet) {
        const why = !env.hasAptGet ? "apt-get is not available here" : "this is not running as root";
        env.print(`provision: the tests need ${what}, which ${missing.length === 1 ? "is" : "are"} missing, and ${why}, so nothing was installed.`);
        env.print(`provision: install ${missing.length === 1 ? "it" : "them"} with:\n\n    ${installCommand(packages, env.isRoot)}\n`);
        if (!env.hasAptGet) env.print("provision: (that is the Debian/Ubuntu command; on another system install the same programs with its package manager)");
        return 1;
    }
    env.print(`provision: installing ${what}`);
    const aptEnv = { DEBIAN_FRONTEND: "noninteractive" };
    const update = env.run("apt-get", ["update", "-qq"], aptEnv);
    if (update !== 0) {
        env.print(`provision: apt-get update failed (exit ${update}); nothing was installed. Run by hand:\n\n    ${installCommand(packages, true)}\n`);
        return 1;
    }
    const install = env.run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages], aptEnv);
    if (install !== 0) {
        env.print(`provision: apt-get install ${packages.join(" ")} failed (exit ${install}).`);
        return 1;
    }
    const stillMissing = missing.filter((r) => !env.present(r));
    if (stillMissing.length > 0) {
        env.print(`provision: installed ${packages.join(" ")}, but ${stillMissing.map((r) => r.label).join(", ")} is still not found (${stillMissing.map(describeProbe).join(", ")}).`);
        return 1;
    }
    return 0;
}

function describeProbe(r: Requirement): string {
    return "command" in r.probe ? `'${r.probe.command}' on PATH` : r.probe.path;
}

export function machineEnvironment(): ProvisionEnvironment {
    return {
        present: (r) => ("command" in r.probe ? findExecutable(r.probe.command) !== undefined : fs.existsSync(r.probe.path)),
        isRoot: typeof process.getuid === "function" && process.getuid() === 0,
        hasAptGet: findExecutable("apt-get") !== undefined,
        run: (command, args, extraEnv) => spawnSync(command, args, { stdio: "inherit", env: { ...process.env, ...extraEnv } }).status ?? 1,
        print: (line) => console.error(line),
    };
}

if (require.main === module) {
    process.exit(provision(machineEnvironment()));
}
