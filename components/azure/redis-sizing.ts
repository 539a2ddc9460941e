/**
 * Can the idempotency store hold the dedupe window? Redis runs with `NoEviction` (an evicted
 * "done" record would let a redelivery apply its effect again), so a full Redis refuses every
 * claim and healthy events end in the dead-letter queue. The program checks the SKU against the
 * configured event rate before anything is created, and an alert watches the real usage.
 */

/**
 * Memory of each Azure Managed Redis SKU, in GB as Microsoft advertises it. Source: Microsoft
 * Learn, "What is Azure Managed Redis?" (MicrosoftDocs/azure-docs articles/redis/overview.md,
 * commit 08e4e73), the table of sizes per tier (0.5-960 GB Balanced, 12-1920 Memory Optimized,
 * 3-720 Compute Optimized, 240-4500 Flash Optimized), matched in order to the SKU names of the
 * `sku.name` enum in azure-rest-api-specs Microsoft.Cache redisenterprise 2025-07-01
 * (Balanced_B0…B1000, MemoryOptimized_M10…M2000, ComputeOptimized_X3…X700, FlashOptimized_A250…A4500).
 */
export const MANAGED_REDIS_SKU_GB: Readonly<Record<string, number>> = {
    Balanced_B0: 0.5, Balanced_B1: 1, Balanced_B3: 3, Balanced_B5: 6, Balanced_B10: 12, Balanced_B20: 24,
    Balanced_B50: 60, Balanced_B100: 120, Balanced_B150: 180, Balanced_B250: 240, Balanced_B350: 360,
    Balanced_B500: 480, Balanced_B700: 720, Balanced_B1000: 960,
    MemoryOptimized_M10: 12, MemoryOptimized_M20: 24, MemoryOptimized_M50: 60, MemoryOptimized_M100: 120,
    MemoryOptimized_M150: 180, MemoryOptimized_M250: 240, MemoryOptimized_M350: 360, MemoryOptimized_M500: 480,
    MemoryOptimized_M700: 720, MemoryOptimized_M1000: 960, MemoryOptimized_M1500: 1440, MemoryOptimized_M2000: 1920,
    ComputeOptimized_X3: 3, ComputeOptimized_X5: 6, ComputeOptimized_X10: 12, ComputeOptimized_X20: 24,
    ComputeOptimized_X50: 60, ComputeOptimized_X100: 120, ComputeOptimized_X150: 180, ComputeOptimized_X250: 240,
    ComputeOptimized_X350: 360, ComputeOptimized_X500: 480, ComputeOptimized_X700: 720,
    FlashOptimized_A250: 240, FlashOptimized_A500: 480, FlashOptimized_A700: 720, FlashOptimized_A1000: 960,
    FlashOptimized_A1500: 1440, FlashOptimized_A2000: 1920, FlashOptimized_A4500: 4500,
};

/**
 * Share of the advertised memory that holds data. Microsoft's migration guidance for Azure Managed
 * Redis (MicrosoftDocs/azure-docs articles/redis/migrate/, Redis Enterprise → Azure Managed Redis
 * sizing note): about 20 % is reserved for system operations and overhead (B10/M10/X10: 12 GB
 * total, about 9.6 GB usable).
 */
export const USABLE_MEMORY_FRACTION = 0.8;

/**
 * Bytes one completed idempotency record costs Redis: `used_memory` growth per record, measured
 * with tools/measure-redis-record.ts on redis-server 7.0.15 (213.2 bytes over 50 000 records,
 * 213.0 over 200 000; MEMORY USAGE of a key alone says 152). Rounded up.
 */
export const BYTES_PER_COMPLETED_RECORD = 214;

/**
 * Multiplier on the steady-state need: in-flight lease records, allocator fragmentation, the AOF
 * rewrite buffer (persistence is on), rate bursts above the configured average, and Redis
 * Enterprise's own per-key encoding, which was not measured here (only community redis-server was).
 */
export const MEMORY_HEADROOM_FACTOR = 1.5;

/** GB as used in Microsoft's size tables; decimal, which is the smaller (safer) reading. */
const GB = 1e9;

export interface RedisSizingInput {
    /** Azure Managed Redis SKU name. */
    sku: string;
    /** Average events per second the consumer completes (each leaves one record for the window). */
    eventsPerSecond: number;
    /** Days each completed record is kept. */
    dedupeWindowDays: number;
}

export interface RedisSizing {
    /** Records alive at the end of a full window at the configured rate. */
    records: number;
    /** Bytes those records need, with headroom. */
    neededBytes: number;
    /** Bytes of the SKU that hold data. */
    usableBytes: number;
    fits: boolean;
}

/** Usable bytes of a SKU; throws for a SKU this table does not know (name the field, list the known ones). */
export function usableBytesOf(sku: string): number {
    const gb = MANAGED_REDIS_SKU_GB[sku];
    if (gb === undefined) {
        throw new Error(
            `redisSku: ${JSON.stringify(sku)} is not an Azure Managed Redis SKU whose memory this program knows; ` +
                `known: ${Object.keys(MANAGED_REDIS_SKU_GB).join(", ")}`,
        );
    }
    return gb * GB * USABLE_MEMORY_FRACTION;
}

/** What the window needs against what the SKU holds. */
export function redisSizing(input: RedisSizingInput): RedisSizing {
    const usableBytes = usableBytesOf(input.sku);
    const records = input.eventsPerSecond * input.dedupeWindowDays * 86_400;
    const neededBytes = Math.ceil(records * BYTES_PER_COMPLETED_RECORD * MEMORY_HEADROOM_FACTOR);
    return { records, neededBytes, usableBytes, fits: neededBytes <= usableBytes };
}

/** The smallest known SKU of the same tier that would fit; undefined when none does. */
export function smallestFittingSku(input: RedisSizingInput): string | undefined {
    const tier = input.sku.split("_")[0];
    return Object.entries(MANAGED_REDIS_SKU_GB)
        .filter(([name]) => name.startsWith(`${tier}_`))
        .sort((a, b) => a[1] - b[1])
        .find(([name]) => redisSizing({ ...input, sku: name }).fits)?.[0];
}

const human = (bytes: number) => (bytes >= GB ? `${(bytes / GB).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(0)} MB`);

/**
 * Fails the program (so the preview and `pulumi up`, before anything is created) when the SKU
 * cannot hold the dedupe window at the configured rate. The error names both keys and both sizes.
 */
export function assertRedisHoldsWindow(input: RedisSizingInput): RedisSizing {
    const sizing = redisSizing(input);
    if (!sizing.fits) {
        const bigger = smallestFittingSku(input);
        throw new Error(
            `redisSku ${input.sku} cannot hold the idempotency records of consumerExpectedEventsPerSecond ${input.eventsPerSecond}: ` +
                `${input.dedupeWindowDays} days × ${input.eventsPerSecond}/s = ${sizing.records.toLocaleString("en-US")} records × ` +
                `${BYTES_PER_COMPLETED_RECORD} B × ${MEMORY_HEADROOM_FACTOR} headroom need ${human(sizing.neededBytes)}; ` +
                `${input.sku} holds ${human(sizing.usableBytes)} of data (${MANAGED_REDIS_SKU_GB[input.sku]} GB, ${USABLE_MEMORY_FRACTION * 100} % usable). ` +
                `Redis runs without eviction, so a full store refuses claims and healthy events are dead-lettered. ` +
                (bigger ? `Set redisSku to ${bigger} or larger, ` : `No ${input.sku.split("_")[0]} SKU is large enough; choose another tier, `) +
                `or lower consumerExpectedEventsPerSecond if the real rate is lower.`,
        );
    }
    return sizing;
}
