import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as path from "path";

/**
 * The runtime is packaged into Lambda and Function closures: it must not pull in Pulumi, and
 * importing it must do nothing (no output, no timers, no connections), so a process that only
 * imports it exits at once.
 */
describe("runtime boundaries", function () {
  this.timeout(60_000);
  const root = path.resolve(__dirname, "../..");

  it("loading the whole runtime in a fresh process loads no @pulumi module and has no side effects", () => {
    const script = `
      const before = new Set(Object.keys(require.cache));
      require("./runtime");
      const loaded = Object.keys(require.cache).filter((k) => !before.has(k));
      const pulumi = loaded.filter((k) => /[\\\\/]@pulumi[\\\\/]/.test(k));
      const handles = process._getActiveHandles().filter((h) => !(h === process.stdout || h === process.stderr || h === process.stdin));
      process.stdout.write(JSON.stringify({ modules: loaded.length, pulumi, handles: handles.length }));
    `;
    const started = Date.now();
    const out = execFileSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
      // A module that opened a timer or socket at import keeps the process alive: that fails here.
      timeout: 20_000,
    });
    const result = JSON.parse(out) as { modules: number; pulumi: string[]; handles: number };
    assert.ok(result.modules > 5, "the runtime was actually loaded");
    assert.deepEqual(result.pulumi, []);
    assert.equal(result.handles, 0, "no sockets, servers or timers opened at import");
    assert.ok(Date.now() - started < 30_000);
  });
});
