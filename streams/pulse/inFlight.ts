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
