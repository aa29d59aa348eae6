import pLimit, { type LimitFunction } from 'p-limit';

/**
 * The cap on requests in flight per host:port. One is shared by every upstream client, so
 * the cap holds whoever calls the host. Counts what it lets through, for tests and benchmarks.
 */
export class HostLimits {
  private readonly limits = new Map<string, LimitFunction>();
  readonly inFlight = new Map<string, number>();
  readonly peakInFlight = new Map<string, number>();
  readonly requestCount = new Map<string, number>();

  constructor(readonly concurrency: number) {}

  /** Runs `work` once the URL's host has a free slot, and holds the slot until it settles. */
  run<T>(url: string, work: () => Promise<T>): Promise<T> {
    const host = new URL(url).host;
    let limit = this.limits.get(host);
    if (limit === undefined) {
      limit = pLimit(this.concurrency);
      this.limits.set(host, limit);
    }
    return limit(async () => {
      this.track(host, +1);
      try {
        return await work();
      } finally {
        this.track(host, -1);
      }
    });
  }

  private track(host: string, delta: number): void {
    const now = (this.inFlight.get(host) ?? 0) + delta;
    this.inFlight.set(host, now);
    if (delta > 0) {
      this.requestCount.set(host, (this.requestCount.get(host) ?? 0) + 1);
      this.peakInFlight.set(host, Math.max(now, this.peakInFlight.get(host) ?? 0));
    }
  }
}
