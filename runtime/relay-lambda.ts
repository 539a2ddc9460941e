/**
 * Production wiring of the relay for AWS Lambda: real EventBridge client, JSON logs to stdout.
 * Nothing happens at import; the Lambda closure calls `createRelayLambdaHandler` once per
 * container and exports the result.
 */
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { createJsonLogger, LogLevel } from "./logger";
import { createRelayHandler, RelayHandler } from "./relay";
import type { ServiceBusTier } from "./event";

export interface RelayLambdaConfig {
  eventBusName: string;
  /** Default 4. */
  maxConcurrentRequests?: number;
  logLevel?: LogLevel;
  /** Tier of the Service Bus namespace the events are delivered to (size limit). Default Standard. */
  serviceBusTier?: ServiceBusTier;
}

export function createRelayLambdaHandler(config: RelayLambdaConfig): RelayHandler {
  return createRelayHandler({
    eventBridge: new EventBridgeClient({}),
    eventBusName: config.eventBusName,
    maxConcurrentRequests: config.maxConcurrentRequests,
    serviceBusTier: config.serviceBusTier,
    // A transport: forward every well-formed event whatever its schema major; the consumer decides.
    validation: { supportedSchemaMajors: "any" },
    logger: createJsonLogger({ service: "outbox-relay", level: config.logLevel }),
  });
}
