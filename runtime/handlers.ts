/**
 * The business handler the stacks deploy until a team plugs in its own: it records each event it
 * is given, once per event id (the consumer guarantees that), as a structured log line. Replace it
 * in index.ts with the handler that applies your effect; make that effect conditional on the
 * event id where you can (see runtime/README.md, "Residual risk").
 */
import type { BusinessHandler } from "./consumer";

export const logEventHandler: BusinessHandler = async (event, context) => {
  process.stdout.write(
    JSON.stringify({
      level: "INFO",
      message: "Event applied",
      service: "mesh-consumer",
      eventId: event.metadata.event_id,
      type: event.metadata.type,
      source: event.metadata.source,
      deliveryCount: context.deliveryCount,
    }) + "\n",
  );
};
