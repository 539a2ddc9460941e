/**
 * BASELINE ONLY: the source design's consumer, kept to measure against (tools/bench-consumer.ts)
 * and to prove its flaw in a regression test. Do not deploy it.
 *
 * It runs `SET key 1 NX EX ttl` before the handler and keeps the key when the handler fails. The
 * redelivery of a failed message then finds the key, is taken for a duplicate and acknowledged:
 * the event is lost. runtime/consumer.ts replaces it.
 */
import type Redis from "ioredis";
import { parseDelivery, ValidationOptions } from "./event";
import { BusinessHandler, ConsumerMessage, Settlement } from "./consumer";

export type NaiveOutcome =
  | { kind: "processed"; eventId: string }
  | { kind: "duplicate"; eventId: string }
  | { kind: "handler-failed"; eventId: string; error: unknown }
  | { kind: "store-unavailable"; eventId: string; error: unknown }
  | { kind: "poison"; reason: string };

export interface NaiveSetNxConsumerOptions {
  redis: Redis;
  handler: BusinessHandler;
  keyPrefix?: string;
  ttlSeconds?: number;
  validation?: ValidationOptions;
}

export function createNaiveSetNxConsumer(options: NaiveSetNxConsumerOptions) {
  const prefix = options.keyPrefix ?? "naive:idem:";
  const ttlSeconds = options.ttlSeconds ?? 7 * 24 * 3600;
  return {
    async handle(message: ConsumerMessage, settle: Settlement): Promise<NaiveOutcome> {
      const parsed = parseDelivery(message.body, options.validation);
      if (!parsed.ok) {
        await settle.deadLetter(parsed.error.fault, parsed.error.message);
        return { kind: "poison", reason: parsed.error.fault };
      }
      const event = parsed.value.event;
      const eventId = event.metadata.event_id;
      let first: string | null;
      try {
        first = await options.redis.set(prefix + eventId, "1", "EX", ttlSeconds, "NX");
      } catch (error) {
        await settle.abandon();
        return { kind: "store-unavailable", eventId, error };
      }
      if (first === null) {
        await settle.complete();
        return { kind: "duplicate", eventId };
      }
      try {
        await options.handler(event, { signal: new AbortController().signal, deadline: new Date(8.64e15), eventId });
      } catch (error) {
        // The flaw: the key stays, so the redelivery is acknowledged as a duplicate.
        await settle.abandon();
        return { kind: "handler-failed", eventId, error };
      }
      await settle.complete();
      return { kind: "processed", eventId };
    },
  };
}
