import { strict as assert } from "assert";
import * as net from "net";
import { AddressInfo } from "net";
import { randomUUID } from "crypto";
import Redis from "ioredis";
import { createConsumer } from "../../runtime/consumer";
import { createRedisIdempotencyStore } from "../../runtime/idempotency-store";
import { RedisServer, startRedisServer } from "../../tools/local-servers/redis-server";
import { connectRedis } from "../../tools/local-servers/redis-client";
import { envelopeOf, makeEvent } from "../support/events";
import { recordingSettlement } from "../support/settlement";
import { memoryLogger } from "../support/memory-logger";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A TCP proxy in front of the real redis-server that can hold back the server's next reply for a
 * while (the request itself goes through at once). With a client-side command timeout shorter than
 * the hold, that is exactly "the claim timed out here but ran on the server".
 */
async function startReplyDelayingProxy(upstreamPort: number) {
  let delayNextReplyMs = 0;
  const sockets: net.Socket[] = [];
  const server = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, "127.0.0.1");
    sockets.push(client, upstream);
    client.on("data", (chunk) => upstream.write(chunk));
    // Replies stay in order: each chunk waits for the one before it.
    let chain = Promise.resolve();
    upstream.on("data", (chunk) => {
      const hold = delayNextReplyMs;
      delayNextReplyMs = 0;
      chain = chain.then(() => (hold > 0 ? sleep(hold) : undefined)).then(() => void (client.destroyed || client.write(chunk)));
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("close", close).on("error", close);
    upstream.on("close", close).on("error", close);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    delayNextReply(ms: number) {
      delayNextReplyMs = ms;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe("runtime/consumer: a claim whose reply was lost (real redis-server behind a reply-delaying proxy)", function () {
  this.timeout(30_000);
  let server: RedisServer;
  let proxy: Awaited<ReturnType<typeof startReplyDelayingProxy>>;
  let redis: Redis;
  let admin: Redis;

  before(async () => {
    server = await startRedisServer();
    proxy = await startReplyDelayingProxy(server.port);
    // The consumer's client goes through the proxy, with a command timeout shorter than the held reply.
    redis = await connectRedis({ ...server, port: proxy.port }, { commandTimeout: 200 });
    admin = await connectRedis(server);
  });
  after(async () => {
    redis?.disconnect();
    admin?.disconnect();
    await proxy?.stop();
    await server?.stop();
  });

  it("the retry within the delivery reuses the token: the claim that ran on the server is taken up again, the event processed in this delivery, no orphaned lease", async () => {
    const prefix = `lr:${randomUUID()}:`;
    const store = createRedisIdempotencyStore(redis, { keyPrefix: prefix });
    await store.claim(randomUUID(), 1000); // loads the script, so the next claim is one EVALSHA and one reply
    const effects: string[] = [];
    const logger = memoryLogger();
    const consumer = createConsumer({
      store,
      handler: async (e) => void effects.push(e.metadata.event_id),
      logger,
      messageLockMs: 3000,
      safetyMarginMs: 300,
      inProgressMaxWaitMs: 0,
      storeOutageMaxWaitMs: 2000,
    });
    const event = makeEvent();
    const settle = recordingSettlement();
    proxy.delayNextReply(600);
    const outcome = await consumer.handle({ body: JSON.stringify(envelopeOf(event)), messageId: "m-1", deliveryCount: 1 }, settle);

    assert.ok(logger.at("warn").some((l) => /retrying the claim/.test(l.message)), "the first claim did time out client-side");
    assert.equal(outcome.kind, "processed", JSON.stringify(outcome));
    assert.deepEqual(settle.records, [{ action: "complete" }], "no delivery attempt spent");
    assert.deepEqual(effects, [event.metadata.event_id]);
    assert.match(String(await admin.get(prefix + event.metadata.event_id)), /^done:/);
  });
});
