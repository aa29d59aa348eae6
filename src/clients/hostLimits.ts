import pLimit, { type LimitFunction } from 'p-limit';
import type { HostHealth } from './health.js';

/**
 * The per-host state every upstream client shares, so that it holds whoever calls the host:
 * the cap on requests in flight per host:port and, when given, the hosts' health (their
 * circuit breakers; see HostHealth).
 */
export class HostLimits {
  private readonly limits = new Map<string, LimitFunction>();

  constructor(
    readonly concurrency: number,
    readonly health?: HostHealth,
  ) {}

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
