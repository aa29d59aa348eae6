import {
  BrokenCircuitError,
  circuitBreaker,
  CircuitState,
  handleWhen,
  IsolatedCircuitError,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import { describeError, isTransient, PipelineError } from '../errors.js';
import { ConsecutiveRequests } from './health/consecutiveRequests.js';
import { HostDown, type DownReason } from './health/hostDown.js';

export { HostDown, type DownReason } from './health/hostDown.js';

const isClientError = (status: number): boolean => status >= 400 && status < 500 && status !== 429;

/**
 * The circuit breaker of one host, on cockatiel's CircuitBreakerPolicy: it opens after
 * `threshold` consecutive transient failures of distinct requests, or after `threshold`
 * consecutive answers with the same 4xx (a configuration fault: a wrong URL, 401 everywhere).
 * While open it refuses requests at once (HostDown). It never half-opens by itself: only
 * `close()`, called when the host's own probe answered, brings it back. No timer, no log:
 * HostHealth does both.
 */
export class HostBreaker {
  private readonly counter: ConsecutiveRequests;
  private readonly policy: CircuitBreakerPolicy;
  private refusals = { status: 0, count: 0 };
  private hold: { dispose(): void } | undefined;
  private wasUp = true;
  private why: DownReason | undefined;
  /** When the current state (up or down) began, in ms since the epoch. */
  since = Date.now();

  constructor(
    readonly host: string,
    readonly threshold: number,
    private readonly changed: (breaker: HostBreaker) => void = () => {},
  ) {
    this.counter = new ConsecutiveRequests(threshold);
    // halfOpenAfter: never; the probe decides when the host is back.
    this.policy = circuitBreaker(handleWhen(isTransient), {
      halfOpenAfter: Infinity,
      breaker: this.counter,
    });
    this.policy.onStateChange((state) => this.stateChanged(state));
  }

  get up(): boolean {
    return this.policy.state === CircuitState.Closed;
  }

  /** Why it is down; undefined while up. */
  get reason(): DownReason | undefined {
    return this.up ? undefined : this.why;
  }

  /** Back by its probe, and no request has had a good answer since. */
  get onProbation(): boolean {
    return this.counter.state.probation;
  }

  /** Throws HostDown while the host is down: before each attempt of a request. */
  check(): void {
    if (!this.up) throw new HostDown(this.host, this.reason);
  }

  /**
   * Runs one request, its retries included, and counts its outcome: a transient failure is a
   * failure, anything else (an answer, a permanent failure) a success. Refused at once with
   * HostDown while the host is down. `status` reads the final answer's status, if any; an
   * answer with the 4xx the host is down for fails with HostDown, not with its value.
   */
  async run<T>(request: () => Promise<T>, status: () => number | undefined = () => undefined) {
    let result: { value: T } | { error: unknown };
    try {
      result = await this.policy.execute(async () => {
        try {
          return { value: await request() };
        } catch (error) {
          if (isTransient(error)) throw error;
          return { error };
        }
      });
    } catch (error) {
      if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) {
        throw new HostDown(this.host, this.reason);
      }
      throw error;
    }
    const final = status();
    if (final !== undefined) this.answered(final);
    const reason = this.reason;
    if (reason?.kind === 'refusing' && final === reason.status)
      throw new HostDown(this.host, reason);
    if ('error' in result) throw result.error;
    return result.value;
  }

  /**
   * The status of a request's final answer. The same 4xx `threshold` times in a row opens the
   * breaker (unless on probation); a good answer (below 400) ends the probation.
   */
  answered(status: number): void {
    if (!isClientError(status)) {
      if (status < 400) {
        this.refusals = { status: 0, count: 0 };
        this.counter.state.probation = false;
      }
      return;
    }
    const count = this.refusals.status === status ? this.refusals.count + 1 : 1;
    this.refusals = { status, count };
    if (count >= this.threshold && this.up && !this.onProbation) {
      this.why = { kind: 'refusing', status, failures: count };
      this.hold = this.policy.isolate();
    }
  }

  /**
   * After a request failed transiently while the host is up: resolves true if the host goes
   * down (the failure was the start of an outage), false at the host's next success (it was
   * the request's own) or after `timeoutMs`.
   */
  streakEndsDown(timeoutMs: number): Promise<boolean> {
    if (!this.up) return Promise.resolve(true);
    if (this.counter.state.failures === 0 || this.onProbation) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (down: boolean) => {
        success.dispose();
        change.dispose();
        clearTimeout(timer);
        resolve(down);
      };
      const success = this.policy.onSuccess(() => done(false));
      const change = this.policy.onStateChange(() => {
        if (!this.up) done(true);
      });
      const timer = setTimeout(() => done(false), timeoutMs);
    });
  }

  /** Counts an outcome that is not an HTTP request (a store call, for the `store` host). */
  async record(ok: boolean, error?: unknown): Promise<void> {
    const failure = new PipelineError(describeError(error ?? 'failed'), 'transient');
    await this.run(() => (ok ? Promise.resolve() : Promise.reject(failure))).catch(() => undefined);
    if (ok) this.counter.state.probation = false;
  }

  /**
   * Takes the host for down at once, whatever the counts and the probation: for a check of the
   * host's own that failed (the store's liveness read), which says more than a request would.
   */
  trip(error: unknown): void {
    if (!this.up) return;
    this.why = { kind: 'failing', failures: 1, error: describeError(error) };
    this.hold = this.policy.isolate();
  }

  /** The host's probe answered: up again, on probation, with every count from zero. */
  close(): void {
    this.counter.state = { failures: 0, probation: true };
    this.refusals = { status: 0, count: 0 };
    const hold = this.hold;
    this.hold = undefined;
    hold?.dispose();
    // Isolating then letting go is cockatiel's way from Open back to Closed.
    if (!this.up) this.policy.isolate().dispose();
  }

  private stateChanged(state: CircuitState): void {
    const up = state === CircuitState.Closed;
    if (up === this.wasUp) return;
    this.wasUp = up;
    this.since = Date.now();
    if (!up && this.policy.state === CircuitState.Open) {
      const last = this.policy.lastFailure;
      const error = last !== undefined && 'error' in last ? describeError(last.error) : 'failed';
      this.why = { kind: 'failing', failures: this.counter.state.failures, error };
    }
    this.changed(this);
  }
}
