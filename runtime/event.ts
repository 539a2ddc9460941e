/**
 * The domain event and the envelopes it travels in.
 *
 * One module decides what a valid event is, so the producer refuses at commit time exactly what the
 * consumer would dead-letter, and the relay and the producer compute the PutEvents entry size the
 * same way (the producer checks the very entry the relay will send).
 */

export interface EventMetadata {
  /** Lowercase canonical UUID; the idempotency key end to end. */
  event_id: string;
  /** Becomes the EventBridge `detail-type`. */
  type: string;
  /** Becomes the EventBridge `source`; must not start with `aws.` (reserved by AWS). */
  source: string;
  /** ISO-8601 / RFC 3339 date-time with an offset (`Z` or `±hh:mm`). */
  timestamp: string;
  /** `MAJOR[.MINOR[.PATCH]]`; consumers accept the majors they know. */
  schema_version: string;
  /** Extra metadata (correlation ids and such) is carried through untouched. */
  [extra: string]: unknown;
}

export interface DomainEvent<TData extends Record<string, unknown> = Record<string, unknown>> {
  metadata: EventMetadata;
  data: TData;
}

/** What the EventBridge API destination POSTs: the EventBridge event, the domain event in `detail`. */
export interface EventBridgeEnvelope {
  version: string;
  id: string;
  "detail-type": string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
  /** Present on events replayed from an archive, among other fields EventBridge may add. */
  [extra: string]: unknown;
}

/** Why an event was refused. Stable codes: the consumer uses them as dead-letter reasons. */
export type EventFault =
  | "NotJson"
  | "UnsupportedShape"
  | "MissingField"
  | "InvalidField"
  | "MissingEventId"
  | "InvalidEventId"
  | "UnsupportedSchemaVersion"
  | "EnvelopeMismatch"
  | "EntryTooLarge"
  | "MessageTooLarge";

export class EventValidationError extends Error {
  override readonly name = "EventValidationError";
  constructor(
    readonly fault: EventFault,
    /** Dotted path of the offending field, e.g. `metadata.timestamp`; `(body)` for the whole thing. */
    readonly field: string,
    readonly detail: string,
    /** The event id, when the input had one (even an invalid one, truncated). */
    readonly eventId?: string,
  ) {
    const message = `${fault}: ${field} ${detail} (event ${eventId ?? "without an event id"})`;
    super(message);
    // Set again on purpose: packaged as a Pulumi closure, this class is rewritten so that `super`
    // becomes `Error.call(this, …)`, which does not set `message` (test/components/consumer-closure).
    this.message = message;
  }
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: EventValidationError };

export interface ValidationOptions {
  /**
   * Accepted `schema_version` majors. Default `["1"]`. `"any"` checks only the form: the relay is a
   * transport and must not strand a newer event in its shard; the consumer decides what it supports.
   */
  supportedSchemaMajors?: readonly string[] | "any";
}

/**
 * EventBridge's limit for one PutEvents entry: 1 MB since 2026-01-29 (AWS Compute Blog, "More room
 * to build: serverless services now support payloads up to 1 MB", EventBridge event buses; it was
 * 256 KB, as older pages of the PutEvents API reference still say). Read as 1 MiB; on either tier
 * the Service Bus limit below, applied to the larger delivered message, is the one that binds.
 */
export const PUT_EVENTS_MAX_ENTRY_BYTES = 1024 * 1024;
/** Bytes per PutEvents request the relay packs: kept at the former 256 KB (smaller requests, never too large ones); a bigger entry travels alone. */
export const PUT_EVENTS_MAX_REQUEST_BYTES = 256 * 1024;
export const PUT_EVENTS_MAX_ENTRIES = 10;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const SCHEMA_VERSION = /^(\d+)(\.\d+){0,2}$/;
// Module-level constants are arrays, not Sets or Maps: Pulumi's closure serializer, which packages
// this code for the relay Lambda, cannot rebuild a Set and would ship a broken object.
const DOMAIN_EVENT_KEYS: readonly string[] = ["metadata", "data"];
const ENVELOPE_REQUIRED: readonly string[] = [
  "version",
  "id",
  "detail-type",
  "source",
  "account",
  "time",
  "region",
  "resources",
  "detail",
];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function fail<T>(fault: EventFault, field: string, detail: string, eventId?: string): Result<T> {
  return { ok: false, error: new EventValidationError(fault, field, detail, eventId) };
}

function rawEventId(value: unknown): string | undefined {
  if (!isPlainObject(value) || !isPlainObject(value.metadata)) return undefined;
  const id = value.metadata.event_id;
  return typeof id === "string" && id.length > 0 ? id.slice(0, 100) : undefined;
}

/** Checks an already-parsed value against the domain event schema. */
export function validateDomainEvent(value: unknown, options: ValidationOptions = {}): Result<DomainEvent> {
  if (!isPlainObject(value)) return fail("UnsupportedShape", "(event)", "must be a JSON object with metadata and data");
  const eventId = rawEventId(value);
  for (const key of Object.keys(value)) {
    if (!DOMAIN_EVENT_KEYS.includes(key)) return fail("InvalidField", key, "is not part of a domain event (only metadata and data)", eventId);
  }
  const metadata = value.metadata;
  if (metadata === undefined) return fail("MissingField", "metadata", "is missing", eventId);
  if (!isPlainObject(metadata)) return fail("InvalidField", "metadata", "must be an object", eventId);

  const id = metadata.event_id;
  if (id === undefined || id === null || id === "") return fail("MissingEventId", "metadata.event_id", "is missing");
  if (typeof id !== "string" || !UUID.test(id)) {
    return fail("InvalidEventId", "metadata.event_id", "must be a lowercase canonical UUID", eventId);
  }
  for (const field of ["type", "source", "timestamp", "schema_version"] as const) {
    const v = metadata[field];
    if (v === undefined || v === null) return fail("MissingField", `metadata.${field}`, "is missing", id);
    if (typeof v !== "string" || v.trim() === "") return fail("InvalidField", `metadata.${field}`, "must be a non-empty string", id);
  }
  const { source, timestamp } = metadata as { source: string; timestamp: string };
  if (source.startsWith("aws.")) {
    return fail("InvalidField", "metadata.source", "must not start with 'aws.' (reserved by AWS; PutEvents refuses it)", id);
  }
  if (!ISO_DATE_TIME.test(timestamp) || Number.isNaN(Date.parse(timestamp))) {
    return fail("InvalidField", "metadata.timestamp", "must be an ISO-8601 date-time with offset, e.g. 2024-05-01T12:00:00.000Z", id);
  }
  const schemaVersion = SCHEMA_VERSION.exec(metadata.schema_version as string);
  if (!schemaVersion) return fail("InvalidField", "metadata.schema_version", "must look like MAJOR[.MINOR[.PATCH]]", id);
  const majors = options.supportedSchemaMajors ?? ["1"];
  if (majors !== "any" && !majors.includes(schemaVersion[1])) {
    return fail(
      "UnsupportedSchemaVersion",
      "metadata.schema_version",
      `major ${schemaVersion[1]} is not supported (supported: ${majors.join(", ")})`,
      id,
    );
  }
  if (value.data === undefined) return fail("MissingField", "data", "is missing", id);
  if (!isPlainObject(value.data)) return fail("InvalidField", "data", "must be a JSON object", id);
  return { ok: true, value: value as unknown as DomainEvent };
}

/** Parses the JSON text of a domain event (as stored in the outbox item) and validates it. */
export function parseDomainEvent(json: string, options: ValidationOptions = {}): Result<DomainEvent> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    return fail("NotJson", "(body)", `is not valid JSON: ${(error as Error).message}`);
  }
  return validateDomainEvent(value, options);
}

export interface Delivery {
  event: DomainEvent;
  /** Present when the body was an EventBridge envelope. */
  envelope?: EventBridgeEnvelope;
}

/**
 * Reads what reached the consumer: the EventBridge event as the API destination POSTs it (domain
 * event in `detail`), or a bare domain event. Anything else is refused. The body may come as text,
 * bytes, or already parsed (hosts differ).
 */
export function parseDelivery(body: unknown, options: ValidationOptions = {}): Result<Delivery> {
  let value: unknown = body;
  if (typeof body === "string" || body instanceof Uint8Array) {
    const text = typeof body === "string" ? body : Buffer.from(body).toString("utf8");
    try {
      // A UTF-8 byte-order mark (decoded as U+FEFF) may precede JSON text: RFC 8259 §8.1 lets a
      // parser ignore it, and some senders add one; JSON.parse would refuse it.
      value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    } catch (error) {
      return fail("NotJson", "(body)", `is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (!isPlainObject(value)) return fail("UnsupportedShape", "(body)", "must be an EventBridge event or a domain event (a JSON object)");

  if ("detail" in value || "detail-type" in value) {
    for (const field of ENVELOPE_REQUIRED) {
      if (value[field] === undefined) {
        return fail("MissingField", field, "is missing from the EventBridge envelope", rawEventId(value.detail));
      }
    }
    const detail = validateDomainEvent(value.detail, options);
    if (!detail.ok) {
      const e = detail.error;
      const field = e.field.startsWith("(") ? "detail" : `detail.${e.field}`;
      return fail(e.fault, field, e.detail, e.eventId);
    }
    const event = detail.value;
    if (value["detail-type"] !== event.metadata.type || value.source !== event.metadata.source) {
      return fail(
        "EnvelopeMismatch",
        "detail-type/source",
        `envelope says ${String(value.source)}/${String(value["detail-type"])} but the event says ${event.metadata.source}/${event.metadata.type}`,
        event.metadata.event_id,
      );
    }
    return { ok: true, value: { event, envelope: value as EventBridgeEnvelope } };
  }
  if ("metadata" in value) {
    const bare = validateDomainEvent(value, options);
    return bare.ok ? { ok: true, value: { event: bare.value } } : bare;
  }
  return fail("UnsupportedShape", "(body)", "is neither an EventBridge event (detail, detail-type, …) nor a domain event (metadata, data)");
}

/** The subset of a PutEvents request entry that counts towards its size. */
export interface SizedEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  Resources?: string[];
  Time?: Date;
}

/**
 * Size of a PutEvents entry the way EventBridge documents it ("Calculating PutEvents event entry
 * size"): 14 bytes if Time is set, plus the UTF-8 bytes of Source, DetailType, Detail and each
 * resource ARN.
 */
export function putEventsEntrySize(entry: SizedEntry): number {
  let size = entry.Time !== undefined ? 14 : 0;
  if (entry.Source !== undefined) size += Buffer.byteLength(entry.Source, "utf8");
  if (entry.DetailType !== undefined) size += Buffer.byteLength(entry.DetailType, "utf8");
  if (entry.Detail !== undefined) size += Buffer.byteLength(entry.Detail, "utf8");
  for (const resource of entry.Resources ?? []) size += Buffer.byteLength(resource, "utf8");
  return size;
}

export interface PublishableEntry {
  Source: string;
  DetailType: string;
  Detail: string;
  Time: Date;
  EventBusName: string;
}

/**
 * The PutEvents entry for an event. `detail` is the event's JSON text; the relay passes the text it
 * read from the outbox so the bytes sent are the bytes the producer measured.
 */
export function toPutEventsEntry(event: DomainEvent, eventBusName: string, detail: string = JSON.stringify(event)): PublishableEntry {
  return {
    Source: event.metadata.source,
    DetailType: event.metadata.type,
    Detail: detail,
    Time: new Date(event.metadata.timestamp),
    EventBusName: eventBusName,
  };
}

export type ServiceBusTier = "Standard" | "Premium";

/**
 * Largest message a Service Bus queue accepts, properties included ("Service Bus quotas": 256 KB on
 * Standard; on Premium the queue's maxMessageSizeInKilobytes, default 1024, which the mesh's queue
 * does not change). Service Bus refuses a bigger message, and EventBridge does not retry that
 * answer: the event would go to the dead-letter queue instead of Azure.
 */
export const SERVICE_BUS_MAX_MESSAGE_BYTES: Readonly<Record<ServiceBusTier, number>> = { Standard: 256 * 1024, Premium: 1024 * 1024 };

/**
 * Bytes reserved for what Service Bus counts besides the body: system properties and the custom
 * properties it makes of request headers. Not a measured figure (no Service Bus here): a margin.
 */
export const SERVICE_BUS_PROPERTIES_ALLOWANCE_BYTES = 8 * 1024;

// The largest values EventBridge puts around `detail` in the event the API destination POSTs: its
// version, an id (UUID), the account, the time (seconds, Z), the region, no resources (the relay
// sends none), and `replay-name` (archive names: at most 48 characters) on a replayed event.
const ENVELOPE_TEMPLATE = {
  version: "0",
  id: "00000000-0000-0000-0000-000000000000",
  account: "000000000000",
  time: "0000-00-00T00:00:00Z",
  region: "x".repeat(32),
  resources: [] as string[],
  "replay-name": "x".repeat(48),
};

/**
 * Bytes of the JSON body the API destination POSTs for this entry: the EventBridge event with the
 * entry's Source and DetailType and its Detail as the `detail` object, each fixed field at its
 * largest. Detail is counted as the bytes the producer wrote; EventBridge re-serializes it, which
 * we assume does not grow compact JSON (not verifiable here; docs/alarms-and-rotation.md).
 */
export function deliveredEnvelopeSize(entry: { Source: string; DetailType: string; Detail: string }): number {
  const frame = JSON.stringify({ ...ENVELOPE_TEMPLATE, "detail-type": entry.DetailType, source: entry.Source, detail: null });
  return Buffer.byteLength(frame, "utf8") - "null".length + Buffer.byteLength(entry.Detail, "utf8");
}

/** Both sizes of an entry against both limits; `problem` names the first limit it breaks. */
export interface DeliverySize {
  entryBytes: number;
  /** Delivered body plus the properties allowance: what Service Bus would count. */
  messageBytes: number;
  problem?: { fault: "EntryTooLarge" | "MessageTooLarge"; sizeBytes: number; limitBytes: number; detail: string };
}

/** Measures an entry against EventBridge's entry limit and the tier's Service Bus message limit. */
export function measureDelivery(entry: { Source: string; DetailType: string; Detail: string; Time?: Date }, tier: ServiceBusTier): DeliverySize {
  const entryBytes = putEventsEntrySize(entry);
  const messageBytes = deliveredEnvelopeSize(entry) + SERVICE_BUS_PROPERTIES_ALLOWANCE_BYTES;
  const messageLimit = SERVICE_BUS_MAX_MESSAGE_BYTES[tier];
  if (entryBytes > PUT_EVENTS_MAX_ENTRY_BYTES) {
    return {
      entryBytes,
      messageBytes,
      problem: {
        fault: "EntryTooLarge",
        sizeBytes: entryBytes,
        limitBytes: PUT_EVENTS_MAX_ENTRY_BYTES,
        detail:
          `makes a ${entryBytes}-byte PutEvents entry; EventBridge accepts at most ${PUT_EVENTS_MAX_ENTRY_BYTES} bytes ` +
          "(Source + DetailType + Detail + 14 for Time, UTF-8)",
      },
    };
  }
  if (messageBytes > messageLimit) {
    return {
      entryBytes,
      messageBytes,
      problem: {
        fault: "MessageTooLarge",
        sizeBytes: messageBytes,
        limitBytes: messageLimit,
        detail:
          `would reach Service Bus as a ${messageBytes}-byte message (a ${entryBytes}-byte entry inside the EventBridge envelope, ` +
          `plus ${SERVICE_BUS_PROPERTIES_ALLOWANCE_BYTES} reserved for message properties); Service Bus ${tier} accepts at most ${messageLimit} bytes`,
      },
    };
  }
  return { entryBytes, messageBytes };
}

/**
 * Refuses, with the event id and both sizes, an event that EventBridge would not accept or whose
 * delivered message the tier's Service Bus queue would not accept. Returns the entry size.
 */
export function checkEntrySize(event: DomainEvent, detail: string = JSON.stringify(event), tier: ServiceBusTier = "Standard"): Result<number> {
  const measured = measureDelivery(toPutEventsEntry(event, "-", detail), tier);
  if (measured.problem) {
    return fail(measured.problem.fault, "(event)", `${measured.problem.detail}. Store the payload elsewhere and send a reference`, event.metadata.event_id);
  }
  return { ok: true, value: measured.entryBytes };
}
