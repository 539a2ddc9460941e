import { strict as assert } from "assert";
import { SkuName } from "@pulumi/azure-native/types/enums/redisenterprise";
import {
    assertRedisHoldsWindow,
    BYTES_PER_COMPLETED_RECORD,
    MANAGED_REDIS_SKU_GB,
    MEMORY_HEADROOM_FACTOR,
    redisSizing,
    smallestFittingSku,
    usableBytesOf,
} from "../../components/azure/redis-sizing";
import { MeshConfigError, readMeshConfig } from "../../components/config";
import { dedupeWindowDays } from "../../components/mesh";

describe("Redis sizing (components/azure/redis-sizing.ts)", () => {
    it("knows the memory of exactly the Azure Managed Redis SKUs the provider offers (no Enterprise, no gaps)", () => {
        const managed = Object.values(SkuName).filter((name) => /^(Balanced|MemoryOptimized|ComputeOptimized|FlashOptimized)_/.test(name));
        assert.deepEqual(Object.keys(MANAGED_REDIS_SKU_GB).sort(), [...managed].sort());
        // Spot checks against Microsoft's table: B0 0.5 GB, B10/M10/X10 12 GB, M2000 1920 GB.
        assert.deepEqual(
            ["Balanced_B0", "Balanced_B10", "MemoryOptimized_M10", "ComputeOptimized_X10", "MemoryOptimized_M2000"].map((s) => MANAGED_REDIS_SKU_GB[s]),
            [0.5, 12, 12, 12, 1920],
        );
        // Within a tier, memory grows with the number in the name.
        for (const tier of ["Balanced", "MemoryOptimized", "ComputeOptimized", "FlashOptimized"]) {
            const sizes = Object.entries(MANAGED_REDIS_SKU_GB)
                .filter(([name]) => name.startsWith(`${tier}_`))
                .sort((a, b) => Number(a[0].replace(/\D/g, "")) - Number(b[0].replace(/\D/g, "")))
                .map(([, gb]) => gb);
            assert.deepEqual(sizes, [...sizes].sort((a, b) => a - b), tier);
        }
    });

    it("usable memory is 80 % of the advertised size (Microsoft: about 20 % reserved; 12 GB → about 9.6 GB)", () => {
        assert.equal(usableBytesOf("Balanced_B10"), 9.6e9);
        assert.throws(() => usableBytesOf("Enterprise_E10"), /redisSku: "Enterprise_E10" is not an Azure Managed Redis SKU whose memory this program knows; known: Balanced_B0, /);
        assert.throws(() => usableBytesOf("Balanced_B2"), /redisSku: "Balanced_B2"/);
    });

    it("needed memory = rate × window × bytes per record × headroom", () => {
        const sizing = redisSizing({ sku: "Balanced_B1", eventsPerSecond: 3, dedupeWindowDays: 14 });
        assert.equal(sizing.records, 3 * 14 * 86_400);
        assert.equal(sizing.neededBytes, Math.ceil(3 * 14 * 86_400 * BYTES_PER_COMPLETED_RECORD * MEMORY_HEADROOM_FACTOR));
        assert.equal(sizing.usableBytes, 0.8e9);
        assert.equal(sizing.fits, false);
        assert.equal(redisSizing({ sku: "Balanced_B3", eventsPerSecond: 3, dedupeWindowDays: 14 }).fits, true);
    });

    it("the error names both keys, both sizes and the smallest SKU of the tier that fits", () => {
        assert.throws(
            () => assertRedisHoldsWindow({ sku: "MemoryOptimized_M10", eventsPerSecond: 50, dedupeWindowDays: 90 }),
            (error: Error) => {
                assert.match(error.message, /^redisSku MemoryOptimized_M10 cannot hold the idempotency records of consumerExpectedEventsPerSecond 50: /);
                assert.match(error.message, /need 124\.\d\d GB; MemoryOptimized_M10 holds 9\.60 GB of data/);
                assert.match(error.message, /Set redisSku to MemoryOptimized_M150 or larger/);
                return true;
            },
        );
        assert.throws(() => assertRedisHoldsWindow({ sku: "ComputeOptimized_X3", eventsPerSecond: 1000, dedupeWindowDays: 365 }), /No ComputeOptimized SKU is large enough; choose another tier/);
        assert.equal(smallestFittingSku({ sku: "Balanced_B0", eventsPerSecond: 1, dedupeWindowDays: 14 }), "Balanced_B0");
    });

    it("the committed stacks fit their configured rate (the same check the preview runs)", () => {
        const stacks: Record<string, Record<string, string>> = {
            dev: { queueMessageTtlDays: "3", archiveRetentionDays: "3" },
            prod: { queueMessageTtlDays: "14", archiveRetentionDays: "90", redisSku: "MemoryOptimized_M20", consumerExpectedEventsPerSecond: "5" },
        };
        for (const [stack, values] of Object.entries(stacks)) {
            const config = readMeshConfig({ get: (k) => values[k] });
            const window = dedupeWindowDays({ archiveRetentionDays: config.archiveRetentionDays, queue: config.queue });
            assert.ok(assertRedisHoldsWindow({ sku: config.consumer.redisSku, eventsPerSecond: config.consumer.expectedEventsPerSecond, dedupeWindowDays: window }).fits, stack);
        }
    });
});

describe("Azure operations config keys (components/config.ts)", () => {
    const problems = (values: Record<string, string>) => {
        try {
            readMeshConfig({ get: (k) => values[k] });
        } catch (error) {
            assert.ok(error instanceof MeshConfigError);
            return error.problems;
        }
        assert.fail("expected a MeshConfigError");
    };

    it("defaults: 600 s propagation, 1 event/s, alert at 70 %, settlement sdk", () => {
        const config = readMeshConfig({ get: () => undefined });
        assert.equal(config.publisher.rolePropagationSeconds, 600);
        assert.deepEqual(
            [config.consumer.rolePropagationSeconds, config.consumer.expectedEventsPerSecond, config.consumer.redisUsedMemoryAlertPercent, config.consumer.settlementMode],
            [600, 1, 70, "sdk"],
        );
    });

    it("rejects bad values, naming the key", () => {
        assert.deepEqual(problems({ consumerSettlementMode: "auto" }), ['multicloud-mesh:consumerSettlementMode: "auto" is not allowed; expected one of sdk, throw']);
        assert.match(problems({ redisUsedMemoryAlertPercent: "100" })[0], /^multicloud-mesh:redisUsedMemoryAlertPercent: "100" .* from 1 to 99$/);
        assert.match(problems({ consumerExpectedEventsPerSecond: "0.5" })[0], /^multicloud-mesh:consumerExpectedEventsPerSecond: "0.5" is not allowed/);
        assert.match(problems({ azureRolePropagationSeconds: "3601" })[0], /^multicloud-mesh:azureRolePropagationSeconds: "3601" .* from 0 to 3600$/);
    });
});
