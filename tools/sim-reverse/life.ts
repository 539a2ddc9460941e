/**
 * A process that can die. Everything a relay or a Lambda invocation sends to the outside world goes
 * through its `gate`; after `kill()` nothing new is sent and no answer comes back (calls hang
 * forever, as they would for a dead process), so the code under test cannot tidy up after a crash
 * (no release, no ROLLBACK it could observe, no settle).
 */
export const DEAD = Symbol("dead");

export class Life {
  killed = false;
  private onDeath!: (v: typeof DEAD) => void;
  /** Resolves with DEAD when the process is killed. */
  readonly dead: Promise<typeof DEAD> = new Promise((resolve) => (this.onDeath = resolve));

  kill(): void {
    if (this.killed) return;
    this.killed = true;
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
