import { DomainEvent, EventBridgeEnvelope, parseDelivery, ValidationOptions } from "../event";
import type { Logger } from "../logger";
import type { ConsumerMessage, ConsumerOutcome } from "../consumer";

/** A message that parsed into a valid event: what the later stages work on. */
export interface ParsedMessage {
  event: DomainEvent;
  envelope?: EventBridgeEnvelope;
  eventId: string;
  messageId?: string;
}

export function messageIdOf(message: ConsumerMessage): string | undefined {
  const id = message.messageId;
  if (id === undefined || id === null) return undefined;
  return Buffer.isBuffer(id) ? id.toString("hex") : String(id);
}

/**
 * Stage 1, parse. Rule: an unusable message is dead-lettered on its first delivery with a reason
 * naming the fault (redelivering it cannot make it valid), and no idempotency record is touched.
 */
export function parseStage(
  message: ConsumerMessage,
  validation: ValidationOptions | undefined,
  log: Logger,
): { ok: true; parsed: ParsedMessage } | { ok: false; outcome: Extract<ConsumerOutcome, { kind: "poison" }> } {
  const messageId = messageIdOf(message);
  const result = parseDelivery(message.body, validation);
  if (!result.ok) {
    const e = result.error;
    const description = e.message.slice(0, 1024);
    log.error("Poison message dead-lettered", { eventId: e.eventId, messageId, reason: e.fault, field: e.field, description });
    return { ok: false, outcome: { kind: "poison", reason: e.fault, description, eventId: e.eventId, messageId, settled: "deadLetter" } };
  }
  const { event, envelope } = result.value;
  return { ok: true, parsed: { event, envelope, eventId: event.metadata.event_id, messageId } };
}
