/**
 * Idempotency records in DynamoDB, with the lease/fence contract of `IdempotencyStore` (see
 * runtime/idempotency-store.ts): the same answers as the Redis store in the same situations, so the
 * consumer core and its adversarial tests are shared by both.
 *
 * One item per event id (partition key `pk` = keyPrefix + eventId):
 *   state      "held" | "free" | "done"
 *   holder     the token that holds / last held / completed it (the fence)
 *   gen        claims the record has seen (held and free only)
 *   leaseUntil lease end, epoch ms (held only)
 *   expiresAt  end of the dedupe window, epoch ms: the item counts as ABSENT from then on
 *   ttl        ceil(expiresAt / 1000), epoch seconds: the DynamoDB TTL attribute that lets the
 *              service delete the item eventually
 *   rev        random per write: the compare-and-swap version of the item
 *
 * Why `expiresAt` and not just `ttl`: TTL deletion is a background process; AWS documents that
 * expired items are typically deleted within a few days (two days in the UpdateTimeToLive API
 * reference) and keep showing in reads and writes until then ("Working with expired items",
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ttl-expired-items.html). So
 * every condition below treats `expiresAt <= now` exactly like a missing item, at millisecond
 * precision like Redis' PX.
 *
 * Atomicity: every decision is taken either by one conditional write (PutItem/UpdateItem with a
 * ConditionExpression) or by the item DynamoDB returns when that condition fails
 * (`ReturnValuesOnConditionCheckFailure: ALL_OLD`, PutItem/UpdateItem API reference, API version
 * 2012-08-10: "Use ReturnValuesOnConditionCheckFailure to get the item attributes if the
 * condition fails"; supported by @aws-sdk/client-dynamodb 3.1169.0 and by the DynamoDB Local jar
 * in amplify-dynamodb-simulator 2.9.30 — test/runtime/dynamodb-idempotency-store.test.ts checks
 * it). The common paths are one round trip: first claim, claim of a completed event, complete and
 * release by the live holder, and every answer that writes nothing. A transition the first write
 * cannot express (a takeover needs gen+1 of a generation it has not read) is a second write
 * conditioned on the `rev` just returned, so it applies only to the state it was decided on; if
 * another writer got there first, the new state comes back and the decision is taken again.
 *
 * CLOCK: DynamoDB has no server clock inside expressions, so lease expiry and the dedupe window are
 * judged by the CALLER's clock (`now`, default Date.now), passed into each condition. Writers on
 * different hosts disagree by their clock skew s: a worker whose clock runs s ahead sees another's
 * lease end s early (a takeover s early, exactly as if the lease were s shorter), and an item
 * absent s early (irrelevant against a days-long window). The consumer stops its handler
 * `safetyMarginMs` before the lease end, so as long as s < safetyMarginMs no takeover overlaps a
 * handler that honours its deadline. Hosts kept by NTP / the Amazon Time Sync Service are normally
 * within milliseconds of each other; a host with a broken clock is the risk, and its early
 * takeover is still reported, never silent: the stale holder's `complete` answers
 * `completed-after-takeover` or `completed-by-other` (the fence is the token, not the clock).
 */
import { randomUUID } from "crypto";
import {
  AttributeValue,
  ConditionalCheckFailedException,
  CreateTableCommandInput,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import {
  ClaimResult,
  CompleteResult,
  DEFAULT_DEDUPE_WINDOW_MS,
  IdempotencyStore,
  MAX_TOKEN_LENGTH,
  ReleaseResult,
} from "./idempotency-store";

/**
 * The table the store needs, for the infrastructure code to reuse: a string partition key and a
 * number TTL attribute (epoch seconds, the type DynamoDB TTL requires). No sort key, no index.
 */
export const IDEMPOTENCY_TABLE = {
  partitionKey: "pk",
  partitionKeyType: "S",
  ttlAttribute: "ttl",
} as const;

/** CreateTable input for that table (on-demand capacity), used by tests and tools. */
export function idempotencyTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [{ AttributeName: IDEMPOTENCY_TABLE.partitionKey, AttributeType: IDEMPOTENCY_TABLE.partitionKeyType }],
    KeySchema: [{ AttributeName: IDEMPOTENCY_TABLE.partitionKey, KeyType: "HASH" }],
  };
}

/** The write API the store uses: a DynamoDBClient fits. */
export type DynamoDbSender = Pick<DynamoDBClient, "send">;

export interface DynamoDbIdempotencyStoreOptions {
  /** Table with the layout of `IDEMPOTENCY_TABLE`. */
  tableName: string;
  /** Prepended to the event id in the partition key, so several consumers can share a table. Default "". */
  keyPrefix?: string;
  /** How long a record is kept after its last write; see `RedisIdempotencyStoreOptions`. Default 7 days. */
  dedupeWindowMs?: number;
  /** Lease owner tokens when the caller passes none. Default `crypto.randomUUID`. */
  newToken?: () => string;
  /** The clock that judges leases and the window, epoch ms (see CLOCK above). Default `Date.now`. */
  now?: () => number;
}

// DynamoDB's limit on a partition key value (Service, account, and table quotas: 2048 bytes).
const MAX_KEY_BYTES = 2048;
// A conditional write loses only to another write of the same item; each loss means real progress
// by someone else, so a handful of rounds is plenty and more would hide a bug.
const MAX_ROUNDS = 8;

type Item = Record<string, AttributeValue>;
type Record_ =
  | { state: "absent"; rev?: string }
  | { state: "held"; rev: string; gen: number; leaseUntil: number; holder: string }
  | { state: "free"; rev: string; gen: number; holder: string }
  | { state: "done"; rev: string; holder: string };

/** What a decision wants written: a whole new item (or, for release, the same with state free). */
type NewState = { state: "held"; gen: number; leaseUntil: number } | { state: "free"; gen: number } | { state: "done" };

const N = (n: number): AttributeValue => ({ N: String(n) });
const S = (s: string): AttributeValue => ({ S: s });

function readRecord(op: string, eventId: string, item: Item | undefined, now: number): Record_ {
  if (!item) return { state: "absent" };
  const num = (k: string) => (item[k]?.N !== undefined ? Number(item[k].N) : NaN);
  const str = (k: string) => item[k]?.S;
  const rev = str("rev");
  const expiresAt = num("expiresAt");
  const state = str("state");
  const holder = str("holder");
  if (rev === undefined || !Number.isFinite(expiresAt) || holder === undefined) {
    throw new Error(`${op} of event ${eventId}: unrecognised idempotency item (missing rev, expiresAt or holder)`);
  }
  if (expiresAt <= now) return { state: "absent", rev };
  if (state === "done") return { state, rev, holder };
  const gen = num("gen");
  if (state === "free" && Number.isInteger(gen)) return { state, rev, gen, holder };
  const leaseUntil = num("leaseUntil");
  if (state === "held" && Number.isInteger(gen) && Number.isFinite(leaseUntil)) return { state, rev, gen, leaseUntil, holder };
  throw new Error(`${op} of event ${eventId}: unrecognised idempotency item (state ${String(state)})`);
}

type Decision<R> = { result: R; write?: NewState };

function decideClaim(r: Record_, me: string, now: number, leaseMs: number): Decision<ClaimResult> {
  const claimed = (gen: number): Decision<ClaimResult> => ({
    result: { status: "claimed", token: me, leaseMs, generation: gen },
    write: { state: "held", gen, leaseUntil: now + leaseMs },
  });
  switch (r.state) {
    case "absent":
      return claimed(1);
    case "done":
      return { result: { status: "completed" } };
    case "held":
      if (r.holder === me) return claimed(r.gen);
      if (r.leaseUntil > now) return { result: { status: "in-progress", retryAfterMs: r.leaseUntil - now } };
      return claimed(r.gen + 1);
    case "free":
      return claimed(r.gen + 1);
  }
}

function decideComplete(r: Record_, me: string, now: number): Decision<CompleteResult> {
  const done = (result: CompleteResult): Decision<CompleteResult> => ({ result, write: { state: "done" } });
  switch (r.state) {
    case "absent":
      return done("completed-record-missing");
    case "done":
      return { result: r.holder === me ? "completed" : "completed-by-other" };
    case "held":
      if (r.holder === me) return done(r.leaseUntil > now ? "completed" : "completed-after-lease-expiry");
      if (r.leaseUntil > now) return { result: "claimed-by-other" };
      return done("completed-after-takeover");
    case "free":
      return done(r.holder === me ? "completed-after-lease-expiry" : "completed-after-takeover");
  }
}

function decideRelease(r: Record_, me: string, now: number): Decision<ReleaseResult> {
  switch (r.state) {
    case "absent":
      return { result: "record-missing" };
    case "done":
      return { result: "completed" };
    case "held":
      if (r.holder !== me) return { result: "claimed-by-other" };
      return { result: r.leaseUntil > now ? "released" : "expired", write: { state: "free", gen: r.gen } };
    case "free":
      return { result: r.holder === me ? "released" : "claimed-by-other" };
  }
}

function checkToken(op: string, eventId: string, token: string): void {
  if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
    throw new Error(`${op} of event ${eventId}: token must be a non-empty string of at most ${MAX_TOKEN_LENGTH} characters`);
  }
}

export function createDynamoDbIdempotencyStore(client: DynamoDbSender, options: DynamoDbIdempotencyStoreOptions): IdempotencyStore {
  const tableName = options.tableName;
  if (typeof tableName !== "string" || tableName.length < 3) throw new Error(`tableName must be a DynamoDB table name, got ${JSON.stringify(tableName)}`);
  const prefix = options.keyPrefix ?? "";
  const windowMs = options.dedupeWindowMs ?? DEFAULT_DEDUPE_WINDOW_MS;
  if (!Number.isInteger(windowMs) || windowMs <= 0) throw new Error(`dedupeWindowMs must be a positive integer, got ${windowMs}`);
  const newToken = options.newToken ?? randomUUID;
  const clock = options.now ?? Date.now;
  const PK = IDEMPOTENCY_TABLE.partitionKey;

  const keyOf = (op: string, eventId: string): Item => {
    if (typeof eventId !== "string" || eventId.length === 0) throw new Error(`${op}: eventId must be a non-empty string, got ${JSON.stringify(eventId)}`);
    const key = prefix + eventId;
    if (Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) throw new Error(`${op} of event ${eventId}: key is longer than DynamoDB's ${MAX_KEY_BYTES}-byte partition key limit`);
    return { [PK]: S(key) };
  };

  const itemFor = (key: Item, me: string, now: number, s: NewState): Item => {
    const expiresAt = now + windowMs;
    const item: Item = {
      ...key,
      state: S(s.state),
      holder: S(me),
      expiresAt: N(expiresAt),
      [IDEMPOTENCY_TABLE.ttlAttribute]: N(Math.ceil(expiresAt / 1000)),
      rev: S(randomUUID()),
    };
    if (s.state !== "done") item.gen = N(s.gen);
    if (s.state === "held") item.leaseUntil = N(s.leaseUntil);
    return item;
  };

  /** Runs a conditional write; returns undefined if it applied, or the item that failed the condition. */
  async function conditional(op: string, eventId: string, command: PutItemCommand | UpdateItemCommand): Promise<{ failed: false } | { failed: true; item: Item | undefined }> {
    try {
      // Two calls so each gets its own overload of `send`.
      if (command instanceof PutItemCommand) await client.send(command);
      else await client.send(command);
      return { failed: false };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || (error as { name?: string }).name === "ConditionalCheckFailedException") {
        return { failed: true, item: (error as ConditionalCheckFailedException).Item };
      }
      const e = error as Error;
      throw new Error(`${op} of event ${eventId}: DynamoDB ${e.name ?? "error"}: ${e.message}`, { cause: error });
    }
  }

  /** Compare-and-swap of the whole item against the state the decision was taken on. */
  const casPut = (key: Item, item: Item, seen: Record_) =>
    new PutItemCommand({
      TableName: tableName,
      Item: item,
      ...(seen.rev === undefined
        ? { ConditionExpression: "attribute_not_exists(#pk)", ExpressionAttributeNames: { "#pk": PK } }
        : { ConditionExpression: "#rev = :rev", ExpressionAttributeNames: { "#rev": "rev" }, ExpressionAttributeValues: { ":rev": S(seen.rev) } }),
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    });

  /**
   * The decision loop: `first` is the one-round-trip write for the common case; when its condition
   * fails, decide on the item it returned and CAS the outcome, again until a write applies or the
   * decision needs none.
   */
  async function run<R>(
    op: string,
    eventId: string,
    me: string,
    first: { command: PutItemCommand | UpdateItemCommand; result: R },
    decide: (r: Record_, now: number) => Decision<R>,
    now: number,
  ): Promise<R> {
    const key = keyOf(op, eventId);
    let outcome = await conditional(op, eventId, first.command);
    if (!outcome.failed) return first.result;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const seen = readRecord(op, eventId, outcome.item, now);
      const decision = decide(seen, now);
      if (!decision.write) return decision.result;
      outcome = await conditional(op, eventId, casPut(key, itemFor(key, me, now, decision.write), seen));
      if (!outcome.failed) return decision.result;
    }
    throw new Error(`${op} of event ${eventId}: lost ${MAX_ROUNDS} conditional writes in a row to other writers; giving up`);
  }

  const live = "#exp > :now";

  return {
    async claim(eventId, leaseMs, token = newToken()) {
      if (!Number.isInteger(leaseMs) || leaseMs <= 0) throw new Error(`claim of event ${eventId}: leaseMs must be a positive integer, got ${leaseMs}`);
      if (leaseMs >= windowMs) throw new Error(`claim of event ${eventId}: leaseMs (${leaseMs}) must be shorter than dedupeWindowMs (${windowMs})`);
      checkToken("claim", eventId, token);
      const now = clock();
      const key = keyOf("claim", eventId);
      // Common case: no record (or one past its window, which TTL has not deleted yet).
      const command = new PutItemCommand({
        TableName: tableName,
        Item: itemFor(key, token, now, { state: "held", gen: 1, leaseUntil: now + leaseMs }),
        ConditionExpression: "attribute_not_exists(#pk) OR #exp <= :now",
        ExpressionAttributeNames: { "#pk": PK, "#exp": "expiresAt" },
        ExpressionAttributeValues: { ":now": N(now) },
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      });
      const first = { command, result: { status: "claimed", token, leaseMs, generation: 1 } as ClaimResult };
      const result = await run("claim", eventId, token, first, (r, t) => decideClaim(r, token, t, leaseMs), now);
      return result.status === "in-progress" ? { status: "in-progress", retryAfterMs: Math.max(0, result.retryAfterMs) } : result;
    },

    async complete(eventId, token) {
      checkToken("complete", eventId, token);
      const now = clock();
      const key = keyOf("complete", eventId);
      // Common case: we hold a live lease.
      const command = new PutItemCommand({
        TableName: tableName,
        Item: itemFor(key, token, now, { state: "done" }),
        ConditionExpression: `${live} AND #state = :held AND #holder = :me AND #lease > :now`,
        ExpressionAttributeNames: { "#exp": "expiresAt", "#state": "state", "#holder": "holder", "#lease": "leaseUntil" },
        ExpressionAttributeValues: { ":now": N(now), ":held": S("held"), ":me": S(token) },
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      });
      return run<CompleteResult>("complete", eventId, token, { command, result: "completed" }, (r, t) => decideComplete(r, token, t), now);
    },

    async release(eventId, token) {
      checkToken("release", eventId, token);
      const now = clock();
      const key = keyOf("release", eventId);
      const expiresAt = now + windowMs;
      // Common case: we hold a live lease; the generation stays, so an update rather than a put.
      const command = new UpdateItemCommand({
        TableName: tableName,
        Key: key,
        UpdateExpression: "SET #state = :free, #exp = :newExp, #ttl = :ttl, #rev = :rev REMOVE #lease",
        ConditionExpression: `${live} AND #state = :held AND #holder = :me AND #lease > :now`,
        ExpressionAttributeNames: { "#exp": "expiresAt", "#state": "state", "#holder": "holder", "#lease": "leaseUntil", "#ttl": IDEMPOTENCY_TABLE.ttlAttribute, "#rev": "rev" },
        ExpressionAttributeValues: {
          ":now": N(now),
          ":held": S("held"),
          ":free": S("free"),
          ":me": S(token),
          ":newExp": N(expiresAt),
          ":ttl": N(Math.ceil(expiresAt / 1000)),
          ":rev": S(randomUUID()),
        },
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      });
      return run<ReleaseResult>("release", eventId, token, { command, result: "released" }, (r, t) => decideRelease(r, token, t), now);
    },
  };
}
