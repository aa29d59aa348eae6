import { setTimeout as sleep } from 'node:timers/promises';
import { Subject, type Observable } from 'rxjs';
import type { HgClient } from '../../src/clients/hgmo.js';
import { log } from '../../src/log.js';
import type { Job, JobOutcome, SettlingJob } from '../../src/pipeline/job.js';
import type { LiveLoad, PolledSource } from '../../src/worker/source.js';
import type { GapFillConfig, GapFillMetrics } from './config.js';
import { Gate } from './gate.js';
import { pollTimers, PollerLease } from './lease.js';
import { settledLine, type PingCounter } from './settled.js';
import { PushlogWalks } from './walk.js';

/** What the command adds to the config: the pushlog reader and the worker's metrics. */
export interface GapFillOptions extends GapFillConfig {
  readonly hg: Pick<HgClient, 'pushlogPage'>;
  readonly metrics: { readonly gapFill: GapFillMetrics; readonly pings: PingCounter };
  /** The worker's clock, for the grace period. */
  readonly now?: () => number;
}

export interface GapFillCounters {
  /** Polls this worker made holding the lease. */
  polls: number;
  /** Gap-fill jobs handed to the pipeline, settled, and not settled (tried again later). */
  queued: number;
  settled: number;
  unsettled: number;
}

const IDLE: LiveLoad = { inFlight: () => 0, paused: () => false };

/**
 * Gap-fill, a source of push jobs: the pushlog, not Pulse, is the record of truth. Every
 * `pollMs`, for every repository with a watermark, a walk (walk.ts) reads the pushlog after
 * the watermark and emits a job for each push left unsettled past the grace period. A job's
 * outcome comes back through its own `settle`; the pipeline has recorded it in the store
 * already, so a settled push moves the watermark and one that is not is tried again at the
 * next poll. Behind live messages: a job is emitted only while fewer than `liveBelow` live
 * messages and fewer than `maxJobs` gap-fill jobs are in flight, and consuming is not paused
 * for an outage. With a fleet on PostgreSQL, only the holder of the poller lease polls.
 * Nothing here throws into the worker: a poll that fails is logged and made again later.
 */
export class GapFillSource implements PolledSource {
  readonly counters: GapFillCounters = { polls: 0, queued: 0, settled: 0, unsettled: 0 };
  private readonly emitted = new Subject<SettlingJob>();
  readonly jobs: Observable<SettlingJob> = this.emitted.asObservable();
  /** Jobs in the pipeline, with the push each is about. */
  private readonly running = new Map<Job, string>();
  private readonly walks: PushlogWalks;
  private load = IDLE;
  private readonly gate: Gate;
  private whenDrained: (() => void)[] = [];
  private timers: NodeJS.Timeout[] = [];
  private polling: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private readonly lease: PollerLease;

  constructor(private readonly options: GapFillOptions) {
    const { store, hg, graceMs, metrics } = options;
    this.lease = new PollerLease(store, options.leaseMs ?? 60_000);
    const [maxJobs, liveBelow] = [options.maxJobs ?? 2, options.liveBelow ?? 4];
    this.gate = new Gate(
      () => this.running.size < maxJobs && this.load.inFlight() < liveBelow && !this.load.paused(),
      () => this.stopping !== undefined,
    );
    const deps = { store, hg, graceMs, metrics: metrics.gapFill };
    this.walks = new PushlogWalks(
      { ...deps, pageSize: options.pageSize ?? 100, now: options.now ?? Date.now },
      {
        stopped: () => this.stopping !== undefined,
        isRunning: (repository, pushId) => this.isRunning(repository, pushId),
        slot: () => this.gate.pass(),
        emit: (repository, pushId, nodes) => this.emit(repository, pushId, nodes),
      },
    );
  }

  /** Whether this worker held the poller lease at its last try. */
  get holdsLease(): boolean {
    return this.lease.holds;
  }

  /** Polls now, then every `pollMs`, until `stop()`. */
  start(load: LiveLoad = IDLE): void {
    if (this.timers.length > 0 || this.stopping !== undefined) return;
    this.load = load;
    this.timers = pollTimers(this.lease, this.options.pollMs, {
      poll: () => this.poll(),
      wake: () => this.wake(),
      stopped: () => this.stopping !== undefined,
    });
    this.poll();
  }

  wake(): void {
    this.gate.wake();
  }

  /**
   * No poll after this. A walk in progress stops at its next step; the jobs in the pipeline
   * get `graceMs` to finish (those that do not are abandoned: their pushes stay unsettled and
   * are tried again by the next run). Then the lease is released and `jobs` completes.
   */
  stop(graceMs: number): Promise<void> {
    this.stopping ??= (async () => {
      for (const timer of this.timers) clearInterval(timer);
      this.wake();
      const drained =
        this.running.size === 0
          ? Promise.resolve()
          : new Promise<void>((resolve) => this.whenDrained.push(resolve));
      const finished = await Promise.race([
        Promise.all([this.polling, drained]).then(() => 'done' as const),
        sleep(graceMs, 'late' as const, { ref: false }),
      ]);
      if (finished === 'late') {
        log.warn('gap-fill jobs still in flight at stop; their pushes are tried again later', {
          inFlight: this.running.size,
        });
      }
      await this.lease.release();
      this.emitted.complete();
    })();
    return this.stopping;
  }

  private poll(): void {
    if (this.stopping !== undefined || this.polling !== undefined) return;
    this.polling = this.pollOnce()
      .catch((error: unknown) => {
        if (this.stopping !== undefined) return;
        log.warn('gap-fill: the pushlog poll failed; trying again at the next poll', { error });
      })
      .finally(() => (this.polling = undefined));
  }

  private async pollOnce(): Promise<void> {
    if (!(await this.lease.take()) || this.stopping !== undefined) return;
    this.counters.polls += 1;
    for (const repository of await this.options.store.repositoriesWithWatermark()) {
      if (this.stopping !== undefined) return;
      await this.walks.walk(repository).catch((error: unknown) => {
        if (this.stopping !== undefined) return;
        log.warn('gap-fill: could not poll a repository; trying again at the next poll', {
          repository,
          error,
        });
      });
    }
  }

  private emit(repository: string, pushId: number, nodes: readonly string[]): void {
    const job: SettlingJob = {
      label: `gap-fill push ${pushId}`,
      target: { kind: 'push', repository, pushId, nodes },
      receivedAt: Date.now(),
      settle: (result) => this.settle(result),
    };
    this.running.set(job, `${repository} ${pushId}`);
    this.counters.queued += 1;
    this.emitted.next(job);
  }

  /** Takes a gap-fill job's outcome (the pipeline recorded it in the store already). */
  private async settle(result: JobOutcome): Promise<void> {
    if (!this.running.delete(result.job) || result.job.target.kind !== 'push') return;
    const { repository, pushId } = result.job.target;
    const settled = settledLine(result, this.options.metrics);
    this.walks.outcome(repository, pushId, settled);
    this.counters[settled ? 'settled' : 'unsettled'] += 1;
    if (this.running.size === 0) {
      for (const resolve of this.whenDrained.splice(0)) resolve();
    }
    this.wake();
  }

  private isRunning(repository: string, pushId: number): boolean {
    return [...this.running.values()].includes(`${repository} ${pushId}`);
  }
}
