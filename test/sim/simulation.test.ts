import { strict as assert } from "assert";
import type Redis from "ioredis";
import { DynamoDbLocal, startDynamoDbLocal } from "../../tools/local-servers/dynamodb-local";
import { RedisServer, startRedisServer } from "../../tools/local-servers/redis-server";
import { connectRedis, restartableRedis } from "../../tools/local-servers/redis-client";
import { FAULT_PROFILES } from "../../tools/sim/faults";
import { ConsumerDesign, runSimulation, SimulationReport } from "../../tools/sim/simulation";
import type { HandlerContract } from "../../tools/sim/ledger";

/**
 * The seeded fault simulation of the whole event path (tools/sim/), as CI runs it: many seeds,
 * default faults, real DynamoDB Local and redis-server, models for EventBridge, the API destination
 * and Service Bus. SIM_SEEDS (default 20), SIM_EVENTS (default 500; .ci/run sets the same, to keep CI within its budget) and SIM_PARALLEL (default 4)
 * scale it; SIM_SEED=<n> re-runs one seed.
 */
const SEEDS = process.env.SIM_SEED ? [Number(process.env.SIM_SEED)] : Array.from({ length: Number(process.env.SIM_SEEDS ?? 20) }, (_, i) => i + 1);
const EVENTS = Number(process.env.SIM_EVENTS ?? 500);
const PARALLEL = Number(process.env.SIM_PARALLEL ?? 4);

describe("fault simulation of the whole event path (tools/sim)", function () {
  // About 100 events per second per seed on a 2-vCPU machine, with room to spare.
  // Generous: a loaded 2-vCPU machine has needed about 13 ms per event per parallel run.
  this.timeout(Math.max(300_000, (SEEDS.length * EVENTS * 150) / Math.min(PARALLEL, SEEDS.length)));
  let ddb: DynamoDbLocal;
  let businessServer: RedisServer;
  let business: Redis;

  before(async () => {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    [ddb, businessServer] = await Promise.all([startDynamoDbLocal(), startRedisServer()]);
    business = await connectRedis(businessServer, { enableOfflineQueue: true, maxRetriesPerRequest: 20 });
  });
  after(async () => {
    business?.disconnect();
    await Promise.all([ddb?.stop(), businessServer?.stop()]);
  });

  async function run(seed: number, consumer: ConsumerDesign = "claim-complete", handlerContract: HandlerContract = "conditional", events = EVENTS, aof = false): Promise<SimulationReport> {
    const server = await startRedisServer({ appendFsyncAlways: aof });
    const client = await connectRedis(server);
    const dynamodb = ddb.client();
    const streams = ddb.streamsClient();
    try {
      return await runSimulation({
        seed,
        events,
        faults: FAULT_PROFILES.default,
        consumer,
        handlerContract,
        dynamodb,
        dynamodbEndpoint: ddb.endpoint,
        streams,
        idempotencyRedis: restartableRedis(server, client),
        businessRedis: business,
        wallLimitMs: 240_000,
      });
    } finally {
      client.disconnect();
      dynamodb.destroy();
      streams.destroy();
      await server.stop();
    }
  }

  const summary = (r: SimulationReport) =>
    `seed ${r.seed} (re-run: SIM_SEED=${r.seed} SIM_EVENTS=${EVENTS} npx mocha test/sim/simulation.test.ts, or npm run local -- --events ${EVENTS} --seed ${r.seed}): ` +
    JSON.stringify({ failures: r.failures, counts: r.counts, deadLettered: r.deadLettered, reachedTwiceBy: r.effectReachedTwiceBy, unexplained: r.unexplainedRepeats, lost: r.lostEventIds, duplicated: r.duplicateEventIds, poison: r.unaccountedPoison, overlapping: r.overlappingLeases, audit: r.recordAudit, unexplainedDeadLetters: r.unexplainedDeadLetterIds });

  it(`${SEEDS.length} seeds × ${EVENTS} events, default faults: nothing lost, no effect applied twice, every poison event dead-lettered with its reason`, async () => {
    const reports: SimulationReport[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(PARALLEL, SEEDS.length) }, async () => {
        while (next < SEEDS.length) reports.push(await run(SEEDS[next++]));
      }),
    );
    for (const r of reports) {
      if (process.env.SIM_VERBOSE) console.log(summary(r));
      assert.ok(r.finished, `did not finish; ${summary(r)}`);
      // Commits refused by a business conflict (about 2 %) produce nothing, by design.
      assert.ok(r.counts.produced <= EVENTS && r.counts.produced >= EVENTS * 0.9, summary(r));
      assert.equal(r.counts.lost, 0, `lost events; ${summary(r)}`);
      assert.equal(r.counts.duplicateEffects, 0, `duplicate effects; ${summary(r)}`);
      assert.deepEqual(r.unaccountedPoison, [], `poison not dead-lettered with its reason; ${summary(r)}`);
      // The handler reached its effect twice only in the windows runtime/consumer.ts documents.
      assert.deepEqual(r.unexplainedRepeats, [], `effect reached twice outside the documented windows; ${summary(r)}`);
      assert.deepEqual(r.overlappingLeases, [], `two lease holders at once; ${summary(r)}`);
      assert.deepEqual(r.recordAudit, [], `idempotency records wrong at the end; ${summary(r)}`);
      assert.deepEqual(r.unexplainedDeadLetterIds, [], `healthy dead letters no fault explains; ${summary(r)}`);
      assert.deepEqual(r.finalAnswerProblems, [], `final API destination answers mishandled; ${summary(r)}`);
      assert.equal(r.relayRedrive.parkedLost, 0, `parked events the relay redrive did not deliver; ${summary(r)}`);
      assert.ok(r.passed, summary(r));
    }
    if (reports.length < 10) return; // one seed alone need not meet every fault
    // The faults really happened, all of them, across the seeds.
    const total = (name: string) => reports.reduce((n, r) => n + (r.injected[name] ?? 0), 0);
    for (const name of [
      "producer crash after commit",
      "relay crash after PutEvents",
      "PutEvents request throttled",
      "PutEvents entry failed (FailedEntryCount)",
      "API destination 429",
      "API destination 503 (outage)",
      "API destination answer-lost",
      "API destination timeout (5 s)",
      "API destination 401 (token refreshed)",
      "consumer crash-after-effect",
      "consumer crash-before-effect",
      "consumer stall-past-lease",
      "consumer handler-throws",
      "consumer settle-fails",
      "idempotency redis stopped and restarted",
      "producer transaction cancelled (TransactionConflict)",
      "producer throttled (ThrottlingException)",
      "producer timed out after commit (answer dropped)",
      "producer commit refused (business condition failed)",
      "API destination concurrent copy",
      "consumer slow handler (ends just inside its deadline)",
      "PutEvents request refused (outage window: ranges parked)",
      "API destination 403 QuotaExceeded (queue full)",
      "API destination connection de-authorized (nothing sent)",
      "API destination held back by the invocation rate limit",
      "relay timed out mid-batch (function error)",
      "consumer dependency not ready (handler refused)",
      "consumer instance shutdown (host abandoned the message mid-run)",
    ]) {
      assert.ok(total(name) > 0, `fault '${name}' was never injected in ${reports.length} runs`);
    }
    const poison = reports.reduce((n, r) => n + r.counts.poison, 0);
    assert.ok(poison > 0, "some events were poison");
    // Duplicates reached the consumer and were absorbed: the handler reached its effect twice for some events.
    assert.ok(reports.some((r) => r.counts.effectReachedMoreThanOnce > 0), "the idempotency had something to do");
    // Copies really contended for a live lease, and a restart really lost records.
    assert.ok(reports.some((r) => (r.consumerOutcomes["in-progress-elsewhere"] ?? 0) > 0), "no delivery ever found its event in progress elsewhere");
    assert.ok(reports.some((r) => r.recordsLostInRestart > 0), "no Redis restart lost a record");
    // One clock: the stack's real durations, the dedupe window really exercised by late copies on
    // both sides of it, Redis aged along with the simulated days.
    for (const r of reports) {
      assert.equal(r.settings.lockDurationMs, 60_000, summary(r));
      assert.ok(r.redisAgedMs > r.settings.dedupeWindowMs || r.lateCopies.beyondWindow === 0, summary(r));
    }
    assert.ok(reports.reduce((n, r) => n + r.lateCopies.insideWindow, 0) > 0, "no late copy inside the dedupe window");
    assert.ok(reports.reduce((n, r) => n + r.lateCopies.beyondWindow, 0) > 0, "no late copy beyond the dedupe window");
    assert.ok(reports.some((r) => (r.effectReachedTwiceBy["copy after the dedupe window (measured)"] ?? 0) > 0), "no late copy beyond the window was processed again");
    // Leases really contended: copies met live leases, and every run had deliveries that gave up on one.
    assert.ok(reports.every((r) => r.claimsMetLiveLease > 0), "some run had no claim meet a live lease");
    // Ranges were parked and the relay redrive (real code) delivered them.
    assert.ok(reports.some((r) => r.relayRedrive.ranges > 0 && r.relayRedrive.runs > 0 && r.relayRedrive.parkedApplied > 0), "no range was parked and redriven");
  });

  it("with AOF always (appendfsync always), the Redis restart loses no record and excuses nothing", async () => {
    const r = await run(SEEDS[0], "claim-complete", "conditional", Math.min(EVENTS, 300), true);
    assert.ok(r.injected["idempotency redis stopped and restarted"] === 1, summary(r));
    assert.equal(r.recordsLostInRestart, 0, summary(r));
    assert.equal(r.effectReachedTwiceBy["Redis restart lost the record (measured)"] ?? 0, 0, summary(r));
    assert.ok(r.passed, summary(r));
  });

  it("the source design's SET NX consumer, same seed and faults, loses events and leaves poison out of the DLQ", async () => {
    const r = await run(SEEDS[0], "setnx-first", "conditional", Math.min(EVENTS, 300));
    assert.ok(r.counts.lost > 0, `expected losses from the SET NX baseline; ${summary(r)}`);
    assert.equal(r.passed, false);
  });

  it("a handler whose effect is not conditional on the event id applies some effects twice (the documented residual risk), and the run fails", async () => {
    const r = await run(SEEDS[0], "claim-complete", "plain", Math.min(EVENTS, 300));
    assert.ok(r.counts.duplicateEffects > 0, `expected duplicate effects with a plain handler; ${summary(r)}`);
    assert.equal(r.counts.lost, 0, summary(r));
    assert.equal(r.passed, false);
    assert.match(r.failures.join("\n"), /applied more than once/);
  });
});
