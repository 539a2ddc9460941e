/**
 * Producer side of the transactional outbox: the caller's business writes and one outbox item per
 * event go into ONE DynamoDB transaction, so an event exists if and only if its state change does.
 */
import { createHash } from "crypto";
import {
  AttributeValue,
  TransactWriteItem,
  TransactWriteItemsCommand,
  TransactWriteItemsCommandOutput,
} from "@aws-sdk/client-dynamodb";
import { checkEntrySize, DomainEvent, EventValidationError, ServiceBusTier, validateDomainEvent, ValidationOptions } from "./event";
import {
  OUTBOX_EVENT_ATTRIBUTE,
  OUTBOX_KEY_ATTRIBUTE,
  OUTBOX_STATUS_ATTRIBUTE,
  OUTBOX_STATUS_PENDING,
  OUTBOX_TTL_ATTRIBUTE,
} from "./outbox-schema";

/** DynamoDB's per-transaction action limit. */
export const MAX_TRANSACTION_ITEMS = 100;
export const DEFAULT_OUTBOX_TTL_SECONDS = 7 * 24 * 3600;
/**
 * DynamoDB's item size limit, attribute names and values included (DynamoDB Developer Guide,
 * "Quotas": 400 KB). On Premium the outbox item, not Service Bus, is what caps an event.
 */
export const DYNAMODB_MAX_ITEM_BYTES = 400 * 1024;

/**
 * Size of an item the way DynamoDB documents it: the UTF-8 bytes of each attribute name plus its
 * value (strings in UTF-8; numbers about one byte per two significant digits, plus one).
 */
export function dynamoDbItemSize(item: Record<string, AttributeValue>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    size += Buffer.byteLength(name, "utf8");
    if (value.S !== undefined) size += Buffer.byteLength(value.S, "utf8");
    else if (value.N !== undefined) size += Math.ceil(value.N.replace(/^-|\.|^0+/g, "").length / 2) + 1;
    else throw new Error(`dynamoDbItemSize: attribute ${name} is neither S nor N`);
  }
  return size;
}

/** The one DynamoDB call the writer makes. A `DynamoDBClient` satisfies it. */
export interface TransactWritePort {
  send(command: TransactWriteItemsCommand): Promise<TransactWriteItemsCommandOutput>;
}

export interface OutboxWriterOptions {
  dynamodb: TransactWritePort;
  outboxTableName: string;
  /**
   * Outbox items expire this long after the event's own timestamp (not after "now": a retried
   * commit must send byte-identical items, or DynamoDB answers IdempotentParameterMismatch).
   * While the item exists, its event id cannot be written again. Default 7 days.
   */
  ttlSeconds?: number;
  validation?: ValidationOptions;
  /**
   * Tier of the Service Bus namespace the events end up in: each event must fit, inside the
   * EventBridge envelope, in that tier's largest message. Default Standard, the smaller limit.
   */
  serviceBusTier?: ServiceBusTier;
}

export interface CommitResult {
  eventIds: string[];
  clientRequestToken: string;
}

export interface OutboxWriter {
  /**
   * Writes `stateWrites` and one PENDING outbox item per event atomically. Safe to call again with
   * the same arguments after a timeout or any error with `retryable: true`.
   */
  commit(stateWrites: readonly TransactWriteItem[], events: readonly DomainEvent[]): Promise<CommitResult>;
}

export type OutboxErrorCode =
  // Refused before any call to DynamoDB:
  | "NoEvents"
  | "InvalidEvent"
  | "EventTooLarge"
  | "DuplicateEventInCommit"
  | "TooManyItems"
  | "InvalidStateWrite"
  // Refused by DynamoDB:
  | "BusinessConditionFailed"
  | "EventAlreadyWritten"
  | "TransactionConflict"
  | "Throttled"
  | "IdempotentParameterMismatch"
  | "TransactionInProgress"
  | "DynamoDbError";

/** Which item of the transaction a cancellation reason points at. */
export type CancellationTarget =
  | { kind: "stateWrite"; index: number; tableName?: string }
  | { kind: "outbox"; eventId: string };

export interface CancellationFailure {
  /** Position in TransactItems (business writes first, then outbox items). */
  itemIndex: number;
  /** DynamoDB's reason code: ConditionalCheckFailed, TransactionConflict, ThrottlingError, ValidationError, … */
  reason: string;
  message?: string;
  target: CancellationTarget;
}

export class OutboxCommitError extends Error {
  override readonly name = "OutboxCommitError";
  constructor(
    readonly code: OutboxErrorCode,
    message: string,
    readonly eventIds: readonly string[],
    /** True when calling commit again with the same arguments may succeed. */
    readonly retryable: boolean,
    readonly failures: readonly CancellationFailure[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Indexes (into the caller's stateWrites) whose condition failed. */
  get failedStateWrites(): number[] {
    return this.failures.flatMap((f) =>
      f.target.kind === "stateWrite" && f.reason === "ConditionalCheckFailed" ? [f.target.index] : [],
    );
  }

  /** Event ids that already have an outbox item. */
  get duplicateEventIds(): string[] {
    return this.failures.flatMap((f) =>
      f.target.kind === "outbox" && f.reason === "ConditionalCheckFailed" ? [f.target.eventId] : [],
    );
  }
}

/**
 * The ClientRequestToken for a commit: a hash of its event ids (order-independent), formatted as a
 * UUID (36 characters, DynamoDB's maximum). A retry of the same commit carries the same token, so
 * within DynamoDB's 10-minute idempotency window it is answered with success and writes nothing;
 * after that window the outbox items' attribute_not_exists condition still refuses a second write.
 */
export function deriveClientRequestToken(eventIds: readonly string[]): string {
  const hex = createHash("sha256")
    .update("multicloud-mesh/outbox-commit/v1\n")
    .update([...eventIds].sort().join("\n"))
    .digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The outbox item for an event, in DynamoDB JSON. */
export function outboxItem(event: DomainEvent, ttlSeconds: number = DEFAULT_OUTBOX_TTL_SECONDS): Record<string, AttributeValue> {
  const expiresAt = Math.floor(Date.parse(event.metadata.timestamp) / 1000) + ttlSeconds;
  return {
    [OUTBOX_KEY_ATTRIBUTE]: { S: event.metadata.event_id },
    [OUTBOX_STATUS_ATTRIBUTE]: { S: OUTBOX_STATUS_PENDING },
    [OUTBOX_EVENT_ATTRIBUTE]: { S: JSON.stringify(event) },
    [OUTBOX_TTL_ATTRIBUTE]: { N: String(expiresAt) },
  };
}

const WRITE_ACTIONS = ["Put", "Update", "Delete", "ConditionCheck"] as const;

function tableOf(write: TransactWriteItem): string | undefined {
  for (const action of WRITE_ACTIONS) {
    const op = write[action];
    if (op) return op.TableName;
  }
  return undefined;
}

export function createOutboxWriter(options: OutboxWriterOptions): OutboxWriter {
  if (!options.outboxTableName) throw new Error("createOutboxWriter: outboxTableName is required");
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_OUTBOX_TTL_SECONDS;
  const tier = options.serviceBusTier ?? "Standard";
  if (tier !== "Standard" && tier !== "Premium") {
    throw new Error(`createOutboxWriter: serviceBusTier must be Standard or Premium, got ${JSON.stringify(tier)}`);
  }
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new Error(`createOutboxWriter: ttlSeconds must be a positive integer, got ${ttlSeconds}`);
  }

  return {
    async commit(stateWrites, events) {
      const eventIds = events.map((e) => (typeof e?.metadata?.event_id === "string" ? e.metadata.event_id : "?"));
      const refuse = (code: OutboxErrorCode, message: string): never => {
        throw new OutboxCommitError(code, `${message} Nothing was written.`, eventIds, false);
      };

      if (events.length === 0) refuse("NoEvents", "commit() needs at least one event; write state alone with TransactWriteItems.");
      const total = stateWrites.length + events.length;
      if (total > MAX_TRANSACTION_ITEMS) {
        refuse(
          "TooManyItems",
          `commit() of ${stateWrites.length} state writes + ${events.length} events = ${total} items exceeds DynamoDB's ` +
            `${MAX_TRANSACTION_ITEMS}-item transaction limit.`,
        );
      }
      stateWrites.forEach((write, index) => {
        const actions = WRITE_ACTIONS.filter((a) => write[a] !== undefined);
        if (actions.length !== 1) {
          refuse("InvalidStateWrite", `stateWrites[${index}] must have exactly one of ${WRITE_ACTIONS.join("/")}, has ${actions.length}.`);
        }
        if (tableOf(write) === options.outboxTableName) {
          refuse("InvalidStateWrite", `stateWrites[${index}] targets the outbox table ${options.outboxTableName}; pass events instead.`);
        }
      });
      const seen = new Set<string>();
      const outboxWrites: TransactWriteItem[] = [];
      for (const event of events) {
        const valid = validateDomainEvent(event, options.validation);
        if (!valid.ok) refuse("InvalidEvent", (valid as { error: EventValidationError }).error.message + ".");
        const id = event.metadata.event_id;
        if (seen.has(id)) refuse("DuplicateEventInCommit", `event ${id} appears twice in one commit.`);
        seen.add(id);
        const detail = JSON.stringify(event);
        const size = checkEntrySize(event, detail, tier);
        if (!size.ok) refuse("EventTooLarge", (size as { error: EventValidationError }).error.message + ".");
        const item = outboxItem(event, ttlSeconds);
        const itemBytes = dynamoDbItemSize(item);
        if (itemBytes > DYNAMODB_MAX_ITEM_BYTES) {
          refuse(
            "EventTooLarge",
            `event ${id}: its outbox item would be ${itemBytes} bytes; DynamoDB accepts items of at most ${DYNAMODB_MAX_ITEM_BYTES} bytes ` +
              "(names and values). Store the payload elsewhere and send a reference.",
          );
        }
        outboxWrites.push({
          Put: {
            TableName: options.outboxTableName,
            Item: item,
            ConditionExpression: "attribute_not_exists(#id)",
            ExpressionAttributeNames: { "#id": OUTBOX_KEY_ATTRIBUTE },
          },
        });
      }

      const clientRequestToken = deriveClientRequestToken(eventIds);
      try {
        await options.dynamodb.send(
          new TransactWriteItemsCommand({
            TransactItems: [...stateWrites, ...outboxWrites],
            ClientRequestToken: clientRequestToken,
          }),
        );
      } catch (error) {
        throw translateDynamoDbError(error, stateWrites, eventIds);
      }
      return { eventIds, clientRequestToken };
    },
  };
}

function translateDynamoDbError(error: unknown, stateWrites: readonly TransactWriteItem[], eventIds: string[]): OutboxCommitError {
  const name = (error as { name?: string })?.name ?? "Error";
  const text = (error as { message?: string })?.message ?? String(error);
  const ids = eventIds.join(", ");
  switch (name) {
    case "TransactionCanceledException": {
      const reasons = ((error as { CancellationReasons?: { Code?: string; Message?: string }[] }).CancellationReasons ?? []);
      const failures: CancellationFailure[] = [];
      reasons.forEach((reason, itemIndex) => {
        if (!reason.Code || reason.Code === "None") return;
        const target: CancellationTarget =
          itemIndex < stateWrites.length
            ? { kind: "stateWrite", index: itemIndex, tableName: tableOf(stateWrites[itemIndex]) }
            : { kind: "outbox", eventId: eventIds[itemIndex - stateWrites.length] };
        failures.push({ itemIndex, reason: reason.Code, message: reason.Message, target });
      });
      const describe = failures
        .map((f) =>
          f.target.kind === "stateWrite"
            ? `stateWrites[${f.target.index}] (${f.target.tableName}): ${f.reason}`
            : `outbox item for event ${f.target.eventId}: ${f.reason}`,
        )
        .join("; ");
      const business = failures.some((f) => f.target.kind === "stateWrite" && f.reason === "ConditionalCheckFailed");
      const duplicate = failures.some((f) => f.target.kind === "outbox" && f.reason === "ConditionalCheckFailed");
      const conflict = failures.some((f) => f.reason === "TransactionConflict");
      const throttled = failures.some((f) => f.reason === "ThrottlingError" || f.reason === "ProvisionedThroughputExceeded");
      if (business) {
        return new OutboxCommitError(
          "BusinessConditionFailed",
          `Transaction cancelled, nothing written and no event published: a business write's condition failed (${describe}). ` +
            `Events ${ids} were not recorded.`,
          eventIds,
          false,
          failures,
          { cause: error },
        );
      }
      if (duplicate) {
        return new OutboxCommitError(
          "EventAlreadyWritten",
          `Transaction cancelled, nothing written: an outbox item already exists (${describe}). ` +
            "If this is a retry of a commit that timed out, the original commit landed; otherwise an event id was reused.",
          eventIds,
          false,
          failures,
          { cause: error },
        );
      }
      if (conflict || throttled) {
        return new OutboxCommitError(
          conflict ? "TransactionConflict" : "Throttled",
          `Transaction cancelled, nothing written (${describe}). Retry the same commit (events ${ids}).`,
          eventIds,
          true,
          failures,
          { cause: error },
        );
      }
      return new OutboxCommitError(
        "DynamoDbError",
        `Transaction cancelled, nothing written (${describe || text}). Events ${ids}.`,
        eventIds,
        false,
        failures,
        { cause: error },
      );
    }
    case "IdempotentParameterMismatchException":
      return new OutboxCommitError(
        "IdempotentParameterMismatch",
        `A commit with events ${ids} was sent in the last 10 minutes with different contents (same ClientRequestToken). ` +
          "A retry must pass exactly the same state writes and events; nothing was written by this call.",
        eventIds,
        false,
        [],
        { cause: error },
      );
    case "TransactionInProgressException":
      return new OutboxCommitError(
        "TransactionInProgress",
        `The original commit of events ${ids} is still in progress; retry the same commit shortly.`,
        eventIds,
        true,
        [],
        { cause: error },
      );
    case "ProvisionedThroughputExceededException":
    case "ThrottlingException":
    case "RequestLimitExceeded":
      return new OutboxCommitError("Throttled", `DynamoDB throttled the commit of events ${ids}: ${text}. Retry the same commit.`, eventIds, true, [], {
        cause: error,
      });
    default:
      // Timeouts and network errors land here: the transaction may or may not have been applied.
      // Retrying the same commit is safe (same token, conditional outbox puts), so say so.
      return new OutboxCommitError(
        "DynamoDbError",
        `Commit of events ${ids} failed with ${name}: ${text}. It may or may not have been applied; retrying the same commit is safe.`,
        eventIds,
        true,
        [],
        { cause: error },
      );
  }
}
