/**
 * The reverse simulation's oracle. It trusts only (1) what it reads back from PostgreSQL at the end
 * (outbox, business table, effect ledger), (2) what the models recorded (what EventBridge accepted,
 * what each dead-letter queue holds) and (3) the harness's own measurements (faults.ts). It never
 * reads a consumer outcome, a relay summary or a log line.
 */
import type { Pool } from "pg";
import type { AcceptedEvent } from "./eventbridge-model";
import type { Measurements } from "./faults";
import type { DeadLetter } from "./sqs-model";

/** The relay's default maxEntryFailures: a healthy row parked for RetriesExhausted needs that many injected entry failures. */
const RELAY_MAX_ENTRY_FAILURES = 8;

export interface OracleInput {
  pool: Pool;
  seen: Measurements;
  accepted: AcceptedEvent[];
  entryFailures: Map<string, number>;
  targetFailures: Map<string, number>;
  targetDeadLetters: DeadLetter[];
  consumerDeadLetters: DeadLetter[];
  redriven: DeadLetter[];
  maxReceiveCount: number;
  targetAttempts: number;
}

export interface Verdict {
  ok: boolean;
  lost: string[];
  unexplainedRepeats: { eventId: string; applied: number; excused: number }[];
  unexplainedDeadLetters: { eventId: string; via: string; why: string }[];
  stateViolations: string[];
  poisonViolations: string[];
  figures: {
    committed: number;
    refused: number;
    poison: number;
    corrupt: number;
    appliedOnce: number;
    /** Events applied twice whose repeat the harness measured a crash for. */
    excusedRepeats: number;
    /** Accepted by EventBridge more than once (relay crash, lease expiry): absorbed downstream. */
    publishedMoreThanOnce: number;
    explainedDeadLetters: number;
  };
}

const eventIdOf = (body: string): string | undefined => {
  try {
    const parsed = JSON.parse(body) as { detail?: { metadata?: { event_id?: string } } };
    return parsed.detail?.metadata?.event_id;
  } catch {
    return undefined;
  }
};

export async function judge(input: OracleInput): Promise<Verdict> {
  const { pool, seen } = input;
  const outbox = (
    await pool.query<{ event_id: string; status: string; parked_reason: string | null; last_error: string | null; claims: number; wait_ms: number }>(
      "SELECT event_id, status, parked_reason, last_error, claims, extract(epoch FROM available_at - clock_timestamp()) * 1000 AS wait_ms FROM mesh_outbox",
    )
  ).rows;
  const orders = (await pool.query<{ event_id: string }>("SELECT event_id FROM orders")).rows.map((r) => r.event_id);
  const ledger = new Map((await pool.query<{ event_id: string; applied: number }>("SELECT event_id, applied FROM effect_ledger")).rows.map((r) => [r.event_id, r.applied]));

  const stateViolations: string[] = [];
  const poisonViolations: string[] = [];
  const lost: string[] = [];
  const unexplainedRepeats: Verdict["unexplainedRepeats"] = [];
  const unexplainedDeadLetters: Verdict["unexplainedDeadLetters"] = [];
  let explainedDeadLetters = 0;
  let appliedOnce = 0;
  let excusedRepeats = 0;

  // Rule 1: business rows and events together, refused commits left nothing.
  const events = outbox.filter((r) => !seen.corrupt.has(r.event_id));
  const eventIds = new Set(events.map((r) => r.event_id));
  const orderIds = new Set(orders);
  for (const id of eventIds) if (!orderIds.has(id)) stateViolations.push(`event ${id} in the outbox without its business row`);
  for (const id of orderIds) if (!eventIds.has(id)) stateViolations.push(`business row of event ${id} without its outbox event`);
  for (const id of seen.committed) if (!eventIds.has(id)) stateViolations.push(`event ${id} committed but missing from the outbox`);
  for (const id of seen.refused) {
    if (eventIds.has(id) || orderIds.has(id)) stateViolations.push(`event ${id} of a refused commit was written`);
    if (ledger.has(id)) stateViolations.push(`event ${id} of a refused commit was applied`);
  }
  for (const ids of seen.retriedCommitWrongAnswer) stateViolations.push(`a retried commit of ${ids} was not answered already-committed`);
  for (const why of seen.commitErrors) stateViolations.push(why);
  // Claim rule: no row claimed while another claim's lease (or its backoff) was still running.
  const overlapping = (await pool.query<{ event_id: string; live_until: Date; claimed_at: Date }>("SELECT event_id, live_until, claimed_at FROM claim_audit ORDER BY claimed_at")).rows;
  for (const c of overlapping) {
    stateViolations.push(`row ${c.event_id} claimed at ${c.claimed_at.toISOString()} while it was leased or backing off until ${c.live_until.toISOString()}`);
  }
  for (const id of ledger.keys()) if (!eventIds.has(id)) stateViolations.push(`effect applied for ${id}, which is no committed event`);

  // Rule 2: every row left the outbox; parking explained.
  const accepted = new Map<string, string[]>();
  for (const a of input.accepted) accepted.set(a.eventId, [...(accepted.get(a.eventId) ?? []), a.busEventId]);
  for (const row of outbox) {
    if (seen.corrupt.has(row.event_id)) {
      if (row.status !== "parked" || !row.parked_reason) stateViolations.push(`corrupt row ${row.event_id} is ${row.status}, not parked with a reason`);
      if (accepted.has(row.event_id)) stateViolations.push(`corrupt row ${row.event_id} was published`);
      continue;
    }
    if (row.status === "published") continue;
    if (row.status === "parked" && /^RetriesExhausted/.test(row.parked_reason ?? "") && (input.entryFailures.get(row.event_id) ?? 0) >= RELAY_MAX_ENTRY_FAILURES) {
      explainedDeadLetters++;
      continue;
    }
    const detail = row.status === "pending" ? `claimed ${row.claims}×, claimable in ${Math.round(row.wait_ms)} ms, last error ${row.last_error ?? "none"}` : (row.parked_reason ?? "no reason");
    stateViolations.push(`event ${row.event_id} left ${row.status} in the outbox (${detail})`);
  }

  // Dead letters by event id, each judged on its own evidence.
  const faultedAll = (messageId: string, upTo: number) => {
    for (let n = 1; n <= upTo; n++) if (!seen.faultedReceives.has(`${messageId}|${n}`)) return false;
    return true;
  };
  const deadLetterExplained = new Map<string, number>();
  const noteExplained = (id: string) => deadLetterExplained.set(id, (deadLetterExplained.get(id) ?? 0) + 1);
  for (const d of input.targetDeadLetters) {
    const id = eventIdOf(d.body) ?? "?";
    if ((input.targetFailures.get(d.messageId) ?? 0) >= input.targetAttempts) {
      noteExplained(id);
      explainedDeadLetters++;
    } else unexplainedDeadLetters.push({ eventId: id, via: d.via, why: `${input.targetFailures.get(d.messageId) ?? 0} failed target deliveries < ${input.targetAttempts}` });
  }
  for (const d of input.redriven) {
    const id = eventIdOf(d.body) ?? "?";
    if (d.receiveCount >= input.maxReceiveCount && faultedAll(d.messageId, d.receiveCount)) {
      noteExplained(id);
      explainedDeadLetters++;
    } else unexplainedDeadLetters.push({ eventId: id, via: d.via, why: `redriven after ${d.receiveCount} receives, not all failed by an injected fault` });
  }
  for (const d of input.consumerDeadLetters) {
    const id = eventIdOf(d.body) ?? "?";
    if (!seen.poison.has(id)) {
      unexplainedDeadLetters.push({ eventId: id, via: d.via, why: `healthy event dead-lettered by the consumer: ${d.attributes.DeadLetterReason}` });
      continue;
    }
    // Rule 4: poison goes on its first delivery that reached the consumer, with its reason.
    const receive = Number(d.attributes.SourceReceiveCount);
    if (d.attributes.DeadLetterReason !== "UnsupportedSchemaVersion") poisonViolations.push(`poison ${id} dead-lettered with reason ${d.attributes.DeadLetterReason}`);
    if (!(receive >= 1 && faultedAll(d.attributes.SourceMessageId, receive - 1))) poisonViolations.push(`poison ${id} dead-lettered on receive ${receive}, not its first usable one`);
    noteExplained(id);
  }

  // Rule 3: every committed event applied once (repeats only as measured), or explained in a DLQ.
  for (const id of eventIds) {
    const applied = ledger.get(id) ?? 0;
    if (seen.poison.has(id)) {
      if (applied > 0) poisonViolations.push(`poison ${id} was applied ${applied} time(s)`);
      if (!deadLetterExplained.has(id)) lost.push(id);
      continue;
    }
    const excused = seen.excusedRepeats.get(id) ?? 0;
    if (applied > 1 + excused) unexplainedRepeats.push({ eventId: id, applied, excused });
    else if (applied > 1) excusedRepeats++;
    if (applied >= 1) appliedOnce++;
    else if (!deadLetterExplained.has(id)) lost.push(id);
  }

  const ok = lost.length === 0 && unexplainedRepeats.length === 0 && unexplainedDeadLetters.length === 0 && stateViolations.length === 0 && poisonViolations.length === 0;
  return {
    ok,
    lost,
    unexplainedRepeats,
    unexplainedDeadLetters,
    stateViolations,
    poisonViolations,
    figures: {
      committed: eventIds.size,
      refused: seen.refused.size,
      poison: seen.poison.size,
      corrupt: seen.corrupt.size,
      appliedOnce,
      excusedRepeats,
      publishedMoreThanOnce: [...accepted.values()].filter((v) => v.length > 1).length,
      explainedDeadLetters,
    },
  };
}
