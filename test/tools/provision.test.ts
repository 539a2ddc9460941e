import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { installCommand, provision, ProvisionEnvironment, Requirement, REQUIREMENTS } from "../../tools/provision";

interface Machine {
    installed: Set<string>;
    isRoot: boolean;
    hasAptGet: boolean;
    /** Packages apt installs successfully; the others leave their program missing. */
    aptProvides?: (pkg: string) => string | undefined;
    updateStatus?: number;
    installStatus?: number;
}

/** An injected machine: records what would have been run, and "installs" by adding to `installed`. */
function machine(m: Machine) {
    const runs: Array<{ command: string; args: string[]; env: Record<string, string> }> = [];
    const printed: string[] = [];
    const env: ProvisionEnvironment = {
        present: (r: Requirement) => m.installed.has(r.label),
        isRoot: m.isRoot,
        hasAptGet: m.hasAptGet,
        run: (command, args, extra) => {
            runs.push({ command, args, env: extra });
            if (args[0] === "update") return m.updateStatus ?? 0;
            const status = m.installStatus ?? 0;
            if (status === 0) {
                for (const pkg of args.filter((a) => !a.startsWith("-") && a !== "install")) {
                    const label = m.aptProvides ? m.aptProvides(pkg) : REQUIREMENTS.find((r) => r.aptPackage === pkg)?.label;
                    if (label) m.installed.add(label);
                }
            }
            return status;
        },
        print: (line) => printed.push(line),
    };
    return { env, runs, printed: () => printed.join("\n") };
}

const ALL = REQUIREMENTS.map((r) => r.label);

describe("tools/provision (npm test's pretest)", () => {
    it("does nothing when redis-server, java and PostgreSQL 15 are all there", () => {
        const m = machine({ installed: new Set(ALL), isRoot: true, hasAptGet: true });
        assert.equal(provision(m.env), 0);
        assert.deepEqual(m.runs, []);
        assert.equal(m.printed(), "");
    });

    it("as root with apt-get: one apt-get update, then one noninteractive install of exactly the missing packages", () => {
        const m = machine({ installed: new Set(["java"]), isRoot: true, hasAptGet: true });
        assert.equal(provision(m.env), 0);
        assert.deepEqual(
            m.runs.map((r) => [r.command, ...r.args]),
            [
                ["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "redis-server", "postgresql-15"],
            ],
        );
        for (const r of m.runs) assert.equal(r.env.DEBIAN_FRONTEND, "noninteractive");
    });

    it("not root: installs nothing and prints the single command for what is missing", () => {
        const m = machine({ installed: new Set(["redis-server"]), isRoot: false, hasAptGet: true });
        assert.equal(provision(m.env), 1);
        assert.deepEqual(m.runs, []);
        const out = m.printed();
        assert.match(out, /java \(default-jre-headless\), PostgreSQL 15 \(postgresql-15\)/);
        assert.match(out, /not running as root/);
        assert.ok(out.includes(installCommand(["default-jre-headless", "postgresql-15"], false)), out);
        assert.ok(!out.includes(" redis-server"), "only the missing packages are named");
        assert.match(installCommand(["x"], false), /^sudo apt-get update && sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends x$/);
    });

    it("root without apt-get: installs nothing, prints the Debian command and says so", () => {
        const m = machine({ installed: new Set(), isRoot: true, hasAptGet: false });
        assert.equal(provision(m.env), 1);
        assert.deepEqual(m.runs, []);
        assert.match(m.printed(), /apt-get is not available here/);
        assert.ok(m.printed().includes("apt-get install -y --no-install-recommends redis-server default-jre-headless postgresql-15"));
    });

    it("stops when apt-get update fails, before installing", () => {
        const m = machine({ installed: new Set(ALL.slice(1)), isRoot: true, hasAptGet: true, updateStatus: 100 });
        assert.equal(provision(m.env), 1);
        assert.equal(m.runs.length, 1);
        assert.match(m.printed(), /apt-get update failed \(exit 100\)/);
    });

    it("fails when the install fails, or when the program is still missing afterwards", () => {
        const failing = machine({ installed: new Set(ALL.slice(1)), isRoot: true, hasAptGet: true, installStatus: 100 });
        assert.equal(provision(failing.env), 1);
        assert.match(failing.printed(), /apt-get install redis-server failed \(exit 100\)/);

        // e.g. a release whose PostgreSQL is not 15: the package installs, the binaries are elsewhere.
        const wrongMajor = machine({ installed: new Set(["redis-server", "java"]), isRoot: true, hasAptGet: true, aptProvides: () => undefined });
        assert.equal(provision(wrongMajor.env), 1);
        assert.match(wrongMajor.printed(), /PostgreSQL 15 is still not found \(\/usr\/lib\/postgresql\/15\/bin\/initdb\)/);
    });

    it("runs as npm's pretest and passes on this machine, where everything is installed", function () {
        this.timeout(30_000);
        const root = path.resolve(__dirname, "..", "..");
        const pkg = require(path.join(root, "package.json")) as { scripts: Record<string, string> };
        assert.match(pkg.scripts.pretest, /tools\/provision\.ts/);
        const result = spawnSync(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", "tools/provision.ts"], { cwd: root, encoding: "utf8" });
        assert.equal(result.status, 0, result.stderr);
    });
});
