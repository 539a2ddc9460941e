/** The fault simulation's report as text: our consumer, and the baseline beside it when it ran. */
import type { SimulationReport } from "./run-options";

const DESIGN_LABEL = { "claim-complete": "ours (claim/complete)", "setnx-first": "baseline (SET NX first)" } as const;

function duration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 2 * 86_400_000) return `${Math.floor(ms / 86_400_000)} d ${Math.floor((ms % 86_400_000) / 3_600_000)} h`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  return h > 0 ? `${h} h ${String(m).padStart(2, "0")} min` : `${m} min ${String(s).padStart(2, "0")} s`;
}

export function formatReport(runs: SimulationReport[], command: string): string {
  const first = runs[0];
  const width = 58;
  const col = 26;
  const lines: string[] = [];
  const row = (label: string, values: (string | number)[]) =>
    lines.push(label.padEnd(width) + values.map((v) => String(v).padStart(col)).join(""));
  lines.push(`Fault simulation: seed ${first.seed}, ${first.counts.produced} events produced, faults '${first.faults}', handler contract '${first.handlerContract}'`);
  const st = first.settings;
  lines.push(
    `Stack '${st.stack}': lock ${duration(st.lockDurationMs)}, MaxDeliveryCount ${st.maxDeliveryCount}, dedupe window ${duration(st.dedupeWindowMs)}, ` +
      `EventBridge retries ${st.maximumRetryAttempts} within ${duration(st.maximumEventAgeMs)}`,
  );
  lines.push("");
  row("", runs.map((r) => DESIGN_LABEL[r.consumer]));
  row("produced (committed to the outbox)", runs.map((r) => r.counts.produced));
  row("  of which poison", runs.map((r) => r.counts.poison));
  row("published (distinct events on the bus)", runs.map((r) => r.counts.published));
  row("  PutEvents entries accepted (with re-publications)", runs.map((r) => r.counts.publications));
  row("delivered (distinct events in the queue)", runs.map((r) => r.counts.delivered));
  row("  queue messages (with duplicates)", runs.map((r) => r.counts.queueMessages));
  row("redelivered (deliveries after the first)", runs.map((r) => r.counts.redelivered));
  row("effects applied (distinct events)", runs.map((r) => r.counts.effectsApplied));
  row("LOST", runs.map((r) => r.counts.lost));
  row("DUPLICATE EFFECTS", runs.map((r) => r.counts.duplicateEffects));
  row("handler ran more than once (events)", runs.map((r) => r.counts.handlerRanMoreThanOnce));
  row("  effect reached more than once (events)", runs.map((r) => r.counts.effectReachedMoreThanOnce));
  const windows = [...new Set(runs.flatMap((r) => Object.keys(r.effectReachedTwiceBy)))].sort();
  for (const w of windows) row(`    explained by: ${w}`, runs.map((r) => r.effectReachedTwiceBy[w] ?? 0));
  row("healthy events dead-lettered, explained (need a redrive)", runs.map((r) => r.counts.deadLetteredHealthy));
  row("HEALTHY DEAD LETTERS NO FAULT EXPLAINS", runs.map((r) => r.counts.unexplainedDeadLetters));
  row("poison events dead-lettered", runs.map((r) => r.counts.deadLetteredPoison));
  row("poison not in a DLQ with its reason", runs.map((r) => r.counts.poisonNotDeadLettered));
  const reasons = [...new Set(runs.flatMap((r) => Object.keys(r.deadLettered)))].sort();
  if (reasons.length > 0) {
    lines.push("dead-lettered (messages, by queue and reason)");
    for (const reason of reasons) row(`  ${reason}`, runs.map((r) => r.deadLettered[reason] ?? 0));
  }
  lines.push("relay on-failure destination (ranges only) and the relay redrive");
  row("  ranges parked / events in them", runs.map((r) => `${r.relayRedrive.ranges} / ${r.relayRedrive.parkedEvents}`));
  row("  parked events applied / LOST", runs.map((r) => `${r.relayRedrive.parkedApplied} / ${r.relayRedrive.parkedLost}`));
  row("  redrive runs / events republished / deleted / left", runs.map((r) => `${r.relayRedrive.runs} / ${r.relayRedrive.republished} / ${r.relayRedrive.deleted} / ${r.relayRedrive.left}`));
  lines.push(`API destination failure modes, where the events they hit ended up (${DESIGN_LABEL[first.consumer]}):`);
  for (const [mode, outcome] of Object.entries(first.apiDestinationModes)) lines.push(`  ${mode}: ${outcome}`);
  lines.push("latency, commit to effect (simulated time)");
  for (const p of ["p50", "p90", "p99", "max"] as const) row(`  ${p}`, runs.map((r) => duration(r.latencyMs[p])));
  row("records the idempotency Redis restart lost (measured)", runs.map((r) => r.recordsLostInRestart));
  row("late copies inside / beyond the dedupe window", runs.map((r) => `${r.lateCopies.insideWindow} / ${r.lateCopies.beyondWindow}`));
  row("claims that met a live lease (measured from Redis)", runs.map((r) => r.claimsMetLiveLease));
  row("  deliveries that gave up: in progress elsewhere", runs.map((r) => r.consumerOutcomes["in-progress-elsewhere"] ?? 0));
  row("simulated time", runs.map((r) => duration(r.simulatedMs)));
  row("  of it jumped (idempotency Redis aged along)", runs.map((r) => duration(r.redisAgedMs)));
  row("wall time", runs.map((r) => duration(r.wallMs)));
  row("events per second (wall)", runs.map((r) => r.eventsPerSecond));
  row("RESULT", runs.map((r) => (r.passed ? "PASS" : "FAIL")));
  lines.push("");
  const injected = Object.entries(first.injected).filter(([, n]) => n > 0);
  if (injected.length > 0) {
    lines.push(`faults injected (${DESIGN_LABEL[first.consumer]}):`);
    for (const [name, n] of injected.sort()) lines.push(`  ${name.padEnd(width - 2)}${String(n).padStart(8)}`);
    lines.push("");
  }
  for (const r of runs) {
    if (r.passed) continue;
    lines.push(`${DESIGN_LABEL[r.consumer]} FAILED: ${r.failures.join("; ")}`);
    if (r.lostEventIds.length) lines.push(`  lost, e.g.: ${r.lostEventIds.slice(0, 5).join(", ")}`);
    if (r.duplicateEventIds.length) lines.push(`  duplicated, e.g.: ${r.duplicateEventIds.slice(0, 5).join(", ")}`);
    if (r.unexplainedRepeats.length) lines.push(`  effect reached twice, unexplained, e.g.: ${r.unexplainedRepeats.slice(0, 5).join(", ")}`);
    if (r.unexplainedDeadLetterIds.length) lines.push(`  dead letters no fault explains, e.g.: ${r.unexplainedDeadLetterIds.slice(0, 5).join(", ")}`);
    if (r.unaccountedPoison.length) lines.push(`  poison not dead-lettered, e.g.: ${r.unaccountedPoison.slice(0, 5).join(", ")}`);
    if (r.finalAnswerProblems.length) lines.push(`  final answers mishandled, e.g.: ${r.finalAnswerProblems.slice(0, 3).join("; ")}`);
    lines.push(`  reproduce with: ${command}`);
  }
  return lines.join("\n");
}
