import pLimit, { type LimitFunction } from 'p-limit';
import { RetryLater } from '../errors.js';
import type { HostHealth } from './health.js';

/**
 * The per-host state every upstream client shares, so that it holds whoever calls the host:
 * the cap on requests in flight per host:port, the time before which a host asked not to be
 * asked again (its Retry-After) and, when given, the hosts' health (their circuit breakers;
 * see HostHealth).
 */
export class HostLimits {
  private readonly limits = new Map<string, LimitFunction>();
  private readonly holds = new Map<string, number>();

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

  /** `host` asked not to be asked before `until` (ms since the epoch); a later time wins. */
  holdUntil(host: string, until: number): void {
    if (until > (this.holds.get(host) ?? 0)) this.holds.set(host, until);
  }

  /** Before when `host` may not be asked (ms since the epoch); 0 when it may be now. */
  heldUntil(host: string): number {
    const until = this.holds.get(host) ?? 0;
    if (until > Date.now()) return until;
    this.holds.delete(host);
    return 0;
  }

  /**
   * The wait, in ms, before the request's host may be asked (0: now); a RetryLater when it
   * is longer than `maxMs`, naming the request and when its host may be asked again.
   */
  refuseWhileHeld(
    request: { readonly url: string; readonly method?: string },
    maxMs: number,
  ): number {
    const host = new URL(request.url).host;
    const until = this.heldUntil(host);
    const waitMs = until - Date.now();
    if (waitMs > maxMs) {
      const name = `${request.method ?? 'GET'} ${request.url}`;
      throw new RetryLater(name, host, until, 'not sent: its host asked us to wait');
    }
    return Math.max(waitMs, 0);
  }
}
