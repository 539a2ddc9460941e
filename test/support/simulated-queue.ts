/**
 * Service Bus peek-lock semantics, simulated for the fault runs: a delivery locks a message for
 * `lockMs`; complete removes it; abandon makes it available again at once; a lock that runs out
 * makes it available again; settling after the lock ran out fails (MessageLockLost); past
 * `maxDeliveryCount` deliveries the message is dead-lettered. It stands in for the queue only:
 * Redis is real.
 */
export interface SimMessage {
  index: number;
  eventId: string;
  body: string;
  deliveryCount: number;
  state: "ready" | "locked" | "completed" | "dead";
  deadLetterReason?: string;
  lockedUntil: number;
  generation: number;
}

export interface Delivery {
  message: SimMessage;
  generation: number;
  lockedUntil: Date;
}

export class SimulatedQueue {
  readonly messages: SimMessage[];

  constructor(
    bodies: { eventId: string; body: string }[],
    private readonly lockMs: number,
    private readonly maxDeliveryCount: number,
  ) {
    this.messages = bodies.map((b, index) => ({ index, ...b, deliveryCount: 0, state: "ready", lockedUntil: 0, generation: 0 }));
  }

  get settledAll(): boolean {
    return this.messages.every((m) => m.state === "completed" || m.state === "dead");
  }

  receive(now = Date.now()): Delivery | undefined {
    for (const m of this.messages) {
      const available = m.state === "ready" || (m.state === "locked" && m.lockedUntil <= now);
      if (!available) continue;
      m.deliveryCount++;
      if (m.deliveryCount > this.maxDeliveryCount) {
        m.state = "dead";
        m.deadLetterReason = "MaxDeliveryCountExceeded";
        continue;
      }
      m.state = "locked";
      m.lockedUntil = now + this.lockMs;
      m.generation++;
      return { message: m, generation: m.generation, lockedUntil: new Date(m.lockedUntil) };
    }
    return undefined;
  }

  private holdsLock(d: Delivery): void {
    const m = d.message;
    if (m.state !== "locked" || m.generation !== d.generation || Date.now() > m.lockedUntil) {
      throw new Error(`MessageLockLost: message ${m.index} delivery ${d.generation}`);
    }
  }

  complete(d: Delivery): void {
    this.holdsLock(d);
    d.message.state = "completed";
  }

  abandon(d: Delivery): void {
    this.holdsLock(d);
    d.message.state = "ready";
  }

  deadLetter(d: Delivery, reason: string): void {
    this.holdsLock(d);
    d.message.state = "dead";
    d.message.deadLetterReason = reason;
  }
}
