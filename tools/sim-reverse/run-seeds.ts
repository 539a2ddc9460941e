/**
 * Starts the real servers once (PostgreSQL 15, DynamoDB Local) and runs several seeds of the
 * reverse simulation on them, `parallel` at a time; each seed gets its own database and table.
 */
import { Pool } from "pg";
import { startDynamoDbLocal } from "../local-servers/dynamodb-local";
import { startPostgres } from "../local-servers/postgres";
import { ReverseSimReport, runReverseSimulation } from "./simulation";

export async function runReverseSeeds(options: { seeds: number[]; events: number; parallel: number; wallLimitMs?: number }): Promise<ReverseSimReport[]> {
  const [pg, ddb] = await Promise.all([startPostgres(), startDynamoDbLocal()]);
  const admin = new Pool({ ...pg.superuserConfig("postgres"), max: 4 });
  const dynamoDb = ddb.client();
  try {
    const reports: ReverseSimReport[] = [];
    let next = 0;
    const worker = async () => {
      while (next < options.seeds.length) {
        const seed = options.seeds[next++];
        reports.push(
          await runReverseSimulation({
            seed,
            events: options.events,
            pgConfig: { host: pg.host, port: pg.port, user: "postgres", database: "postgres" },
            adminPool: admin,
            dynamoDb,
            wallLimitMs: options.wallLimitMs,
          }),
        );
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.parallel) }, worker));
    return reports.sort((a, b) => a.seed - b.seed);
  } finally {
    dynamoDb.destroy();
    await admin.end();
    await Promise.all([pg.stop(), ddb.stop()]);
  }
}

/** One line per seed and the verdict's failures in full. */
export function formatReverseReport(reports: ReverseSimReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    const v = r.verdict;
    const f = v.figures;
    lines.push(
      `seed ${r.seed}: ${v.ok && r.finished ? "PASS" : "FAIL"} in ${(r.durationMs / 1000).toFixed(1)} s` +
        `${r.finished ? "" : " (did not drain before the wall limit)"} — committed ${f.committed}, refused ${f.refused}, poison ${f.poison}, corrupt rows ${f.corrupt}; ` +
        `applied once ${f.appliedOnce}, lost ${v.lost.length}, unexplained repeats ${v.unexplainedRepeats.length}, excused repeats ${f.excusedRepeats}, ` +
        `published >1× ${f.publishedMoreThanOnce}, explained dead letters ${f.explainedDeadLetters}, unexplained dead letters ${v.unexplainedDeadLetters.length}`,
    );
    lines.push(`  faults: ${Object.entries(r.faults).map(([k, n]) => `${k}=${n}`).join(" ")}`);
    const problems = [
      ...v.lost.map((id) => `lost ${id}`),
      ...v.unexplainedRepeats.map((x) => `repeat ${x.eventId} applied ${x.applied}× (excused ${x.excused})`),
      ...v.unexplainedDeadLetters.map((x) => `dead letter ${x.eventId} via ${x.via}: ${x.why}`),
      ...v.stateViolations,
      ...v.poisonViolations,
    ];
    for (const p of problems.slice(0, 20)) lines.push(`  ! ${p}`);
    if (problems.length > 20) lines.push(`  ! … and ${problems.length - 20} more`);
  }
  const total = (k: keyof ReverseSimReport["faults"]) => reports.reduce((s, r) => s + r.faults[k], 0);
  const failed = reports.filter((r) => !(r.verdict.ok && r.finished)).length;
  lines.push(`${reports.length - failed}/${reports.length} seeds passed; faults over all seeds: ${Object.keys(reports[0]?.faults ?? {}).map((k) => `${k}=${total(k as never)}`).join(" ")}`);
  return lines.join("\n");
}
