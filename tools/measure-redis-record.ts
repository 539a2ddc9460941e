/**
 * How many bytes of Redis memory one completed idempotency record takes.
 *
 *   npx ts-node --transpile-only tools/measure-redis-record.ts      (RECORDS=50000 to change the count)
 *
 * Starts a redis-server on a free port, writes RECORDS records through the real store
 * (runtime/idempotency-store.ts: claim, then complete, with event ids shaped like the producer's
 * UUIDs and the default key prefix), and prints two figures from Redis itself:
 * - `used_memory` (INFO memory) after minus before, divided by RECORDS: what a record costs the
 *   server, including the main dictionary and the expires dictionary (every record has a TTL);
 * - MEMORY USAGE of sampled keys: the key and value alone (it leaves out the dictionary slots).
 * components/azure/redis-sizing.ts sizes Azure Managed Redis with the first, which is the larger.
 * A script that prints figures, not a test.
 */
import { randomUUID } from "crypto";
import Redis from "ioredis";
import { createRedisIdempotencyStore } from "../runtime/idempotency-store";
import { startRedisServer } from "./local-servers/redis-server";

const RECORDS = Number(process.env.RECORDS ?? 50_000);
const SAMPLES = 200;
const IN_FLIGHT = 64;
// The production window (components/mesh.ts dedupeWindowDays): the TTL's encoding does not depend on it.
const DEDUPE_WINDOW_MS = 14 * 86_400_000;

async function usedMemory(redis: Redis): Promise<number> {
    const info = await redis.info("memory");
    const match = /^used_memory:(\d+)/m.exec(info);
    if (!match) throw new Error(`INFO memory has no used_memory line:\n${info}`);
    return Number(match[1]);
}

async function main(): Promise<void> {
    if (!Number.isInteger(RECORDS) || RECORDS < 1000) throw new Error(`RECORDS must be an integer ≥ 1000, got ${process.env.RECORDS}`);
    const server = await startRedisServer();
    const redis = new Redis({ host: server.host, port: server.port });
    try {
        const store = createRedisIdempotencyStore(redis, { dedupeWindowMs: DEDUPE_WINDOW_MS });
        const ids = Array.from({ length: RECORDS }, () => randomUUID());
        // Load the scripts first, so their cache is not counted as record memory.
        const warm = randomUUID();
        const warmClaim = await store.claim(warm, 60_000);
        if (warmClaim.status !== "claimed") throw new Error("warm-up claim failed");
        await store.complete(warm, warmClaim.token);
        await redis.del(`mesh:idem:${warm}`);

        const before = await usedMemory(redis);
        for (let i = 0; i < ids.length; i += IN_FLIGHT) {
            await Promise.all(
                ids.slice(i, i + IN_FLIGHT).map(async (id) => {
                    const claim = await store.claim(id, 60_000);
                    if (claim.status !== "claimed") throw new Error(`claim of ${id} returned ${claim.status}`);
                    const done = await store.complete(id, claim.token);
                    if (done !== "completed") throw new Error(`complete of ${id} returned ${done}`);
                }),
            );
        }
        const after = await usedMemory(redis);
        const keys = await redis.dbsize();
        if (keys !== RECORDS) throw new Error(`expected ${RECORDS} keys, found ${keys}`);

        let sampled = 0;
        for (let i = 0; i < SAMPLES; i++) {
            const key = `mesh:idem:${ids[Math.floor((i * ids.length) / SAMPLES)]}`;
            sampled += Number(await redis.call("MEMORY", "USAGE", key, "SAMPLES", "0"));
        }
        const example = `mesh:idem:${ids[0]}`;
        const version = /^redis_version:(\S+)/m.exec(await redis.info("server"))?.[1] ?? "?";
        console.log(`redis-server ${version}, ${RECORDS} completed records (claim + complete through runtime/idempotency-store.ts)`);
        console.log(`  key   ${example} (${example.length} bytes)`);
        console.log(`  value ${String(await redis.get(example)).length} bytes ("done:<token>"), TTL ${Math.round(Number(await redis.pttl(example)) / 86_400_000)} days`);
        console.log(`  used_memory delta / record : ${((after - before) / RECORDS).toFixed(1)} bytes`);
        console.log(`  MEMORY USAGE per key (mean of ${SAMPLES}) : ${(sampled / SAMPLES).toFixed(1)} bytes`);
    } finally {
        redis.disconnect();
        await server.stop();
    }
}

main().catch((error) => {
    console.error(error);
    process.exit(1);
});
