/**
 * The mutation suite of tools/policy-mutants in `npm test`, in its fast form: every mutant on every
 * stack it names, checked by its intended policy alone (is it reported, and does a mandatory
 * report fail the run?), and the compliant rewrites of the dev stack against the whole pack. The
 * whole run, every mutant against the whole pack and both stacks, is `npm run policy:mutants`
 * (docs/policy-mutants.md gives its time).
 */
import * as assert from "assert";
import { policies } from "../../policy/policies";
import { MUTANTS, REWRITES } from "../../tools/policy-mutants/catalogue";
import { clone, Program } from "../../tools/policy-mutants/edit";
import { judgeMutant, judgeRewrite, MUTANT_POLICY_CONFIG, runEditCases } from "../../tools/policy-mutants/run";
import { runPolicies } from "../../tools/policy-runner";
import { programResources } from "./support";

describe("policy mutants (tools/policy-mutants): realistic weakenings are caught by their intended policy", function () {
    this.timeout(180_000);
    const programs: Record<string, Program> = {};
    before(() => {
        for (const stack of ["dev", "prod"]) programs[stack] = programResources(stack);
    });

    it("the catalogue has ≥ 40 mutants across the six classes and both stacks, ≥ 10 rewrites, each naming a real policy", () => {
        const cases = MUTANTS.flatMap((m) => m.stacks.map((s) => `${m.id}@${s}`));
        assert.ok(cases.length >= 40, `${cases.length} mutant cases`);
        assert.deepStrictEqual(new Set(MUTANTS.map((m) => m.class)).size, 6);
        for (const stack of ["dev", "prod"]) assert.ok(MUTANTS.some((m) => m.stacks.includes(stack as "dev")), stack);
        assert.ok(REWRITES.flatMap((r) => r.stacks).length >= 10);
        const names = new Set(policies.map((p) => p.name));
        assert.deepStrictEqual(MUTANTS.filter((m) => !names.has(m.policy)).map((m) => m.id), []);
        assert.strictEqual(new Set(MUTANTS.map((m) => m.id)).size, MUTANTS.length);
    });

    it("every policy of the pack is the intended catcher of at least one mutant (a policy nothing breaks is untested)", () => {
        const targeted = new Set(MUTANTS.map((m) => m.policy));
        assert.deepStrictEqual(policies.map((p) => p.name).filter((name) => !targeted.has(name)), []);
    });

    for (const mutant of MUTANTS) {
        for (const stack of mutant.stacks) {
            it(`${stack}: ${mutant.id} → ${mutant.policy}`, async () => {
                const program = clone(programs[stack]);
                mutant.apply(program);
                const policy = policies.find((p) => p.name === mutant.policy)!;
                const result = judgeMutant(mutant, stack, await runPolicies(program, { policies: [policy], config: MUTANT_POLICY_CONFIG }));
                assert.ok(result.ok, result.detail);
                // The same policy on the unmutated program is silent: the mutant, not the baseline, is what it reports.
                const clean = await runPolicies(clone(programs[stack]), { policies: [policy], config: MUTANT_POLICY_CONFIG });
                assert.deepStrictEqual(clean.verdicts[0].violations, []);
            });
        }
    }

    it("dev: every compliant rewrite passes the whole pack (no false alarm)", async () => {
        const results = await runEditCases("dev", programs.dev, { mutants: false, rewrites: true });
        assert.ok(results.length >= 5);
        assert.deepStrictEqual(results.filter((r) => !r.ok).map((r) => `${r.id}: ${r.detail}`), []);
    });

    it("a rewrite that weakens something is not judged compliant (the rewrite check can fail)", async () => {
        const program = clone(programs.dev);
        MUTANTS.find((m) => m.id === "target-without-dlq")!.apply(program);
        const result = judgeRewrite({ id: "weakening" }, "dev", await runPolicies(program, { config: MUTANT_POLICY_CONFIG }));
        assert.strictEqual(result.ok, false);
        assert.match(result.detail, /FALSE ALARM by eventbridge-target-retry-dlq/);
    });
});
