/**
 * Size limits of the Azure → AWS path. An event travels as one PutEvents entry, and the AWS
 * consumer receives it as an SQS message whose body is the EventBridge event (the domain event in
 * `detail`). Both limits are checked by the producer (refused before commit) and by the relay (a
 * row that breaks them is parked, never sent).
 */
import {
  deliveredEnvelopeSize,
  DomainEvent,
  EventValidationError,
  PUT_EVENTS_MAX_ENTRY_BYTES,
  PUT_EVENTS_MAX_REQUEST_BYTES,
  putEventsEntrySize,
  Result,
  toPutEventsEntry,
} from "../event";

/**
 * Largest SQS message body the path assumes. Amazon SQS quotas: 256 KiB for years, raised to
 * 1 MiB in 2025; the queue's own `MaximumMessageSize` attribute can be lower. We keep 256 KiB
 * (also the request size the relay packs PutEvents calls to, PUT_EVENTS_MAX_REQUEST_BYTES) so an
 * event that passes here fits whatever the queue is set to; raise it with `maxDeliveredBytes`
 * only together with the queue's attribute.
 */
export const SQS_DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024;

/**
 * Checks an event (its JSON text as stored) against EventBridge's entry limit, the relay's request
 * size (an entry that could never fit one request is refused), and the delivered SQS message.
 * Returns the entry size.
 */
export function checkAzureOriginSize(event: DomainEvent, detail: string, maxDeliveredBytes: number = SQS_DEFAULT_MAX_MESSAGE_BYTES): Result<number> {
  const entry = toPutEventsEntry(event, "-", detail);
  const entryBytes = putEventsEntrySize(entry);
  const id = event.metadata.event_id;
  const entryLimit = Math.min(PUT_EVENTS_MAX_ENTRY_BYTES, PUT_EVENTS_MAX_REQUEST_BYTES);
  if (entryBytes > entryLimit) {
    return {
      ok: false,
      error: new EventValidationError(
        "EntryTooLarge",
        "(event)",
        `makes a ${entryBytes}-byte PutEvents entry; the relay sends requests of at most ${entryLimit} bytes ` +
          "(Source + DetailType + Detail + 14 for Time, UTF-8). Store the payload elsewhere and send a reference",
        id,
      ),
    };
  }
  const deliveredBytes = deliveredEnvelopeSize(entry);
  if (deliveredBytes > maxDeliveredBytes) {
    return {
      ok: false,
      error: new EventValidationError(
        "MessageTooLarge",
        "(event)",
        `would reach SQS as a ${deliveredBytes}-byte message (the EventBridge event around a ${entryBytes}-byte entry); ` +
          `the path accepts at most ${maxDeliveredBytes} bytes. Store the payload elsewhere and send a reference`,
        id,
      ),
    };
  }
  return { ok: true, value: entryBytes };
}
