/**
 * The consumer inside Azure Functions (Node.js v4 programming model), with explicit settlement.
 *
 * The Service Bus trigger runs with SDK-type bindings (`sdkBinding: true`, `autoCompleteMessages:
 * false`): each invocation receives the received message(s) and the host's message actions
 * (complete / abandon / deadletter with reason and description). That is what lets a poison
 * message go to the dead-letter queue on its first delivery with a reason that names the fault,
 * instead of being retried until MaxDeliveryCountExceeded. The actions come from
 * `@azure/functions-extensions-servicebus`; this module only needs their shape.
 *
 * Fallback settlement mode (`MESH_SETTLEMENT_MODE=throw`): the actions above exist only with the
 * preview package `@azure/functions-extensions-servicebus`. Without it the trigger runs with plain
 * bindings and `autoCompleteMessages: true`: the host completes a message when the function
 * returns and abandons it when the function throws. `createThrowModeTriggerHandler` maps the
 * consumer's decisions onto that: complete → return; abandon or dead-letter → throw. A poison
 * message therefore cannot be dead-lettered on its first delivery with our reason; it is abandoned
 * until Service Bus dead-letters it with `MaxDeliveryCountExceeded` after the queue's
 * maxDeliveryCount deliveries (docs/azure-observability-and-sizing.md has the trade-off).
 *
 * Configuration comes from app settings (environment), never from code: see
 * `readConsumerSettings`. Redis is reached over TLS with an Entra ID token of the app's managed
 * identity (`MESH_REDIS_AUTH=entra`); `none` exists for local runs against a private redis-server.
 */
import type { ConsumerMessage, Consumer, Settlement, ConsumerOutcome } from "./consumer";

export type SettlementMode = "sdk" | "throw";

/** The message actions the Functions host passes with SDK-type Service Bus bindings. */
export interface ServiceBusMessageActionsLike<M> {
  complete(message: M): Promise<void>;
  abandon(message: M, propertiesToModify?: Uint8Array): Promise<void>;
  deadletter(message: M, propertiesToModify?: Uint8Array, reason?: string, description?: string): Promise<void>;
}

/** What the trigger hands the handler with `sdkBinding: true`. */
export interface ServiceBusMessageContextLike<M> {
  messages: M | M[];
  actions: ServiceBusMessageActionsLike<M>;
}

/** The fields of a received message the consumer reads (`ServiceBusReceivedMessage` has them). */
export interface ReceivedMessageLike {
  body: unknown;
  messageId?: string | number | Buffer;
  deliveryCount?: number;
  lockedUntilUtc?: Date;
}

export function settlementFromActions<M>(actions: ServiceBusMessageActionsLike<M>, message: M): Settlement {
  return {
    complete: () => actions.complete(message),
    abandon: () => actions.abandon(message),
    deadLetter: (reason, description) => actions.deadletter(message, undefined, reason, description),
  };
}

/**
 * The trigger handler: every message of the invocation goes through the consumer and is settled by
 * it. Messages are processed one after another; the host's `maxConcurrentCalls` gives parallelism.
 */
export function createServiceBusTriggerHandler<M extends ReceivedMessageLike>(consumer: Consumer) {
  return async (context: ServiceBusMessageContextLike<M>): Promise<ConsumerOutcome[]> => {
    const messages = Array.isArray(context.messages) ? context.messages : [context.messages];
    const outcomes: ConsumerOutcome[] = [];
    for (const message of messages) {
      const input: ConsumerMessage = {
        body: message.body,
        messageId: message.messageId,
        deliveryCount: message.deliveryCount,
        lockedUntilUtc: message.lockedUntilUtc,
      };
      outcomes.push(await consumer.handle(input, settlementFromActions(context.actions, message)));
    }
    return outcomes;
  };
}

/** What the handler gets without SDK bindings: the body and `context.triggerMetadata`. */
export interface ThrowModeInvocation {
  settlementMode: "throw";
  /** The message body as the host delivers it (parsed JSON, text or bytes). */
  body: unknown;
  /** The host's trigger metadata (`messageId`, `deliveryCount`, `lockedUntilUtc`, ...). */
  triggerMetadata?: Record<string, unknown>;
}

/** One invocation in either settlement mode. */
export type TriggerInput<M> = ServiceBusMessageContextLike<M> | ThrowModeInvocation;

export function isThrowModeInvocation<M>(input: TriggerInput<M>): input is ThrowModeInvocation {
  return (input as ThrowModeInvocation).settlementMode === "throw";
}

/**
 * Thrown in settlement mode `throw` so that the host abandons the message: the consumer decided to
 * give it back (or, for poison, to dead-letter it, which only repeated deliveries can reach now).
 */
export class AbandonByThrow extends Error {
  constructor(
    public readonly outcome: ConsumerOutcome,
    public readonly requested: "abandon" | "deadLetter",
  ) {
    const ids = `event ${outcome.eventId ?? "?"} (message ${outcome.messageId ?? "?"})`;
    const message =
      requested === "deadLetter"
        ? `${ids} is unusable (${outcome.kind === "poison" ? outcome.reason : outcome.kind}); settlement mode "throw" cannot dead-letter it, ` +
          "so it is abandoned and Service Bus dead-letters it after the queue's maxDeliveryCount deliveries (reason MaxDeliveryCountExceeded)"
        : `${ids}: ${outcome.kind}; abandoned (thrown so the host does not complete it), it will be delivered again`;
    super(message);
    // Set again: the closure serializer turns `super(…)` into `Error.call(this, …)` (see event.ts).
    this.message = message;
    this.name = "AbandonByThrow";
  }
}

function toDate(value: unknown): Date | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value;
  if (typeof value === "string" || typeof value === "number") {
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? undefined : date;
  }
  return undefined;
}

/** The consumer's view of a message delivered without SDK bindings. */
export function messageFromTriggerMetadata(invocation: ThrowModeInvocation): ConsumerMessage {
  const metadata = invocation.triggerMetadata ?? {};
  const messageId = metadata.messageId;
  const deliveryCount = Number(metadata.deliveryCount);
  return {
    body: invocation.body,
    messageId: typeof messageId === "string" || typeof messageId === "number" ? messageId : undefined,
    deliveryCount: Number.isInteger(deliveryCount) && deliveryCount > 0 ? deliveryCount : undefined,
    lockedUntilUtc: toDate(metadata.lockedUntilUtc),
  };
}

/**
 * Settlement mode `throw`: the consumer handles the message, and its decision becomes the
 * function's result. Complete → return (the host completes); abandon or dead-letter → throw
 * `AbandonByThrow` (the host abandons). The consumer's own checks (claim, lease, fence) run as in
 * mode `sdk`, so exactly-once effects do not depend on the mode; only poison handling does.
 */
export function createThrowModeTriggerHandler(consumer: Consumer) {
  return async (invocation: ThrowModeInvocation): Promise<ConsumerOutcome> => {
    const requested: Array<"complete" | "abandon" | "deadLetter"> = [];
    const settlement: Settlement = {
      complete: async () => void requested.push("complete"),
      abandon: async () => void requested.push("abandon"),
      deadLetter: async () => void requested.push("deadLetter"),
    };
    const outcome = await consumer.handle(messageFromTriggerMetadata(invocation), settlement);
    // Anything but a plain completion gives the message back: a missing decision must not let the
    // host complete a message whose effect may not have been recorded.
    if (requested.length === 1 && requested[0] === "complete") return outcome;
    throw new AbandonByThrow(outcome, requested.includes("deadLetter") ? "deadLetter" : "abandon");
  };
}

/**
 * The handler for either mode, chosen per invocation by its shape: the entry file passes the SDK
 * context in mode `sdk` and a `ThrowModeInvocation` in mode `throw`.
 */
export function createTriggerHandler<M extends ReceivedMessageLike>(consumer: Consumer) {
  const sdk = createServiceBusTriggerHandler<M>(consumer);
  const thrown = createThrowModeTriggerHandler(consumer);
  return async (input: TriggerInput<M>): Promise<ConsumerOutcome[]> => (isThrowModeInvocation(input) ? [await thrown(input)] : sdk(input));
}

/**
 * Gives every message of an invocation back without running the consumer (it could not start):
 * abandons them in mode `sdk`, throws in mode `throw` so the host abandons.
 */
export async function giveBackAll<M>(input: TriggerInput<M>, why: string): Promise<void> {
  if (isThrowModeInvocation(input)) throw new Error(`consumer unavailable (${why}); message abandoned for a later delivery`);
  const messages = Array.isArray(input.messages) ? input.messages : [input.messages];
  await Promise.allSettled(messages.map((m) => input.actions.abandon(m)));
}

export type RedisAuth = "entra" | "none";

export interface ConsumerSettings {
  /** The queue's lock duration in ms (the consumer's lease never exceeds it). */
  messageLockMs: number;
  redis: {
    host: string;
    port: number;
    tls: boolean;
    auth: RedisAuth;
    /** For `entra`: the object (principal) id of the identity, which Redis uses as the user name. */
    username?: string;
    /** For `entra`: client id of the user-assigned managed identity that requests the token. */
    clientId?: string;
  };
  /** Key prefix of idempotency records. */
  keyPrefix?: string;
  /** How long completed records are kept, ms. */
  dedupeWindowMs?: number;
  /** `sdk` (default): explicit settlement; `throw`: fallback without the preview settlement package. */
  settlementMode: SettlementMode;
}

/** App settings the consumer reads; each error names the setting. */
export const CONSUMER_SETTING_NAMES = {
  lockMs: "MESH_MESSAGE_LOCK_MS",
  redisHost: "MESH_REDIS_HOST",
  redisPort: "MESH_REDIS_PORT",
  redisTls: "MESH_REDIS_TLS",
  redisAuth: "MESH_REDIS_AUTH",
  redisUsername: "MESH_REDIS_USERNAME",
  clientId: "AZURE_CLIENT_ID",
  keyPrefix: "MESH_IDEMPOTENCY_KEY_PREFIX",
  dedupeWindowMs: "MESH_DEDUPE_WINDOW_MS",
  settlementMode: "MESH_SETTLEMENT_MODE",
} as const;

/** Reads and checks the consumer's app settings; throws one error listing every bad setting. */
export function readConsumerSettings(env: Record<string, string | undefined>): ConsumerSettings {
  const n = CONSUMER_SETTING_NAMES;
  const problems: string[] = [];
  const positiveInt = (name: string, optional = false): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === "") {
      if (!optional) problems.push(`${name} is not set`);
      return undefined;
    }
    const value = Number(raw);
    if (!Number.isInteger(value) || value <= 0) problems.push(`${name}=${JSON.stringify(raw)} is not a positive integer`);
    return value;
  };
  const lockMs = positiveInt(n.lockMs);
  const host = env[n.redisHost];
  if (!host) problems.push(`${n.redisHost} is not set`);
  const port = positiveInt(n.redisPort);
  const tlsRaw = env[n.redisTls] ?? "true";
  if (tlsRaw !== "true" && tlsRaw !== "false") problems.push(`${n.redisTls}=${JSON.stringify(tlsRaw)} must be true or false`);
  const auth = (env[n.redisAuth] ?? "entra") as RedisAuth;
  if (auth !== "entra" && auth !== "none") problems.push(`${n.redisAuth}=${JSON.stringify(auth)} must be entra or none`);
  const username = env[n.redisUsername];
  const clientId = env[n.clientId];
  if (auth === "entra") {
    if (!username) problems.push(`${n.redisUsername} is not set (the managed identity's object id; required with ${n.redisAuth}=entra)`);
    if (!clientId) problems.push(`${n.clientId} is not set (the managed identity's client id; required with ${n.redisAuth}=entra)`);
    if (tlsRaw !== "true") problems.push(`${n.redisTls} must be true with ${n.redisAuth}=entra: a token must never cross the network in clear text`);
  }
  const dedupeWindowMs = positiveInt(n.dedupeWindowMs, true);
  const settlementMode = (env[n.settlementMode] || "sdk") as SettlementMode;
  if (settlementMode !== "sdk" && settlementMode !== "throw") problems.push(`${n.settlementMode}=${JSON.stringify(settlementMode)} must be sdk or throw`);
  if (problems.length > 0) {
    throw new Error(`consumer settings are invalid; the message stays on the queue until they are fixed:\n  - ${problems.join("\n  - ")}`);
  }
  return {
    messageLockMs: lockMs!,
    redis: { host: host!, port: port!, tls: tlsRaw === "true", auth, username, clientId },
    keyPrefix: env[n.keyPrefix] || undefined,
    dedupeWindowMs,
    settlementMode,
  };
}

/** Entra ID scope of Azure Managed Redis / Azure Cache for Redis data access. */
export const REDIS_TOKEN_SCOPE = "https://redis.azure.com/.default";

/** An access token and when it stops working (ms since epoch). */
export interface AccessTokenLike {
  token: string;
  expiresOnTimestamp: number;
}

/** Minimal client surface for re-authentication. */
export interface ReauthenticatingClient {
  options: { password?: string };
  call(command: string, ...args: string[]): Promise<unknown>;
}

/**
 * Keeps a Redis connection authenticated with short-lived Entra ID tokens: re-AUTHs on the live
 * connection before the token expires and updates the password used by reconnects. Returns a stop
 * function. A failed refresh is retried; while the old token is still valid nothing is lost, and
 * once it expires the consumer sees Redis errors and leaves messages on the queue.
 */
export function keepTokenFresh(
  client: ReauthenticatingClient,
  username: string,
  getToken: () => Promise<AccessTokenLike>,
  onError: (error: unknown) => void,
  options: { firstExpiresOnTimestamp?: number; refreshBeforeMs?: number; retryMs?: number; now?: () => number } = {},
): () => void {
  const refreshBefore = options.refreshBeforeMs ?? 5 * 60_000;
  const retryMs = options.retryMs ?? 30_000;
  const now = options.now ?? Date.now;
  // One object holds the timer state and the two steps, so the function packages cleanly as a
  // Pulumi closure (its serializer mishandles inner functions that refer to each other).
  const state = {
    timer: undefined as NodeJS.Timeout | undefined,
    stopped: false,
    schedule(ms: number): void {
      if (state.stopped) return;
      state.timer = setTimeout(() => void state.refresh(), Math.max(1_000, ms));
      state.timer.unref?.();
    },
    async refresh(): Promise<void> {
      try {
        const token = await getToken();
        client.options.password = token.token;
        await client.call("AUTH", username, token.token);
        state.schedule(token.expiresOnTimestamp - now() - refreshBefore);
      } catch (error) {
        onError(error);
        state.schedule(retryMs);
      }
    },
  };
  state.schedule(options.firstExpiresOnTimestamp !== undefined ? options.firstExpiresOnTimestamp - now() - refreshBefore : retryMs);
  return () => {
    state.stopped = true;
    if (state.timer) clearTimeout(state.timer);
  };
}
