import pLimit, { type LimitFunction } from 'p-limit';

/**
 * The cap on requests in flight per host:port. One is shared by every upstream client, so
 * the cap holds whoever calls the host.
 */
export class HostLimits {
  private readonly limits = new Map<string, LimitFunction>();

  constructor(readonly concurrency: number) {}

  /** Runs `work` once the URL's host has a free slot, and holds the slot until it settles. */
  run<T>(url: string, work: () => Promise<T>): Promise<T> {
    const host = new URL(url).host;
    let limit = this.limits.get(host);
    if (limit === undefined) {
      limit = pLimit(this.concurrency);
      this.limits.set(host, limit);
    }
    return limit(work);
  }
}
