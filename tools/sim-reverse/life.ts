/**
 * A process that can die. Everything a relay or a Lambda invocation sends to the outside world goes
 * through its `gate`; after `kill()` nothing new is sent and no answer comes back (calls hang
 * forever, as they would for a dead process), so the code under test cannot tidy up after a crash
 * (no release, no ROLLBACK it could observe, no settle).
 *
 * A Lambda invocation also dies at its deadline (the function timeout), measured on the clock at
 * each call rather than by a timer: on a loaded machine a timer fires late, and an invocation that
 * kept writing past its timeout would be a host the real Lambda never is.
 */
export const DEAD = Symbol("dead");

export class Life {
  private wasKilled = false;
  private onDeath!: (v: typeof DEAD) => void;
  /** Resolves with DEAD when the process is killed. */
  readonly dead: Promise<typeof DEAD> = new Promise((resolve) => (this.onDeath = resolve));

  /** `deadlineAt`: epoch ms after which the process counts as dead (none for a relay). */
  constructor(private readonly deadlineAt = Infinity) {}

  get killed(): boolean {
    if (!this.wasKilled && Date.now() >= this.deadlineAt) this.kill();
    return this.wasKilled;
  }

  kill(): void {
    if (this.wasKilled) return;
    this.wasKilled = true;
    this.onDeath(DEAD);
  }

  gate<T>(call: () => Promise<T>): Promise<T> {
    if (this.killed) return new Promise<T>(() => undefined);
    return call().then(
      (value) => (this.killed ? new Promise<T>(() => undefined) : value),
      (error: unknown) => (this.killed ? new Promise<T>(() => undefined) : Promise.reject(error)),
    );
  }
}
