import { strict as assert } from "assert";
import { createJsonLogger } from "../../runtime/logger";

describe("runtime/logger", () => {
  it("writes one JSON object per line with level, message, service, timestamp and attributes; errors keep name/message/code", () => {
    const lines: string[] = [];
    const logger = createJsonLogger({ service: "relay", write: (l) => lines.push(l), now: () => new Date("2024-05-01T00:00:00Z") });
    const error = Object.assign(new Error("boom"), { code: "ECONNRESET" });
    logger.error("publish failed", { eventId: "e-1", error });
    assert.equal(lines.length, 1);
    assert.deepEqual(JSON.parse(lines[0]), {
      level: "ERROR",
      message: "publish failed",
      service: "relay",
      timestamp: "2024-05-01T00:00:00.000Z",
      eventId: "e-1",
      error: { name: "Error", message: "boom", code: "ECONNRESET" },
    });
  });

  it("drops lines below its level", () => {
    const lines: string[] = [];
    const logger = createJsonLogger({ service: "s", level: "warn", write: (l) => lines.push(l) });
    logger.debug("d");
    logger.info("i");
    logger.warn("w");
    assert.deepEqual(lines.map((l) => JSON.parse(l).message), ["w"]);
  });
});
