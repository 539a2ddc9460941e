import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { applyMutant, MUTANTS } from "../../tools/sim-mutants/mutants";
import { parseMutantArgs, runMutants, selectMutants } from "../../tools/sim-mutants/run";

/**
 * The fault simulation's mutation test (tools/sim-mutants). The whole suite is `npm run sim:mutants`
 * (docs/simulation.md has its time); CI runs the fast subset here.
 */
describe("sim:mutants (tools/sim-mutants)", () => {
  it("every mutant's anchor occurs exactly once in today's source, and a missing anchor is an error, not a silent no-op", () => {
    for (const m of MUTANTS) {
      const text = fs.readFileSync(path.join(__dirname, "..", "..", m.file), "utf8");
      assert.notEqual(applyMutant(text, m), text, m.id);
    }
    const m = MUTANTS[0];
    assert.throws(() => applyMutant("nothing here", m), /anchor not found/);
    assert.throws(() => applyMutant(m.find + m.find, m), /more than once/);
    assert.ok(MUTANTS.length >= 15);
    assert.equal(new Set(MUTANTS.map((x) => x.id)).size, MUTANTS.length);
  });

  it("reads its options", () => {
    assert.deepEqual(parseMutantArgs(["--fast", "--seeds", "4,5", "--need", "1"]).seeds, [4, 5]);
    assert.throws(() => parseMutantArgs(["--need", "4"]), /exceeds the number of seeds/);
    assert.throws(() => parseMutantArgs(["--only", "no-such"]), /no mutant named no-such/);
    assert.ok(selectMutants({ fast: true }).length >= 3);
  });

  it("the fast subset: the unmutated copy passes and every mutant makes the simulation fail on both of 2 seeds", async function () {
    this.timeout(15 * 60_000);
    const lines: string[] = [];
    const { control, results } = await runMutants(parseMutantArgs(["--fast", "--seeds", "1,2", "--need", "2"]), (l) => lines.push(l));
    assert.ok(control.every((r) => r.exitCode === 0), lines.join("\n"));
    const missed = results.filter((r) => !r.caught);
    assert.deepEqual(missed.map((r) => r.id), [], lines.join("\n"));
  });
});
