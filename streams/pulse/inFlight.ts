/** Messages taken and not yet settled, jobs or not (held --no-send messages are settled). */
export class InFlight {
  private count = 0;
  private waiting: (() => void)[] = [];

  get size(): number {
    return this.count;
  }

  enter(): void {
    this.count += 1;
  }

  /**
   * One is settled: `announce` runs first, then, if none is left, whoever waits in `idle()`.
   * Answers whether none is left.
   */
  leave(announce: () => void): boolean {
    this.count -= 1;
    announce();
    if (this.count !== 0) return false;
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
    return true;
  }

  /** Resolves once none is in flight. */
  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}

/**
 * The source's idle time for the worker's --timeout, counted only while consuming: the time
 * paused for an outage (an upstream or the store down) is not idle time, since no message
 * could arrive then. It reports the last delivery moved later by the time paused since, so
 * that `now - lastDeliveryAt` stands still during a pause and goes on after it.
 */
export class IdleClock {
  /** The last delivery the paused time is counted from. */
  private from: number;
  /** Time paused since `from`, not counting a pause going on. */
  private pausedMs = 0;
  /** When the pause going on began; undefined while consuming. */
  private pausedSince: number | undefined;

  constructor(
    private readonly lastDelivery: () => number,
    private readonly now: () => number = Date.now,
  ) {
    this.from = lastDelivery();
  }

  /** Consuming stopped for an outage. */
  pause(): void {
    this.sync();
    this.pausedSince ??= this.now();
  }

  /** Consuming again. */
  resume(): void {
    const last = this.sync();
    if (this.pausedSince === undefined) return;
    this.pausedMs += this.now() - Math.max(this.pausedSince, last);
    this.pausedSince = undefined;
  }

  /** The last delivery, moved later by the time paused since then. */
  get lastDeliveryAt(): number {
    const last = this.sync();
    const now = this.now();
    const pausing = this.pausedSince === undefined ? 0 : now - Math.max(this.pausedSince, last);
    return Math.min(last + this.pausedMs + pausing, now);
  }

  /** A new delivery starts the count again. */
  private sync(): number {
    const last = this.lastDelivery();
    if (last !== this.from) {
      this.from = last;
      this.pausedMs = 0;
    }
    return last;
  }
}
