import { strict as assert } from "assert";
import { parseArgs } from "../../tools/local-mesh";
import { formatReport } from "../../tools/sim/report";
import type { SimulationReport } from "../../tools/sim/simulation";

describe("npm run local (tools/local-mesh.ts)", () => {
  it("reads its options and refuses bad ones with the usage", () => {
    assert.deepEqual(parseArgs(["--events", "2000", "--seed", "7", "--faults", "heavy", "--baseline", "setnx-first", "--json", "--handler", "plain"]), {
      events: 2000,
      seed: 7,
      faults: "heavy",
      baseline: "setnx-first",
      handler: "plain",
      json: true,
      workers: 16,
      wallLimitSeconds: 3600,
      redisRestart: true,
      redisAof: false,
    });
    assert.equal(parseArgs(["--redis-aof"]).redisAof, true);
    assert.equal(parseArgs([]).events, 10_000);
    assert.throws(() => parseArgs(["--faults", "some"]), /--faults must be one of none, default, heavy/);
    assert.throws(() => parseArgs(["--events", "0"]), /--events must be an integer/);
    assert.throws(() => parseArgs(["--baseline", "naive"]), /--baseline must be setnx-first/);
    assert.throws(() => parseArgs(["--seed"]), /--seed needs a value/);
    assert.throws(() => parseArgs(["--what"]), /unknown option '--what'/);
    assert.equal(parseArgs(["--stack", "prod"]).stack, "prod");
    assert.throws(() => parseArgs(["--stack", "staging"]), /no stack file Pulumi\.staging\.yaml/);
  });

  it("the report names a failing run and the command that reproduces it", () => {
    const run = (consumer: SimulationReport["consumer"], lost: number): SimulationReport => ({
      seed: 9,
      faults: "default",
      consumer,
      handlerContract: "conditional",
      passed: lost === 0,
      finished: true,
      failures: lost ? [`${lost} events lost (produced, never applied, in no dead-letter queue)`] : [],
      counts: {
        produced: 10, poison: 1, published: 10, publications: 11, delivered: 10, queueMessages: 12, effectsApplied: 9 - lost, lost,
        duplicateEffects: 0, handlerRanMoreThanOnce: 1, effectReachedMoreThanOnce: 1, deadLetteredHealthy: 0, unexplainedDeadLetters: 0, deadLetteredPoison: 1, poisonNotDeadLettered: 0, redelivered: 2,
      },
      deadLettered: { "Service Bus DLQ: UnsupportedSchemaVersion": 1 },
      effectReachedTwiceBy: { "crash between effect and completion": 1 },
      unexplainedRepeats: [],
      consumerOutcomes: {},
      injected: { "consumer crash-after-effect": 1 },
      latencyMs: { p50: 1200, p90: 65_000, p99: 4_000_000, max: 4_100_000 },
      simulatedMs: 4_200_000,
      wallMs: 900,
      eventsPerSecond: 11,
      lostEventIds: lost ? ["e-lost"] : [],
      duplicateEventIds: [],
      unaccountedPoison: [],
      unexplainedDeadLetterIds: [],
      overlappingLeases: [],
      recordAudit: [],
      recordsLostInRestart: 0,
      settings: { stack: "dev", lockDurationMs: 60_000, maxDeliveryCount: 5, dedupeWindowMs: 14 * 86_400_000, maximumEventAgeMs: 3_600_000, maximumRetryAttempts: 185 },
      lateCopies: { insideWindow: 2, beyondWindow: 1 },
      redisAgedMs: 15 * 86_400_000,
      claimsMetLiveLease: 4,
      apiDestinationModes: {},
      relayRedrive: { ranges: 0, parkedEvents: 0, parkedApplied: 0, parkedLost: 0, runs: 0, republished: 0, deleted: 0, left: 0 },
      finalAnswerProblems: [],
    });
    const text = formatReport([run("claim-complete", 0), run("setnx-first", 2)], "npm run local -- --events 10 --seed 9 --baseline setnx-first");
    assert.match(text, /ours \(claim\/complete\)\s+baseline \(SET NX first\)/);
    assert.match(text, /^LOST\s+0\s+2$/m);
    assert.match(text, /^RESULT\s+PASS\s+FAIL$/m);
    assert.match(text, /explained by: crash between effect and completion\s+1\s+1/);
    assert.match(text, /p99\s+1 h 06 min/);
    assert.match(text, /Stack 'dev': lock 1 min 00 s, MaxDeliveryCount 5, dedupe window 14 d 0 h/);
    assert.match(text, /late copies inside \/ beyond the dedupe window\s+2 \/ 1/);
    assert.match(text, /baseline \(SET NX first\) FAILED: 2 events lost[\s\S]*e-lost[\s\S]*reproduce with: npm run local -- --events 10 --seed 9 --baseline setnx-first/);
  });
});
