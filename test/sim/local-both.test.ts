import { strict as assert } from "assert";
import { ChildRun, combinedExitCode, formatBoth, judgeForward, judgeReverse, overlapSeconds, parseBothArgs, runBoth } from "../../tools/local-both";

/**
 * `npm run local:both` (tools/local-both.ts): both directions' fault simulations at once, each with
 * its own real servers and oracle, one report and one exit code.
 */
describe("npm run local:both (both directions at once)", () => {
  const child = (stdout: string, exitCode: number | null, startedAt = 0, endedAt = 1000): ChildRun => ({ exitCode, signal: null, stdout, stderr: "boom at the end", startedAt, endedAt });
  const forwardReport = (passed: boolean) =>
    JSON.stringify({ command: "npm run local -- --events 5", runs: [{ passed, failures: passed ? [] : ["3 events lost"], seed: 1, counts: {} }] });
  const reverseReport = (ok: boolean) => JSON.stringify([{ seed: 1, finished: true, verdict: { ok }, faults: {} }]);

  it("reads its options and refuses bad ones with the usage", () => {
    assert.deepEqual(parseBothArgs(["--events", "300", "--reverse-events", "40", "--seed", "7", "--json"]), {
      events: 300,
      reverseEvents: 40,
      seed: 7,
      wallLimitSeconds: 600,
      json: true,
    });
    assert.throws(() => parseBothArgs(["--events", "0"]), /--events must be an integer ≥ 1/);
    assert.throws(() => parseBothArgs(["--both"]), /unknown option '--both'[\s\S]*usage/);
  });

  it("passes only when both processes exit 0 and both reports say passed; a missing report is exit 2", () => {
    const judge = (f: ChildRun, r: ChildRun) => combinedExitCode([judgeForward(f, "fwd"), judgeReverse(r, "rev")]);
    assert.equal(judge(child(forwardReport(true), 0), child(reverseReport(true), 0)), 0);
    assert.equal(judge(child(forwardReport(false), 1), child(reverseReport(true), 0)), 1);
    assert.equal(judge(child(forwardReport(true), 0), child(reverseReport(false), 1)), 1);
    assert.equal(judge(child("", 2), child(reverseReport(true), 0)), 2);
    assert.equal(judge(child(forwardReport(true), 0), child("not json", null)), 2);
    // A report that says passed from a process that exited non-zero is not a pass.
    assert.equal(judge(child(forwardReport(true), 1), child(reverseReport(true), 0)), 2);
    assert.match(judgeForward(child("", 2), "fwd").why, /exit 2, no readable report: boom at the end/);
    assert.equal(overlapSeconds(child("", 0, 0, 5000), child("", 0, 2000, 9000)), 3);
    assert.equal(overlapSeconds(child("", 0, 0, 1000), child("", 0, 2000, 3000)), 0);
    assert.match(formatBoth([judgeForward(child(forwardReport(false), 1), "fwd"), judgeReverse(child(reverseReport(true), 0), "rev")], 1), /BOTH DIRECTIONS: FAIL \(AWS → Azure FAIL, Azure → AWS PASS\)/);
  });

  it("runs both directions small, at the same time, each with its own servers: both pass", async function () {
    this.timeout(240_000);
    const { verdicts, overlap, code } = await runBoth({ events: 100, reverseEvents: 30, seed: 3, wallLimitSeconds: 150, json: true });
    const text = formatBoth(verdicts, overlap);
    process.stdout.write(text.split("\n").filter((l) => /^(==|BOTH|Both|seed)/.test(l)).map((l) => `      ${l}`).join("\n") + "\n");
    assert.equal(code, 0, text);
    assert.deepEqual(verdicts.map((v) => v.verdict), ["PASS", "PASS"], text);
    // At once, not one after the other: the shorter run lay mostly inside the longer one.
    const shorter = Math.min(...verdicts.map((v) => v.seconds));
    assert.ok(overlap > 0.5 * shorter, `the runs overlapped ${overlap} s of the shorter one's ${shorter} s`);
    assert.match(text, /committed \d+/);
  });
});
