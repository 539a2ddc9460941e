import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { readMeshConfig } from "../../components/config";
import { dedupeWindowDays } from "../../components/mesh";
import { MAX_AUTO_LOCK_RENEWAL_SECONDS, stackSettings } from "../../tools/sim/stack-settings";

const ROOT = path.resolve(__dirname, "..", "..");

/** The stack file's values as components/config.ts reads them (pulumi.Config hands it strings). */
function configSource(stack: string | undefined) {
  const values: Record<string, string> = {};
  if (stack) {
    const doc = yaml.load(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
    for (const [key, value] of Object.entries(doc.config)) {
      const [namespace, name] = key.split(":");
      if (namespace === "multicloud-mesh") values[name] = typeof value === "string" ? value : JSON.stringify(value);
    }
  }
  return { get: (key: string) => values[key] };
}

describe("the simulation's stack settings (tools/sim/stack-settings.ts)", () => {
  for (const stack of [undefined, "dev", "prod"]) {
    it(`agree with components/config.ts and components/mesh.ts for ${stack ?? "the defaults"}`, () => {
      const config = readMeshConfig(configSource(stack));
      const s = stackSettings(stack);
      assert.equal(s.lockDurationMs, config.queue.lockDurationSeconds * 1000);
      assert.equal(s.maxDeliveryCount, config.queue.maxDeliveryCount);
      assert.deepEqual(s.retryPolicy, { maximumEventAgeMs: config.delivery.maximumEventAgeSeconds * 1000, maximumRetryAttempts: config.delivery.maximumRetryAttempts });
      assert.equal(s.dedupeWindowMs, dedupeWindowDays(config) * 86_400_000);
      assert.deepEqual(s.relay, { batchSize: config.relay.batchSize, batchWindowMs: config.relay.batchWindowSeconds * 1000, maximumRetryAttempts: config.relay.maximumRetryAttempts });
    });
  }

  it("dev and prod differ where their stack files say so (the reader does not just return defaults)", () => {
    assert.equal(stackSettings("dev").maxDeliveryCount, 5);
    assert.equal(stackSettings("prod").lockDurationMs, 120_000);
    assert.equal(stackSettings("dev").retryPolicy.maximumEventAgeMs, 3_600_000);
    assert.equal(stackSettings("prod").dedupeWindowMs, 90 * 86_400_000);
  });

  it("the host's lock renewal bound is the one the consumer app deploys", () => {
    const app = fs.readFileSync(path.join(ROOT, "components/azure/consumer-app.ts"), "utf8");
    assert.match(app, new RegExp(`maxAutoLockRenewalSeconds: ${MAX_AUTO_LOCK_RENEWAL_SECONDS}\\b`));
  });

  it("an unknown stack is refused, naming the stacks there are", () => {
    assert.throws(() => stackSettings("staging"), /--stack: no stack file Pulumi\.staging\.yaml \(stacks here: .*dev.*prod/);
    assert.throws(() => stackSettings("../x"), /--stack/);
  });
});
