import type { ConsumerOptions } from "../consumer";

/**
 * The consumer's time budget, validated once at construction:
 *   handler deadline  <  lease  ≤  remaining message lock
 * - lease ≤ lock: when the lock runs out the message goes to another worker; if our lease outlived
 *   the lock, that worker would see "in progress" and spend delivery attempts waiting for it.
 * - deadline < lease: the handler's AbortSignal fires `marginMs` before the lease expires, leaving
 *   time to record completion while we still own the lease.
 */
export interface ConsumerTiming {
  lockMs: number;
  leaseMs: number;
  marginMs: number;
  inProgressMaxWaitMs: number;
  storeOutageMaxWaitMs: number;
}

export function resolveTiming(options: Pick<ConsumerOptions, "messageLockMs" | "leaseMs" | "safetyMarginMs" | "inProgressMaxWaitMs" | "storeOutageMaxWaitMs">): ConsumerTiming {
  const lockMs = options.messageLockMs;
  if (!Number.isInteger(lockMs) || lockMs <= 0) throw new Error(`createConsumer: messageLockMs must be a positive integer, got ${lockMs}`);
  const leaseMs = options.leaseMs ?? lockMs;
  if (!Number.isInteger(leaseMs) || leaseMs <= 0) throw new Error(`createConsumer: leaseMs must be a positive integer, got ${leaseMs}`);
  if (leaseMs > lockMs) {
    throw new Error(
      `createConsumer: leaseMs (${leaseMs}) must not exceed messageLockMs (${lockMs}): a lease that outlives the lock ` +
        "blocks the redelivered message behind a claim nobody is working on",
    );
  }
  const marginMs = options.safetyMarginMs ?? Math.min(5000, Math.floor(leaseMs / 5));
  if (!(marginMs > 0 && 2 * marginMs < leaseMs)) {
    // Below 2 × margin of lock left, a delivery is abandoned unclaimed: a larger margin would refuse every message.
    throw new Error(
      `createConsumer: safetyMarginMs (${marginMs}) must be > 0 and < leaseMs / 2 (${leaseMs / 2}) so the handler's deadline falls well inside the lease`,
    );
  }
  return {
    lockMs,
    leaseMs,
    marginMs,
    inProgressMaxWaitMs: options.inProgressMaxWaitMs ?? leaseMs,
    storeOutageMaxWaitMs: options.storeOutageMaxWaitMs ?? leaseMs,
  };
}
