import { strict as assert } from "assert";
import Redis from "ioredis";
import { keepTokenFresh, readConsumerSettings } from "../../runtime/functions-host";
import { connectRedis, waitForReady } from "../../tools/local-servers/redis-client";
import { RedisServer, startRedisServer } from "../../tools/local-servers/redis-server";

describe("consumer host settings (runtime/functions-host.ts)", () => {
    const valid = {
        MESH_MESSAGE_LOCK_MS: "60000",
        MESH_REDIS_HOST: "mesh.westeurope.redis.azure.net",
        MESH_REDIS_PORT: "10000",
        MESH_REDIS_USERNAME: "object-id",
        AZURE_CLIENT_ID: "client-id",
    };

    it("reads the app settings, defaulting to TLS and Entra ID", () => {
        const settings = readConsumerSettings(valid);
        assert.deepEqual(settings.redis, { host: "mesh.westeurope.redis.azure.net", port: 10000, tls: true, auth: "entra", username: "object-id", clientId: "client-id" });
        assert.equal(settings.messageLockMs, 60000);
    });

    it("refuses an Entra ID token over plain TCP", () => {
        assert.throws(() => readConsumerSettings({ ...valid, MESH_REDIS_TLS: "false" }), /MESH_REDIS_TLS must be true with MESH_REDIS_AUTH=entra/);
    });

    it("lists every bad setting in one error", () => {
        assert.throws(
            () => readConsumerSettings({ MESH_REDIS_PORT: "x" }),
            (err: Error) => {
                for (const name of ["MESH_MESSAGE_LOCK_MS is not set", "MESH_REDIS_HOST is not set", 'MESH_REDIS_PORT="x" is not a positive integer', "MESH_REDIS_USERNAME is not set", "AZURE_CLIENT_ID is not set"]) {
                    assert.ok(err.message.includes(name), `missing "${name}" in: ${err.message}`);
                }
                return true;
            },
        );
    });
});

/**
 * Token re-authentication against a real redis-server whose ACL user accepts one short-lived
 * password after another, the way Azure Managed Redis accepts successive Entra ID tokens.
 */
describe("keepTokenFresh against a real redis-server", function () {
    this.timeout(60_000);
    let server: RedisServer;
    let admin: Redis;

    before(async () => {
        server = await startRedisServer();
        admin = await connectRedis(server);
        await admin.call("ACL", "SETUSER", "consumer", "on", ">token-1", "~*", "+@all");
    });
    after(async () => {
        admin?.disconnect();
        await server?.stop();
    });

    it("re-AUTHs before the token expires, and reconnects with the new token after the old one is revoked", async () => {
        const client = new Redis({ host: server.host, port: server.port, username: "consumer", password: "token-1", retryStrategy: () => 50 });
        client.on("error", () => undefined);
        await waitForReady(client);
        await admin.call("ACL", "SETUSER", "consumer", ">token-2");
        let calls = 0;
        const errors: unknown[] = [];
        const now = Date.now();
        const stop = keepTokenFresh(
            client as unknown as Parameters<typeof keepTokenFresh>[0],
            "consumer",
            async () => {
                calls++;
                return { token: "token-2", expiresOnTimestamp: Date.now() + 3_600_000 };
            },
            (e) => errors.push(e),
            // The first token "expires" 5 min + 1 s from now: refresh is due in about a second.
            { firstExpiresOnTimestamp: now + 5 * 60_000 + 1_000 },
        );
        try {
            const deadline = Date.now() + 10_000;
            while (calls === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
            await new Promise((r) => setTimeout(r, 200));
            assert.equal(calls, 1, "one refresh, scheduled from the first token's expiry");
            assert.deepEqual(errors, []);
            assert.equal(client.options.password, "token-2", "reconnects will use the new token");
            // Revoke the old token and drop the connection: the client must come back with the new one.
            await admin.call("ACL", "SETUSER", "consumer", "<token-1");
            await admin.call("CLIENT", "KILL", "USER", "consumer");
            await new Promise((r) => setTimeout(r, 300));
            await waitForReady(client);
            assert.equal(await client.call("ACL", "WHOAMI"), "consumer");
            assert.equal(await client.set("k", "v"), "OK");
        } finally {
            stop();
            client.disconnect();
        }
    });

    it("reports a failed refresh and tries again", async () => {
        const client = new Redis({ host: server.host, port: server.port, username: "consumer", password: "token-2", retryStrategy: () => 50 });
        client.on("error", () => undefined);
        await waitForReady(client);
        const errors: unknown[] = [];
        let calls = 0;
        const stop = keepTokenFresh(
            client as unknown as Parameters<typeof keepTokenFresh>[0],
            "consumer",
            async () => {
                calls++;
                throw new Error("identity endpoint unavailable");
            },
            (e) => errors.push(e),
            { firstExpiresOnTimestamp: Date.now() + 5 * 60_000 + 1_000, retryMs: 1_000 },
        );
        try {
            const deadline = Date.now() + 10_000;
            while (calls < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
            assert.ok(calls >= 2, `retried (${calls} attempts)`);
            assert.match(String(errors[0]), /identity endpoint unavailable/);
            assert.equal(await client.set("still", "works"), "OK", "the current token keeps working meanwhile");
        } finally {
            stop();
            client.disconnect();
        }
    });
});
