import { randomUUID } from "crypto";
import type { DomainEvent, EventBridgeEnvelope } from "../../runtime/event";

/** A valid domain event; override any part. */
export function makeEvent(overrides: { metadata?: Partial<DomainEvent["metadata"]>; data?: Record<string, unknown> } = {}): DomainEvent {
  return {
    metadata: {
      event_id: randomUUID(),
      type: "OrderPlaced",
      source: "com.example.orders",
      timestamp: new Date().toISOString(),
      schema_version: "1.0",
      ...overrides.metadata,
    },
    data: overrides.data ?? { orderId: "o-1", amountCents: 1299 },
  };
}

/** The event the way EventBridge's API destination POSTs it. */
export function envelopeOf(event: DomainEvent, extra: Record<string, unknown> = {}): EventBridgeEnvelope {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": event.metadata.type,
    source: event.metadata.source,
    account: "123456789012",
    time: event.metadata.timestamp.replace(/\.\d+Z$/, "Z"),
    region: "eu-west-1",
    resources: [],
    detail: event,
    ...extra,
  };
}
