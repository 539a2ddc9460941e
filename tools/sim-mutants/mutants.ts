/**
 * The bug classes the fault simulation claims to rule out, each as one small patch to a copy of the
 * source. A patch is a string that must occur exactly once in its file: if a refactor moves the
 * text, the runner stops with an error instead of running an unmutated copy and calling it caught.
 *
 * Mutants in runtime/consumer.ts and runtime/idempotency-store.ts anchor on small expressions (the
 * Lua scripts, one-line settle calls) because those files are being reshaped; re-anchor them when
 * the text moves.
 */
export type MutantArea = "outbox writer" | "relay" | "relay redrive" | "store" | "consumer" | "stream mapping model" | "EventBridge model" | "Service Bus model" | "simulation harness";

export interface Mutant {
  id: string;
  area: MutantArea;
  /** The bug class, as a reader of the issue would name it. */
  bug: string;
  file: string;
  find: string;
  replace: string;
  /** In the fast subset `npm test` runs. */
  fast?: boolean;
}

export const MUTANTS: readonly Mutant[] = [
  // ── outbox writer ────────────────────────────────────────────────────────────────────────
  {
    id: "writer-two-transactions",
    area: "outbox writer",
    bug: "state and outbox written in two transactions (outbox first)",
    file: "runtime/outbox-writer.ts",
    find: `            TransactItems: [...stateWrites, ...outboxWrites],
            ClientRequestToken: clientRequestToken,
          }),
        );`,
    replace: `            TransactItems: outboxWrites,
            ClientRequestToken: clientRequestToken,
          }),
        );
        await options.dynamodb.send(
          new TransactWriteItemsCommand({ TransactItems: [...stateWrites], ClientRequestToken: clientRequestToken.slice(0, -1) + "s" }),
        );`,
    fast: true,
  },
  {
    id: "writer-swallows-retryable-error",
    area: "outbox writer",
    bug: "a throttled or cancelled commit reported as committed",
    file: "runtime/outbox-writer.ts",
    find: `        throw translateDynamoDbError(error, stateWrites, eventIds);`,
    replace: `        const translated = translateDynamoDbError(error, stateWrites, eventIds);
        if (!translated.retryable) throw translated;`,
  },
  // ── relay ────────────────────────────────────────────────────────────────────────────────
  {
    id: "relay-drops-failed-entry",
    area: "relay",
    bug: "relay drops an entry EventBridge failed (not reported for retry)",
    file: "runtime/relay.ts",
    find: `          failed.set(p.sequenceNumber, code);`,
    replace: `          void code;`,
  },
  {
    id: "relay-ignores-failed-request",
    area: "relay",
    bug: "relay treats a refused PutEvents request as sent",
    file: "runtime/relay.ts",
    find: `          for (const p of remaining) failed.set(p.sequenceNumber, "RequestFailed");`,
    replace: `          void remaining;`,
  },
  {
    id: "relay-reports-highest-failure-only",
    area: "relay",
    bug: "relay reports only its highest failed sequence number (checkpoints past earlier failures)",
    file: "runtime/relay.ts",
    find: `const batchItemFailures = [...failed.keys()].sort(compareSequenceNumbers).map(`,
    replace: `const batchItemFailures = [...failed.keys()].sort(compareSequenceNumbers).reverse().slice(0, 1).map(`,
  },
  // ── idempotency store (Lua) ──────────────────────────────────────────────────────────────
  {
    id: "store-claim-takes-live-lease",
    area: "store",
    bug: "broken mutual exclusion: a claim takes over a live lease",
    file: "runtime/idempotency-store.ts",
    find: `if state == 'held' and holder ~= me and untilMs > now then return {'in-progress', untilMs - now} end`,
    replace: `-- mutant: a live lease held by another token is not respected`,
    fast: true,
  },
  {
    id: "store-dedupe-window-shrunk",
    area: "store",
    bug: "dedupe window shrunk (a completed record kept 1/7 of the window)",
    file: "runtime/idempotency-store.ts",
    find: `redis.call('SET', KEYS[1], 'done:' .. me, 'PX', ARGV[2])`,
    replace: `redis.call('SET', KEYS[1], 'done:' .. me, 'PX', math.floor(ARGV[2] / 7))`,
    fast: true,
  },
  {
    id: "store-claim-ignores-done",
    area: "store",
    bug: "dedupe disabled: a claim on a completed event succeeds",
    file: "runtime/idempotency-store.ts",
    find: `if state == 'done' then return {'completed', 0} end`,
    replace: `-- mutant: a completed record does not stop a claim`,
  },
  {
    id: "store-lease-never-expires",
    area: "store",
    bug: "a lease without expiry: a crashed holder blocks the event until it is dead-lettered",
    file: "runtime/idempotency-store.ts",
    find: `'held:' .. nextGen .. ':' .. (now + tonumber(ARGV[2])) .. ':' .. me`,
    replace: `'held:' .. nextGen .. ':' .. (now + 315360000000) .. ':' .. me`,
  },
  // ── consumer ─────────────────────────────────────────────────────────────────────────────
  {
    id: "consumer-acks-before-handler",
    area: "consumer",
    bug: "consumer acknowledges as soon as it has claimed, before the handler ran",
    file: "runtime/consumer.ts",
    find: `      if ("outcome" in claim) return finish(claim.outcome, settlement);
`,
    replace: `      if ("outcome" in claim) return finish(claim.outcome, settlement);
      await settlement.complete().catch(() => undefined);
`,
  },
  {
    id: "consumer-acks-handler-failure",
    area: "consumer",
    bug: "consumer acknowledges a message whose handler failed",
    file: "runtime/consumer/run.ts",
    find: `return { ok: false, outcome: { kind: "handler-failed", error, released, ...base, settled: "abandon" } };`,
    replace: `return { ok: false, outcome: { kind: "handler-failed", error, released, ...base, settled: "complete" } };`,
  },
  {
    id: "consumer-dead-letters-handler-failure",
    area: "consumer",
    bug: "healthy events dead-lettered: a transient handler failure goes to the DLQ",
    file: "runtime/consumer/run.ts",
    find: `return { ok: false, outcome: { kind: "handler-failed", error, released, ...base, settled: "abandon" } };`,
    replace: `return { ok: false, outcome: { kind: "poison", reason: "HandlerFailed", description: "transient", ...base, settled: "deadLetter" } };`,
    fast: true,
  },
  {
    id: "consumer-acks-in-progress-elsewhere",
    area: "consumer",
    bug: "consumer acknowledges a copy while another worker holds the lease (that worker may still fail)",
    file: "runtime/consumer/claim.ts",
    find: `return { outcome: { kind: "in-progress-elsewhere", retryAfterMs: claim.retryAfterMs, waitedMs, ...base, settled: "abandon" } };`,
    replace: `return { outcome: { kind: "in-progress-elsewhere", retryAfterMs: claim.retryAfterMs, waitedMs, ...base, settled: "complete" } };`,
  },
  // ── models ───────────────────────────────────────────────────────────────────────────────
  {
    id: "mapping-skips-first-failed-record",
    area: "stream mapping model",
    bug: "stream mapping resumes after the lowest failed record instead of at it",
    file: "tools/sim/stream-event-source.ts",
    find: `          pending = pending.slice(index);`,
    replace: `          pending = pending.slice(index + 1);`,
  },
  {
    id: "mapping-parks-after-one-retry",
    area: "stream mapping model",
    bug: "events stranded in the relay's failure destination (the mapping gives up after one retry)",
    file: "tools/sim/stream-event-source.ts",
    find: `      if (retries > this.maxRetries) {`,
    replace: `      if (retries > 0) {`,
  },
  {
    id: "mapping-bisect-drops-half",
    area: "stream mapping model",
    bug: "bisecting a failed batch forgets its second half",
    file: "tools/sim/stream-event-source.ts",
    find: `          await this.process(shardId, pending.slice(middle));`,
    replace: `          this.checkpoint(shardId, pending[pending.length - 1]);`,
  },
  {
    id: "eventbridge-503-not-retried",
    area: "EventBridge model",
    bug: "healthy events dead-lettered: the target gives up on a 503 without retrying",
    file: "tools/sim/eventbridge-model.ts",
    find: `new Set<HttpOutcome["status"]>([429, 500, 503, 401, "timeout", "answer-lost"])`,
    replace: `new Set<HttpOutcome["status"]>([429, 500, 401, "timeout", "answer-lost"])`,
  },
  {
    id: "eventbridge-403-retried",
    area: "EventBridge model",
    bug: "a final 403 (queue full, message too large) retried as if transient",
    file: "tools/sim/eventbridge-model.ts",
    find: `new Set<HttpOutcome["status"]>([429, 500, 503, 401, "timeout", "answer-lost"])`,
    replace: `new Set<HttpOutcome["status"]>([429, 500, 503, 401, 403, "timeout", "answer-lost"])`,
  },
  {
    id: "eventbridge-403-treated-as-success",
    area: "EventBridge model",
    bug: "a 403 from Service Bus taken as delivered",
    file: "tools/sim/eventbridge-model.ts",
    find: `      if (outcome.status === 201) return;`,
    replace: `      if (outcome.status === 201 || outcome.status === 403) return;`,
  },
  // ── relay redrive (tools/redrive/relay*.ts, run inside the simulation) ────────────────────
  {
    id: "redrive-relay-drops-range-start",
    area: "relay redrive",
    bug: "the relay redrive drops part of a parked range (off by one: its first record, the one that failed every retry)",
    file: "tools/redrive/relay.ts",
    find: `records = read.records;`,
    replace: `records = read.records.slice(1);`,
  },
  {
    id: "redrive-relay-deletes-before-republish",
    area: "relay redrive",
    bug: "the relay redrive deletes the parked range's message before its events were accepted",
    file: "tools/redrive/relay.ts",
    find: `const { refused, accepted } = await republishRecords(records, o);`,
    replace: `await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: "0", ReceiptHandle: message.ReceiptHandle! }] }));
                const { refused, accepted } = await republishRecords(records, o);`,
  },
  {
    id: "parked-range-never-redriven",
    area: "simulation harness",
    bug: "a parked event counted as safe: the parked ranges never reach a redrive (caught only because a parked event counts as lost unless applied)",
    file: "tools/sim/relay-redrive-wiring.ts",
    find: `park: (message) => void sqs.send(message),`,
    replace: `park: () => {},`,
  },
  {
    id: "servicebus-lock-expiry-not-redelivered",
    area: "Service Bus model",
    bug: "a message whose lock ran out is never delivered again",
    file: "tools/sim/service-bus-model.ts",
    find: `      else this.makeAvailable(message);`,
    replace: `      else void generation;`,
  },
  {
    id: "servicebus-dead-letters-early",
    area: "Service Bus model",
    bug: "healthy events dead-lettered: MaxDeliveryCount reached after 2 deliveries",
    file: "tools/sim/service-bus-model.ts",
    find: `if (message.deliveryCount >= this.maxDeliveryCount) {`,
    replace: `if (message.deliveryCount >= Math.min(2, this.maxDeliveryCount)) {`,
  },
];

/** Applies a mutant to a file's text; throws when the anchor is missing or ambiguous. */
export function applyMutant(text: string, mutant: Mutant): string {
  const first = text.indexOf(mutant.find);
  if (first < 0) throw new Error(`mutant ${mutant.id}: anchor not found in ${mutant.file} (re-anchor it after the refactor)`);
  if (text.indexOf(mutant.find, first + 1) >= 0) throw new Error(`mutant ${mutant.id}: anchor occurs more than once in ${mutant.file}`);
  return text.slice(0, first) + mutant.replace + text.slice(first + mutant.find.length);
}
