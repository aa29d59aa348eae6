import type { Subscription } from 'rxjs';
import type { HostHealth } from '../clients/health.js';
import { log } from '../log.js';
import type { JobOutcome } from '../pipeline/job.js';
import type { Ledger } from '../pipeline/ledger.js';
import { StoreClosed, StoreError } from '../errors.js';
import { OutageMetrics, type WorkerMetrics } from './metrics.js';

/** The store, among the hosts whose health is watched. */
export const STORE_HOST = 'store';

/** What pausing needs of the source (PulseSource). */
export interface PausableSource {
  pause(): Promise<void>;
  resume(): Promise<void>;
}

export interface OutagePauseOptions {
  readonly source: PausableSource;
  readonly health: HostHealth;
  readonly metrics: WorkerMetrics;
  /** The durable store, watched as the host `store`; none for a dry run. */
  readonly ledger?: Ledger;
  /** How long to wait before trying again to resume when it failed. */
  readonly resumeRetryMs?: number;
}

/** The StoreError behind a failure, if any; not StoreClosed: then the process is stopping. */
export const storeErrorOf = (error: unknown): StoreError | undefined => {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth += 1) {
    if (e instanceof StoreClosed) return undefined;
    if (e instanceof StoreError) return e;
  }
  return undefined;
};

/**
 * PulseSource's `hostsUp`: false when one of the hosts was down at any moment while the job
 * ran (or is down now), back already or not. Its message then goes back to the queue without
 * counting an attempt; PulseSource asks only about a job whose failures were all transient.
 */
export const hostsUpCheck =
  (health: HostHealth) =>
  (result: JobOutcome): boolean =>
    health.downSince(result.job.receivedAt).length === 0;

/**
 * Pauses the worker's consuming while any host (an upstream, or the store) is down, and
 * resumes once every one is back: the messages wait in the queue, in order, instead of each
 * failing. A StoreError in a job's outcome counts as a failure of the host `store` (probed
 * with a cheap read of the ledger), any other outcome as a success of it.
 */
export class OutagePause {
  private readonly subscription: Subscription;
  private readonly outageMetrics: OutageMetrics;
  private paused = false;
  private pausedAt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: OutagePauseOptions) {
    const { health, ledger, metrics } = options;
    // The store's probe is its liveness read (storeLiveness.ts), set by the worker.
    if (ledger !== undefined) health.breaker(STORE_HOST);
    this.outageMetrics = new OutageMetrics(metrics.registry, () => health.hosts());
    this.outageMetrics.consuming.set(1);
    metrics.healthNote = () => this.note();
    this.subscription = health.transitions.subscribe(() => this.follow());
  }

  /** True while paused for an outage. */
  get pausedForOutage(): boolean {
    return this.paused;
  }

  /** Counts the store's part in a job; call before the job's message is settled. */
  async observe(result: JobOutcome): Promise<void> {
    if (this.options.ledger === undefined || this.closed) return;
    const failure = result.outcomes
      .map((o) => (o.status === 'failed' ? storeErrorOf(o.error) : undefined))
      .find((error) => error !== undefined);
    await this.options.health.breaker(STORE_HOST).record(failure === undefined, failure);
  }

  /** Stops following the hosts' health; consuming is left as it is (the worker is stopping). */
  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.subscription.unsubscribe();
  }

  /** What /healthz says while paused: which hosts are down, since when. */
  private note(): string | undefined {
    if (!this.paused) return undefined;
    const down = this.options.health.downHosts();
    if (down.length === 0) return 'paused: every host is back; resuming';
    const hosts = down.map(({ host, since }) => `${host} down since ${since.toISOString()}`);
    return `paused: ${hosts.join(', ')}`;
  }

  private follow(): void {
    if (this.closed) return;
    clearTimeout(this.retryTimer);
    const { source, health } = this.options;
    const down = health.downHosts();
    if (down.length > 0) {
      if (!this.paused) {
        this.paused = true;
        this.pausedAt = Date.now();
        this.outageMetrics.consuming.set(0);
        log.warn('pausing: messages wait in the queue until every host is back', {
          down: down.map((h) => h.host),
        });
      }
      source.pause().catch((error: unknown) => log.error('could not pause consuming', { error }));
      return;
    }
    if (!this.paused) return;
    source.resume().then(
      () => {
        if (this.closed || !this.paused || health.downHosts().length > 0) return;
        this.paused = false;
        this.outageMetrics.consuming.set(1);
        log.info('consuming again', {
          pausedForSeconds: Math.round((Date.now() - this.pausedAt) / 100) / 10,
        });
      },
      (error: unknown) => {
        const retryMs = this.options.resumeRetryMs ?? 5000;
        log.error(`could not consume again; trying again in ${retryMs / 1000} s`, { error });
        if (this.closed) return;
        this.retryTimer = setTimeout(() => this.follow(), retryMs);
        this.retryTimer.unref();
      },
    );
  }
}
