import { strict as assert } from "assert";
import { formatReverseReport, runReverseSeeds } from "../../tools/sim-reverse/run-seeds";
import type { ReverseSimReport } from "../../tools/sim-reverse/simulation";

/**
 * The Azure → AWS direction under seeded faults (docs/simulation-reverse.md): real PostgreSQL,
 * relay core, DynamoDB Local store and consumer core; models of EventBridge, SQS and the mapping.
 * MESH_REVERSE_SIM_SEEDS / _EVENTS / _PARALLEL override the defaults.
 */
describe("reverse simulation (Azure → AWS) under seeded faults", function () {
  this.timeout(240_000);
  const seedCount = Number(process.env.MESH_REVERSE_SIM_SEEDS ?? 20);
  const events = Number(process.env.MESH_REVERSE_SIM_EVENTS ?? 100);
  const parallel = Number(process.env.MESH_REVERSE_SIM_PARALLEL ?? 7);
  let reports: ReverseSimReport[];

  before(async () => {
    reports = await runReverseSeeds({ seeds: Array.from({ length: seedCount }, (_, i) => i + 1), events, parallel, wallLimitMs: 120_000 });
    process.stdout.write(formatReverseReport(reports).split("\n").filter((l) => !l.startsWith("  faults")).join("\n") + "\n");
  });

  it(`loses nothing and repeats no effect without a measured cause, on every seed`, () => {
    assert.equal(reports.length, seedCount);
    const failed = reports.filter((r) => !(r.finished && r.verdict.ok));
    assert.deepEqual(failed.map((r) => r.seed), [], formatReverseReport(failed));
    for (const r of reports) {
      assert.equal(r.verdict.lost.length, 0);
      assert.equal(r.verdict.unexplainedRepeats.length, 0);
      assert.ok(r.verdict.figures.committed > 0 && r.verdict.figures.appliedOnce > 0, `seed ${r.seed} applied nothing`);
    }
  });

  it("really injected every kind of fault (counted by the harness, over all seeds)", () => {
    const totals: Record<string, number> = {};
    for (const r of reports) for (const [k, n] of Object.entries(r.faults)) totals[k] = (totals[k] ?? 0) + n;
    const required = [
      "poison",
      "businessWriteFails",
      "commitRetried",
      "corruptRows",
      "relayCrashAfterClaim",
      "relayCrashAfterAccept",
      "putEventsThrottled",
      "entryFails",
      "entryFailureStreaks",
      "targetDeliveryFails",
      "targetDeliversTwice",
      "sqsDeleteLost",
      "sqsReceivedTwice",
      "handlerThrows",
      "consumerCrashBeforeEffect",
      "consumerCrashAfterEffect",
      "handlerStalls",
    ];
    for (const kind of required) assert.ok((totals[kind] ?? 0) > 0, `fault ${kind} never fired: ${JSON.stringify(totals)}`);
    // The relay crashes must really have produced second publications the consumer then absorbed.
    assert.ok(reports.some((r) => r.verdict.figures.publishedMoreThanOnce > 0), "no event was published twice: the relay crash after accept did not bite");
    assert.ok(reports.every((r) => r.verdict.figures.refused === 0 || r.faults.businessWriteFails > 0));
  });
});
