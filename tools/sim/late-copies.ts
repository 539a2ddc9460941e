/**
 * Late copies: an event the relay published comes back days later, re-published to the bus as a
 * redrive (`npm run redrive`) or an operator's re-send does (PutEvents of the same entry). Half of
 * them land inside the stack's dedupe window, where the consumer must absorb them (its completed
 * record is still there), half beyond it, where the system promises nothing and the event is
 * processed as new (the oracle excuses that repeat only when the measured gap since the completion
 * exceeds the window). This is what makes the dedupe window a tested property: a store that keeps
 * completed records shorter than the window lets an inside-window copy reach the effect again.
 */
import { PutEventsCommand, PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import type { Clock } from "./clock";
import type { EventBridgeModel } from "./eventbridge-model";
import { draw } from "./random";

const DAY_MS = 86_400_000;

export class LateCopies {
  private readonly seen = new Set<string>();
  private scheduled = 0;
  insideWindow = 0;
  beyondWindow = 0;
  refused = 0;

  constructor(
    private readonly o: {
      clock: Clock;
      seed: number;
      /** Share of published events that come back late. */
      rate: number;
      dedupeWindowMs: number;
      bus: EventBridgeModel;
      keyOf: (id: string) => string;
    },
  ) {}

  /** Copies scheduled and not yet re-published: the run is not over while any is pending. */
  get pending(): number {
    return this.scheduled;
  }

  /** Sees an entry the relay sent; the first time for an event, maybe schedules its late copy. */
  observe(entry: PutEventsRequestEntry): void {
    const id = eventIdOf(entry.Detail);
    if (id === undefined || this.seen.has(id)) return;
    this.seen.add(id);
    const { clock, seed, rate, dedupeWindowMs, keyOf } = this.o;
    const key = keyOf(id);
    if (draw(seed, `late-copy:${key}`) >= rate) return;
    const inside = draw(seed, `late-copy-inside:${key}`) < 0.5;
    const r = draw(seed, `late-copy-delay:${key}`);
    // Inside: between a day and a day before the window ends; beyond: an hour to two days after it.
    const delay = inside ? DAY_MS + r * Math.max(0, dedupeWindowMs - 2 * DAY_MS) : dedupeWindowMs + 3_600_000 + r * 2 * DAY_MS;
    if (inside) this.insideWindow++;
    else this.beyondWindow++;
    this.scheduled++;
    void clock
      .sleep(Math.round(delay))
      .then(() => this.o.bus.putEvents(new PutEventsCommand({ Entries: [entry] })))
      .then(
        (out) => (this.refused += out.FailedEntryCount ?? 0),
        () => this.refused++,
      )
      .finally(() => this.scheduled--);
  }
}

function eventIdOf(detail: string | undefined): string | undefined {
  try {
    return (JSON.parse(detail ?? "") as { metadata?: { event_id?: string } }).metadata?.event_id;
  } catch {
    return undefined;
  }
}
