/**
 * The shape of an outbox item, shared by the producer library (runtime/), the relay, and the
 * infrastructure that creates the table and filters its stream (components/). One definition, so
 * the table key, the TTL attribute and the stream filter can never drift from what the code writes.
 */

/** Partition key of the outbox table: the domain event's `metadata.event_id`. */
export const OUTBOX_KEY_ATTRIBUTE = "event_id";

/** Delivery status of an outbox item. Only `PENDING` items are relayed. */
export const OUTBOX_STATUS_ATTRIBUTE = "status";
export const OUTBOX_STATUS_PENDING = "PENDING";

/**
 * The whole domain event as a JSON string. Stored whole because the stream records of one
 * transaction may reach the relay in different batches: the relay never needs a second read.
 */
export const OUTBOX_EVENT_ATTRIBUTE = "event";

/** Epoch seconds after which DynamoDB TTL deletes the item (the table enables TTL on this attribute). */
export const OUTBOX_TTL_ATTRIBUTE = "expires_at";
