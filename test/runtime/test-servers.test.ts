import { strict as assert } from "assert";
import { spawnManaged, tcpExchange } from "../../tools/local-servers/processes";
import { startRedisServer } from "../../tools/local-servers/redis-server";

/** The real-server helpers the runtime tests stand on must fail clearly and leave nothing behind. */
describe("test support: real servers", function () {
  this.timeout(30_000);

  it("a missing server binary is a clear error that says how to install it", async () => {
    await assert.rejects(
      spawnManaged({ command: "no-such-server-binary", args: [], label: "example", installHint: "Install it with apt-get." }),
      /example: 'no-such-server-binary' is not installed or not on PATH\. Install it with apt-get\./,
    );
  });

  it("redis-server stops, restarts on the same port, and is gone (with its process group) after stop", async () => {
    const redis = await startRedisServer();
    const ping = () => tcpExchange(redis.port, "PING\r\n", (r) => r.includes("\r\n"));
    assert.match(await ping(), /^\+PONG/);
    await redis.stop();
    assert.equal(redis.isRunning(), false);
    await assert.rejects(ping());
    await redis.restart();
    assert.match(await ping(), /^\+PONG/);
    await redis.stop();
    await assert.rejects(ping());
  });
});
