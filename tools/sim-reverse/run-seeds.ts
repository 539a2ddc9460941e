/**
 * Starts the real servers once (PostgreSQL 15, DynamoDB Local) and runs several seeds of the
 * reverse simulation on them, `parallel` at a time; each seed gets its own database and table.
 * With `servers`, runs on servers someone else started (the mutation suite shares one pair
 * between all its runs) and leaves them running.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { Pool } from "pg";
import { startDynamoDbLocal } from "../local-servers/dynamodb-local";
import { startPostgres } from "../local-servers/postgres";
import { ReverseSimReport, runReverseSimulation } from "./simulation";

/** Running servers: PostgreSQL reached as its trusted superuser `postgres`, and a DynamoDB Local endpoint. */
export interface ReverseServers {
  postgres: { host: string; port: number };
  dynamodbEndpoint: string;
}

export async function runReverseSeeds(options: { seeds: number[]; events: number; parallel: number; wallLimitMs?: number; servers?: ReverseServers }): Promise<ReverseSimReport[]> {
  const own = options.servers ? undefined : await Promise.all([startPostgres(), startDynamoDbLocal()]);
  const pgAt = options.servers?.postgres ?? { host: own![0].host, port: own![0].port };
  const admin = new Pool({ host: pgAt.host, port: pgAt.port, user: "postgres", database: "postgres", max: 4 });
  // One client per seed, as each Lambda container has its own: one client shared by every seed
  // queued their requests behind its 50 sockets ("socket usage at capacity=50", 8 seeds at once),
  // which made store calls slow for reasons no Lambda has.
  const newClient = () =>
    own ? own[1].client() : new DynamoDBClient({ endpoint: options.servers!.dynamodbEndpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
  try {
    const reports: ReverseSimReport[] = [];
    let next = 0;
    const worker = async () => {
      while (next < options.seeds.length) {
        const seed = options.seeds[next++];
        const dynamoDb = newClient();
        reports.push(
          await runReverseSimulation({
            seed,
            events: options.events,
            pgConfig: { ...pgAt, user: "postgres", database: "postgres" },
            adminPool: admin,
            dynamoDb,
            wallLimitMs: options.wallLimitMs,
          }).finally(() => dynamoDb.destroy()),
        );
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.parallel) }, worker));
    return reports.sort((a, b) => a.seed - b.seed);
  } finally {
    await admin.end();
    if (own) await Promise.all([own[0].stop(), own[1].stop()]);
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
    for (const d of r.diagnostics ?? []) lines.push(`  ? receives of ${d}`);
    if (problems.length > 20) lines.push(`  ! … and ${problems.length - 20} more`);
  }
  const total = (k: keyof ReverseSimReport["faults"]) => reports.reduce((s, r) => s + r.faults[k], 0);
  const failed = reports.filter((r) => !(r.verdict.ok && r.finished)).length;
  lines.push(`${reports.length - failed}/${reports.length} seeds passed; faults over all seeds: ${Object.keys(reports[0]?.faults ?? {}).map((k) => `${k}=${total(k as never)}`).join(" ")}`);
  return lines.join("\n");
}
