import { HostLimits } from '../../src/clients/hostLimits.js';

/** HostLimits that also count, per host, what they let through: for tests and benchmarks. */
export class CountingLimits extends HostLimits {
  readonly inFlight = new Map<string, number>();
  readonly peakInFlight = new Map<string, number>();
  readonly requestCount = new Map<string, number>();

  override run<T>(url: string, work: () => Promise<T>): Promise<T> {
    const host = new URL(url).host;
    return super.run(url, async () => {
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
