import { randomUUID } from "crypto";
import type { IdempotencyStore } from "../idempotency-store";
import { describeError, Logger } from "../logger";
import type { ConsumerOutcome } from "../consumer";
import type { ConsumerTiming } from "./timing";

const FIRST_POLL_MS = 50;
const MAX_POLL_MS = 2000;

/** The lease this delivery holds once the claim stage succeeds. */
export interface Claimed {
  token: string;
  generation: number;
  claimedAt: number;
  leaseMs: number;
  /** claimedAt + leaseMs, by our clock. */
  leaseEnd: number;
}

export interface ClaimInput {
  eventId: string;
  messageId?: string;
  /** When the delivery reached us. */
  start: number;
  lockEnd: number;
  timing: ConsumerTiming;
  /** One token per delivery; default a fresh UUID. */
  token?: string;
}

export interface ClaimDeps {
  store: IdempotencyStore;
  log: Logger;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/**
 * Stage 2, claim. Rules:
 * - The lease is cut to the lock left on this delivery; with too little left (≤ 2 × margin) the
 *   message is abandoned unclaimed.
 * - Completed already: acknowledge without running the handler (a duplicate).
 * - In progress elsewhere: poll within this delivery's lock (the holder usually completes, or its
 *   lease runs out), then abandon. Abandoning at once would burn a delivery attempt per poll and can
 *   push a duplicate copy into the dead-letter queue while the holder is still working.
 * - Store unreachable: retry with backoff within the lock, then abandon. Every attempt of this
 *   delivery uses ONE token, so an attempt that timed out here but ran on the server is simply
 *   claimed again by the next attempt, instead of leaving a lease nobody owns. When we give up after
 *   such a failure, one best-effort release frees a claim that may have run.
 */
export async function claimStage(deps: ClaimDeps, input: ClaimInput): Promise<{ claimed: Claimed } | { outcome: ConsumerOutcome }> {
  const { store, log, now, sleep } = deps;
  const { eventId, timing, start, lockEnd } = input;
  const base = { eventId, messageId: input.messageId };
  const token = input.token ?? randomUUID();
  const waitUntil = Math.min(start + timing.inProgressMaxWaitMs, lockEnd - 2 * timing.marginMs);
  const storeWaitUntil = Math.min(start + timing.storeOutageMaxWaitMs, lockEnd - 2 * timing.marginMs);
  let storeFailures = 0;
  // After a failed attempt, our claim may have run on the server: free it before giving up, so the
  // next delivery does not wait for a lease nobody works on (best effort: Redis may still be away).
  const releaseIfClaimMayHaveRun = async (): Promise<string | undefined> => {
    if (storeFailures === 0) return undefined;
    try {
      return await store.release(eventId, token);
    } catch {
      return "failed";
    }
  };
  let poll = FIRST_POLL_MS;
  let storePause = FIRST_POLL_MS;
  for (;;) {
    const claimedAt = now();
    const remainingLockMs = lockEnd - claimedAt;
    const leaseMs = Math.min(timing.leaseMs, Math.floor(remainingLockMs));
    if (leaseMs <= 2 * timing.marginMs) {
      const released = await releaseIfClaimMayHaveRun();
      log.warn("Too little lock time left to process safely; abandoned without claiming", { ...base, remainingLockMs, released });
      return { outcome: { kind: "lock-too-short", remainingLockMs, ...base, settled: "abandon" } };
    }
    let claim;
    try {
      claim = await store.claim(eventId, leaseMs, token);
    } catch (error) {
      storeFailures++;
      if (now() + storePause <= storeWaitUntil) {
        if (storeFailures === 1) log.warn("Idempotency store unavailable; retrying the claim within this delivery's lock", { ...base, error: describeError(error) });
        await sleep(storePause);
        storePause = Math.min(storePause * 2, MAX_POLL_MS);
        continue;
      }
      const released = await releaseIfClaimMayHaveRun();
      log.error("Idempotency store unavailable; message not acknowledged, handler not run", {
        ...base,
        stage: "claim",
        attempts: storeFailures,
        released,
        error: describeError(error),
      });
      return { outcome: { kind: "store-unavailable", stage: "claim", handlerRan: false, error, ...base, settled: "abandon" } };
    }
    if (claim.status === "claimed") {
      return { claimed: { token, generation: claim.generation, claimedAt, leaseMs, leaseEnd: claimedAt + leaseMs } };
    }
    if (claim.status === "completed") {
      log.info("Duplicate delivery acknowledged without running the handler", { ...base, waitedMs: claimedAt - start });
      return { outcome: { kind: "duplicate", ...base, settled: "complete" } };
    }
    const pause = Math.min(poll, claim.retryAfterMs + 5);
    if (now() + pause > waitUntil) {
      const waitedMs = now() - start;
      log.info("Event in progress on another worker; abandoning so it comes back", { ...base, retryAfterMs: claim.retryAfterMs, waitedMs });
      return { outcome: { kind: "in-progress-elsewhere", retryAfterMs: claim.retryAfterMs, waitedMs, ...base, settled: "abandon" } };
    }
    await sleep(pause);
    poll = Math.min(poll * 2, MAX_POLL_MS);
  }
}
