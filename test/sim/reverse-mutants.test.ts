import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { applyReverseMutant, REVERSE_MUTANTS } from "../../tools/sim-mutants/reverse-mutants";
import { parseReverseMutantArgs, runReverseMutants, selectReverseMutants } from "../../tools/sim-mutants/reverse-run";

/**
 * The reverse simulation's mutation test (tools/sim-mutants/reverse-*.ts). The whole suite is
 * `npm run sim:mutants -- --reverse` (docs/simulation-reverse.md has its time and result); CI runs
 * the fast subset here, small.
 */
describe("sim:mutants --reverse (tools/sim-mutants/reverse-*.ts)", () => {
  it("every reverse mutant's anchor occurs exactly once in today's source, and a missing anchor is an error", () => {
    for (const m of REVERSE_MUTANTS) {
      const text = fs.readFileSync(path.join(__dirname, "..", "..", m.file), "utf8");
      assert.notEqual(applyReverseMutant(text, m), text, m.id);
    }
    const m = REVERSE_MUTANTS[0];
    assert.throws(() => applyReverseMutant("nothing here", m), /anchor not found/);
    assert.throws(() => applyReverseMutant(m.find + m.find, m), /more than once/);
    assert.equal(new Set(REVERSE_MUTANTS.map((x) => x.id)).size, REVERSE_MUTANTS.length);
    // The bug classes issue 13 names: writer, relay, store, SQS host and the models.
    assert.ok(REVERSE_MUTANTS.length >= 10);
    for (const area of ["outbox writer", "relay", "store", "SQS host"]) assert.ok(REVERSE_MUTANTS.some((x) => x.area === area), area);
  });

  it("reads its options", () => {
    assert.deepEqual(parseReverseMutantArgs(["--fast", "--seeds", "4,5", "--need", "1"]).seeds, [4, 5]);
    assert.throws(() => parseReverseMutantArgs(["--need", "4"]), /exceeds the number of seeds/);
    assert.throws(() => parseReverseMutantArgs(["--only", "no-such"]), /no reverse mutant named no-such/);
    assert.ok(selectReverseMutants({ fast: true }).length >= 2);
  });

  // About 60 s on a quiet machine (three runs of two seeds × 60 events); the full suite's time is in the doc.
  it("the fast subset, small: the unmutated copy passes and every mutant fails both of 2 seeds", async function () {
    this.timeout(240_000);
    const lines: string[] = [];
    const o = parseReverseMutantArgs(["--fast", "--seeds", "1,2", "--need", "2", "--events", "60", "--parallel", "2", "--wall-limit-seconds", "90"]);
    const { control, results } = await runReverseMutants(o, (l) => lines.push(l));
    process.stdout.write(lines.map((l) => `      ${l}`).join("\n") + "\n");
    assert.ok(control.every((r) => !r.failed), lines.join("\n"));
    assert.equal(results.length, selectReverseMutants({ fast: true }).length);
    assert.deepEqual(results.filter((r) => !r.caught).map((r) => r.id), [], lines.join("\n"));
  });
});
