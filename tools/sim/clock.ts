/**
 * The simulated clock: real time that jumps forward whenever the whole pipeline is idle.
 *
 * While any real work is in flight (a DynamoDB call, a relay invocation, a Redis command), simulated
 * time runs at exactly the speed of real time. When nothing real is in flight and every part of
 * the pipeline waits for a simulated timer (an EventBridge retry in 5 minutes, the stream poller's
 * next poll, a lock that expires, a handler's latency, a replay days later), the clock jumps to the
 * earliest timer. That is how a 24-hour retry horizon or a 90-day dedupe window runs in seconds.
 *
 * Redis is real and counts real time: a jump hook (`onJump`, redis-time.ts) ages the idempotency
 * Redis's keys by the jump before any timer of the new instant fires, so its leases and dedupe
 * window see the same time pass as everything else (one clock).
 *
 * Every real asynchronous operation must be wrapped in `busy()`, otherwise the clock could jump
 * while it runs.
 */
export interface Clock {
  /** Simulated epoch milliseconds. */
  now(): number;
  /** Resolves when simulated time reaches now() + ms. */
  sleep(ms: number): Promise<void>;
}

interface Timer {
  at: number;
  seq: number;
  fire: () => void;
}

export class SimClock implements Clock {
  private readonly realOrigin = Date.now();
  private warpMs = 0;
  private inFlight = 0;
  private seq = 0;
  private timers: Timer[] = [];
  private running = false;
  private pending: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private pendingKind: "timeout" | "immediate" | undefined;
  private jumpHook: ((ms: number) => Promise<void>) | undefined;
  private hookError: unknown;
  /** Total simulated milliseconds skipped by jumps. */
  get skippedMs(): number {
    return this.warpMs;
  }

  constructor(readonly originMs: number = Date.now()) {}

  now(): number {
    return this.originMs + (Date.now() - this.realOrigin) + this.warpMs;
  }

  /** Simulated milliseconds since the clock was created. */
  elapsed(): number {
    return this.now() - this.originMs;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = { at: this.now() + Math.max(0, ms), seq: this.seq++, fire: resolve };
      // Binary insertion: ordered by time, then by creation (a stable order for equal times).
      let lo = 0;
      let hi = this.timers.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.timers[mid].at <= timer.at) lo = mid + 1;
        else hi = mid;
      }
      this.timers.splice(lo, 0, timer);
      this.schedule();
    });
  }

  /** Marks real work in flight: no jump happens until it settles. */
  async busy<T>(work: Promise<T> | (() => Promise<T>)): Promise<T> {
    this.inFlight++;
    try {
      return await (typeof work === "function" ? work() : work);
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }

  /**
   * Runs `hook(ms)` at every jump, before the jump takes effect and any timer fires: what must
   * follow the simulated clock (the idempotency Redis) is moved forward by the same ms.
   */
  onJump(hook: (ms: number) => Promise<void>): void {
    this.jumpHook = hook;
  }

  /** The first error a jump hook threw (the clock stops jumping through it; the run must fail). */
  get error(): unknown {
    return this.hookError;
  }

  start(): void {
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    this.clearPending();
  }

  private clearPending(): void {
    if (this.pending === undefined) return;
    if (this.pendingKind === "immediate") clearImmediate(this.pending as NodeJS.Immediate);
    else clearTimeout(this.pending as NodeJS.Timeout);
    this.pending = undefined;
    this.pendingKind = undefined;
  }

  private schedule(): void {
    if (!this.running || this.timers.length === 0) return;
    if (this.inFlight === 0) {
      // Idle: pump on the next turn of the event loop (after every pending continuation ran).
      if (this.pendingKind === "immediate") return;
      this.clearPending();
      this.pendingKind = "immediate";
      this.pending = setImmediate(() => this.pump());
    } else {
      if (this.pending !== undefined) return;
      const wait = Math.max(0, Math.min(20, this.timers[0].at - this.now()));
      this.pendingKind = "timeout";
      this.pending = setTimeout(() => this.pump(), wait);
    }
  }

  private pump(): void {
    this.pending = undefined;
    this.pendingKind = undefined;
    if (!this.running || this.hookError !== undefined) return;
    const now = this.now();
    if (this.inFlight === 0 && this.timers.length > 0 && this.timers[0].at > now) {
      const ms = Math.ceil(this.timers[0].at - now);
      const hook = this.jumpHook;
      if (hook) {
        // What follows the clock (Redis) catches up before any timer of the new instant fires; the
        // hook counts as work in flight, so no second jump starts meanwhile.
        this.inFlight++;
        void hook(ms)
          .then(
            () => (this.warpMs += ms),
            (error: unknown) => (this.hookError ??= error),
          )
          .finally(() => {
            this.inFlight--;
            this.fireDue();
            this.schedule();
          });
        return;
      }
      this.warpMs += ms;
    }
    this.fireDue();
    this.schedule();
  }

  private fireDue(): void {
    const now = this.now();
    let due = 0;
    while (due < this.timers.length && this.timers[due].at <= now) due++;
    for (const timer of this.timers.splice(0, due)) timer.fire();
  }
}
