import { strict as assert } from "assert";
import { formatBench, makeStream, runIdempotencyBench, SIDES } from "../../tools/bench-idempotency";
import { DynamoDbLocal, startDynamoDbLocal } from "../../tools/local-servers/dynamodb-local";

/** `npm run bench:idempotency` at a tiny size: the figures it prints are about real work, done once per event on every side. */
describe("tools/bench-idempotency (real DynamoDB Local, tiny size)", function () {
  let ddb: DynamoDbLocal;

  before(async function () {
    this.timeout(180_000); // DynamoDB Local's JVM starts slowly on a loaded machine; the bench itself gets 20 s
    ddb = await startDynamoDbLocal();
  });
  after(async () => {
    await ddb?.stop();
  });

  it("the stream holds duplicates of earlier events, the same for every side", () => {
    const options = { events: 200, inFlight: 4, duplicateShare: 0.3, seed: 7 };
    const stream = makeStream(options);
    const duplicates = stream.filter((m) => m.duplicate);
    assert.ok(duplicates.length > 30 && duplicates.length < 90, `${duplicates.length} duplicates`);
    for (const d of duplicates) assert.ok(stream.findIndex((m) => m.eventId === d.eventId) < stream.indexOf(d));
    assert.deepEqual(makeStream(options).map((m) => m.duplicate), stream.map((m) => m.duplicate));
  });

  it("runs every side on the same events, each applied exactly once, and prints the comparison", async function () {
    this.timeout(20_000);
    const result = await runIdempotencyBench(ddb, { events: 80, inFlight: 4, duplicateShare: 0.3, rounds: 1, seed: 3, warmupEvents: 0 });
    assert.deepEqual(result.sides.map((s) => s.side), SIDES.map((s) => s.name));
    const unique = new Set(makeStream(result.options).map((m) => m.eventId)).size;
    for (const s of result.sides) {
      assert.equal(s.uniqueEvents, unique, s.side);
      assert.equal(s.appliedOnce, unique, `${s.side}: applied once ${s.appliedOnce} of ${unique}`);
      assert.equal(s.appliedTwice + s.neverApplied, 0, s.side);
      assert.equal(s.effects, unique, `${s.side}: the handler ran ${s.effects} times for ${unique} events`);
      assert.ok(s.eventsPerSecond > 0 && s.p50Ms > 0 && s.p99Ms >= s.p50Ms, s.side);
      // Counted at the client: a first delivery writes the claim and the completion, a duplicate is answered by the failed claim.
      assert.equal(s.callsPerNew, 2, s.side);
      assert.equal(s.callsPerDuplicate, 1, s.side);
    }
    assert.ok(result.ratios.consumerCore > 0 && result.ratios.storeDirect > 0);
    const printed = formatBench(result).join("\n");
    for (const s of result.sides) assert.match(printed, new RegExp(`${s.side.replace(/[.+*()]/g, "\\$&")}\\s+\\d+\\s+[\\d.]+\\s+[\\d.]+\\s+1\\.\\d\\d\\s+2\\.00\\s+1\\.00`));
    assert.match(printed, /ours ÷ Powertools, events\/s: consumer core \d+\.\d\d×, store direct \d+\.\d\d×/);
  });
});
