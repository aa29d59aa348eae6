import type { IBreaker } from 'cockatiel';

/**
 * Cockatiel's breaker decides when to open from this: consecutive failures of distinct
 * requests (the breaker wraps a whole request, its retries inside). While on probation (just
 * back because its probe answered, and no request has had a good answer since) it does not
 * open, so that a host whose probe succeeds while some of its requests keep failing cannot
 * pause everything over and over: those requests then fail the ordinary way.
 */
export class ConsecutiveRequests implements IBreaker {
  state = { failures: 0, probation: false };

  constructor(private readonly threshold: number) {}

  success(): void {
    this.state.failures = 0;
  }

  failure(): boolean {
    this.state.failures += 1;
    return !this.state.probation && this.state.failures >= this.threshold;
  }
}
