/**
 * `pulumi policy publish` uploads policy/ and nothing else, and Pulumi Cloud installs the pack from
 * its own package.json / package-lock.json. These tests copy policy/ alone to a temporary folder and
 * load it there in a fresh Node process whose module loader refuses any file outside the copy and
 * outside node_modules: an import reaching back into the program (../runtime, ../components) fails.
 *
 * The copy resolves its packages from the repository's node_modules (NODE_PATH) rather than running
 * `npm ci` from its lockfile: that needs the registry, which a test must not. What stands in for it:
 * the lockfile is checked against the pack's package.json and the versions it locks are the ones
 * the copy is loaded with.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { OUTBOX_KEY_ATTRIBUTE as RUNTIME_OUTBOX_KEY } from "../../runtime/outbox-schema";
import { OUTBOX_KEY_ATTRIBUTE, policies } from "../../policy/policies";

const ROOT = path.resolve(__dirname, "..", "..");
const POLICY = path.join(ROOT, "policy");
const NODE_MODULES = path.join(ROOT, "node_modules");

/** A preload that fails every resolution to a file outside `allowed` folders (built-ins pass). */
const GUARD = `
const Module = require("module");
const path = require("path");
const allowed = JSON.parse(process.env.PACK_ALLOWED_DIRS);
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
    const file = resolve.call(this, request, parent, ...rest);
    if (path.isAbsolute(file) && !allowed.some((dir) => file === dir || file.startsWith(dir + path.sep))) {
        throw new Error("the pack imports a file outside its folder: " + request + " -> " + file + " (from " + (parent && parent.filename) + ")");
    }
    return file;
};
`;

function copyPack(into: string): string {
    const dest = path.join(into, "policy");
    fs.mkdirSync(dest, { recursive: true });
    for (const entry of fs.readdirSync(POLICY)) {
        if (entry === "node_modules" || entry === "bin") continue;
        fs.cpSync(path.join(POLICY, entry), path.join(dest, entry), { recursive: true });
    }
    return dest;
}

function loadIn(dir: string, script: string) {
    const guard = path.join(path.dirname(dir), "guard.js");
    fs.writeFileSync(guard, GUARD);
    return spawnSync(process.execPath, ["-r", guard, "-r", require.resolve("ts-node/register/transpile-only"), "-e", script], {
        cwd: dir,
        encoding: "utf8",
        timeout: 60_000,
        env: { ...process.env, NODE_PATH: NODE_MODULES, PACK_ALLOWED_DIRS: JSON.stringify([dir, NODE_MODULES]), TS_NODE_PROJECT: path.join(dir, "tsconfig.json") },
    });
}

describe("policy/ is self-contained (publishable alone)", function () {
    this.timeout(90_000);
    let tmp: string;
    beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "policy-pack-"))));
    afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("a copy of the folder alone loads every policy", () => {
        const copy = copyPack(tmp);
        const run = loadIn(copy, `const p = require("./policies"); console.log(JSON.stringify(p.policies.map((x) => x.name)));`);
        assert.strictEqual(run.status, 0, run.stderr);
        assert.deepStrictEqual(JSON.parse(run.stdout.trim()), policies.map((p) => p.name));
    });

    it("a copy of the folder alone starts the analyzer (index.ts), as the CLI runs it", () => {
        const copy = copyPack(tmp);
        // index.ts prints the port of its gRPC server, then serves forever: exit once it has printed.
        const run = loadIn(copy, `const log = console.log; console.log = (...a) => { log(...a); if (/^\\d+$/.test(String(a[0]))) process.exit(0); }; require("./index");`);
        assert.strictEqual(run.status, 0, run.stderr);
        assert.match(run.stdout, /^\d+\s*$/m);
    });

    it("the loader guard refuses an import from outside the copy (so the tests above can fail)", () => {
        const copy = copyPack(tmp);
        fs.writeFileSync(path.join(tmp, "outside.ts"), "export const X = 1;\n");
        fs.appendFileSync(path.join(copy, "common.ts"), '\nexport { X } from "../outside";\n');
        const run = loadIn(copy, `require("./policies");`);
        assert.notStrictEqual(run.status, 0);
        assert.match(run.stderr, /outside its folder: \.\.\/outside/);
    });

    it("package-lock.json belongs to package.json and locks the versions the copy was loaded with", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(POLICY, "package.json"), "utf8"));
        const lock = JSON.parse(fs.readFileSync(path.join(POLICY, "package-lock.json"), "utf8"));
        assert.strictEqual(lock.name, pkg.name);
        assert.deepStrictEqual(lock.packages[""].dependencies, pkg.dependencies);
        assert.deepStrictEqual(lock.packages[""].devDependencies, pkg.devDependencies);
        for (const name of Object.keys(pkg.dependencies)) {
            const installed = String(JSON.parse(fs.readFileSync(path.join(NODE_MODULES, name, "package.json"), "utf8")).version).replace(/^v/, "");
            assert.strictEqual(lock.packages[`node_modules/${name}`].version, installed, `${name}: locked vs installed`);
        }
    });

    it("no file of the pack names a path outside it", () => {
        const offenders = fs
            .readdirSync(POLICY)
            .filter((f) => f.endsWith(".ts"))
            .filter((f) => /from\s+["']\.\.\//.test(fs.readFileSync(path.join(POLICY, f), "utf8")));
        assert.deepStrictEqual(offenders, []);
    });

    it("the pack's outbox key is the runtime's", () => assert.strictEqual(OUTBOX_KEY_ATTRIBUTE, RUNTIME_OUTBOX_KEY));
});
