/**
 * The durations and counts of a stack (`npm run local -- --stack dev|prod`), read from
 * Pulumi.<stack>.yaml over the defaults declared in Pulumi.yaml: the simulation runs with the
 * settings that stack deploys, not with numbers of its own.
 *
 * components/config.ts is the program's only configuration reader, but it runs inside the Pulumi
 * runtime; this reader applies the same rule (a stack value, else the project default) for the
 * keys the simulation needs, and test/sim/stack-settings.test.ts checks that both agree for dev,
 * prod and the defaults. Two values are derived, not configured, and are derived here the same way:
 * the dedupe window (components/mesh.ts dedupeWindowDays) and the host's lock renewal
 * (components/azure/consumer-app.ts passes maxAutoLockRenewalSeconds: 300 to host.json).
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";

const PROJECT = "multicloud-mesh";
const ROOT = path.resolve(__dirname, "..", "..");

/** host.json `maxAutoLockRenewalDuration` the consumer app deploys (components/azure/consumer-app.ts). */
export const MAX_AUTO_LOCK_RENEWAL_SECONDS = 300;

export interface StackSettings {
  /** The stack's name, or "defaults" (Pulumi.yaml alone). */
  stack: string;
  /** Service Bus LockDuration (queueLockDurationSeconds); the consumer's lease never outlives it. */
  lockDurationMs: number;
  /** Service Bus MaxDeliveryCount (queueMaxDeliveryCount). */
  maxDeliveryCount: number;
  /** EventBridge target retry policy (retryMaximumEventAgeSeconds, retryMaximumAttempts). */
  retryPolicy: { maximumEventAgeMs: number; maximumRetryAttempts: number };
  /** How long the consumer remembers a completed event (components/mesh.ts dedupeWindowDays). */
  dedupeWindowMs: number;
  /** The relay's event source mapping (relayBatchSize, relayBatchWindowSeconds, relayMaximumRetryAttempts). */
  relay: { batchSize: number; batchWindowMs: number; maximumRetryAttempts: number };
  /** Functions host lock renewal bound (host.json maxAutoLockRenewalDuration). */
  maxAutoLockRenewalMs: number;
}

/** The raw values of the keys this reader uses: the stack file's, else Pulumi.yaml's default. */
export function readStackValues(stack: string | undefined, root = ROOT): Record<string, unknown> {
  const project = yaml.load(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as { config: Record<string, { default?: unknown }> };
  const values: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(project.config)) values[key] = schema.default;
  if (stack === undefined) return values;
  const file = path.join(root, `Pulumi.${stack}.yaml`);
  if (!/^[A-Za-z0-9_.-]+$/.test(stack) || !fs.existsSync(file)) {
    throw new Error(`--stack: no stack file Pulumi.${stack}.yaml (stacks here: ${fs.readdirSync(root).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).map((f) => f.slice(7, -5)).join(", ")})`);
  }
  const doc = yaml.load(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | undefined;
  for (const [key, value] of Object.entries(doc?.config ?? {})) {
    const [namespace, name] = key.split(":");
    if (namespace === PROJECT && name) values[name] = value;
  }
  return values;
}

function integer(values: Record<string, unknown>, key: string): number {
  const v = Number(values[key]);
  if (!Number.isInteger(v)) throw new Error(`stack setting ${PROJECT}:${key} must be an integer, got ${JSON.stringify(values[key])}`);
  return v;
}

export function stackSettings(stack: string | undefined, root = ROOT): StackSettings {
  const v = readStackValues(stack, root);
  const archive = integer(v, "archiveRetentionDays");
  // components/mesh.ts dedupeWindowDays: the longest any copy of an event can come back.
  const dedupeDays = Math.max(7, 14, integer(v, "queueMessageTtlDays"), archive === 0 ? 365 : archive);
  return {
    stack: stack ?? "defaults",
    lockDurationMs: integer(v, "queueLockDurationSeconds") * 1000,
    maxDeliveryCount: integer(v, "queueMaxDeliveryCount"),
    retryPolicy: { maximumEventAgeMs: integer(v, "retryMaximumEventAgeSeconds") * 1000, maximumRetryAttempts: integer(v, "retryMaximumAttempts") },
    dedupeWindowMs: dedupeDays * 86_400_000,
    relay: {
      batchSize: integer(v, "relayBatchSize"),
      batchWindowMs: integer(v, "relayBatchWindowSeconds") * 1000,
      maximumRetryAttempts: integer(v, "relayMaximumRetryAttempts"),
    },
    maxAutoLockRenewalMs: MAX_AUTO_LOCK_RENEWAL_SECONDS * 1000,
  };
}
