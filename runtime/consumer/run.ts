import type { DomainEvent, EventBridgeEnvelope } from "../event";
import type { IdempotencyStore } from "../idempotency-store";
import { describeError, Logger } from "../logger";
import type { BusinessHandler, ConsumerOutcome, HandlerContext } from "../consumer";
import type { Claimed } from "./claim";

export class HandlerDeadlineExceeded extends Error {
  override readonly name = "HandlerDeadlineExceeded";
  constructor(eventId: string, deadline: Date) {
    const message = `handler for event ${eventId} passed its deadline ${deadline.toISOString()} (lease about to expire)`;
    super(message);
    // Set again: Pulumi's closure serializer turns `super(…)` into `Error.call(this, …)` (see event.ts).
    this.message = message;
  }
}

export interface RunInput {
  event: DomainEvent;
  envelope?: EventBridgeEnvelope;
  eventId: string;
  messageId?: string;
  deliveryCount?: number;
  claimed: Claimed;
  marginMs: number;
}

export interface RunDeps {
  handler: BusinessHandler;
  store: IdempotencyStore;
  log: Logger;
  now: () => number;
}

/**
 * The handler's context. Its deadline is `marginMs` before the lease ends. The AbortSignal is built
 * on first access: creating one costs more than a Redis round trip's client-side work, and many
 * handlers never look at it. `dispose` clears its timer.
 */
export function handlerContext(input: RunInput, now: () => number): { context: HandlerContext; dispose: () => void } {
  const { eventId, claimed } = input;
  const deadline = new Date(claimed.leaseEnd - input.marginMs);
  let controller: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  const context: HandlerContext = {
    get signal() {
      if (!controller) {
        const created = new AbortController();
        controller = created;
        const abort = () => created.abort(new HandlerDeadlineExceeded(eventId, deadline));
        const remaining = deadline.getTime() - now();
        if (remaining <= 0) abort();
        else timer = setTimeout(abort, remaining);
      }
      return controller.signal;
    },
    deadline,
    eventId,
    messageId: input.messageId,
    deliveryCount: input.deliveryCount,
    envelope: input.envelope,
    generation: claimed.generation,
  };
  return { context, dispose: () => timer && clearTimeout(timer) };
}

/**
 * Stage 3, run. Rule: a handler that throws has made no effect (its contract); its lease is released
 * so the next delivery runs it at once, and the message is abandoned, never acknowledged.
 */
export async function runStage(deps: RunDeps, input: RunInput): Promise<{ ok: true } | { ok: false; outcome: ConsumerOutcome }> {
  const { context, dispose } = handlerContext(input, deps.now);
  const base = { eventId: input.eventId, messageId: input.messageId };
  try {
    await deps.handler(input.event, context);
    return { ok: true };
  } catch (error) {
    let released: string;
    try {
      released = await deps.store.release(input.eventId, input.claimed.token);
    } catch (releaseError) {
      released = "failed";
      deps.log.warn("Could not release the lease after a handler failure; it will expire on its own", { ...base, error: describeError(releaseError) });
    }
    deps.log.error("Handler failed; lease released, message abandoned for redelivery", {
      ...base,
      deliveryCount: input.deliveryCount,
      released,
      error: describeError(error),
    });
    return { ok: false, outcome: { kind: "handler-failed", error, released, ...base, settled: "abandon" } };
  } finally {
    dispose();
  }
}
