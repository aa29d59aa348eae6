import { from, merge, mergeMap, type Observable, type Subscription } from 'rxjs';
import type { HostHealth } from '../clients/health.js';
import { log } from '../log.js';
import {
  DEFAULT_BOUNDS,
  pipeline,
  type PipelineBounds,
  type PipelineDeps,
} from '../pipeline/index.js';
import type { JobOutcome, Settlement, SettlingJob } from '../pipeline/job.js';
import { dryRunLedger } from '../pipeline/ledger.js';
import { GapFill, type GapFillConfig } from './gapFill.js';
export { gapFillConfig } from './gapFill.js';
import { GapFillMetrics, type WorkerMetrics } from './metrics.js';
import { OutagePause, STORE_HOST } from './pause.js';
import { oneClaimPerProcess } from './processClaims.js';
import { recordParkedPush } from './parkedPush.js';
import { watchQueueDepth } from './queueDepth.js';
import { settlementLine } from './settlementLog.js';
import type { QueueSource } from './source.js';
import { StoreLiveness, type StoreLivenessOptions } from './storeLiveness.js';
import { within } from './within.js';

/** What stopping may take beyond the grace period before the worker gives up waiting. */
const CLOSE_SLACK_MS = 5_000;

/** Acks are quick; parking waits for a confirm. The prefetch bounds them anyway. */
const SETTLING_AT_ONCE = 64;

export interface WorkerOptions {
  /**
   * The queue consumed (Pulse), if any: besides its jobs, the worker connects it, pauses it
   * for an outage, watches its depth and stops it.
   */
  readonly source?: QueueSource;
  /**
   * More streams of jobs, from any source: each job carries its own settle. Without a queue
   * source, the worker stops once every stream has ended and every job is settled.
   */
  readonly jobs?: readonly Observable<SettlingJob>[];
  /** With the hosts' health (createClients gives it), consuming pauses while one is down. */
  readonly deps: PipelineDeps & { readonly health?: HostHealth | undefined };
  readonly metrics: WorkerMetrics;
  readonly bounds?: PipelineBounds;
  /** Stop once no message arrived for this long and none is in flight (--timeout; a queue's). */
  readonly idleTimeoutMs?: number;
  /** How long `stop()` lets messages in flight finish; Heroku kills 30 s after SIGTERM. */
  readonly graceMs?: number;
  readonly depthCheckMs?: number;
  /** Gap-fill from the pushlog (gapFill.ts); only for a worker that sends, with a store. */
  readonly gapFill?: GapFillConfig;
  /** How often, and within what deadline, the store is read to know it is up (storeLiveness.ts). */
  readonly storeLiveness?: Pick<StoreLivenessOptions, 'everyMs' | 'deadlineMs'>;
}

export interface WorkerStop {
  readonly reason: string;
  /** 0 for a clean stop, 1 when the worker could not go on. */
  readonly failed: boolean;
}

/**
 * The always-on worker: jobs (Pulse messages, gap-fill pushes, any stream of them) through the
 * pipeline, each settled by its outcome through the job's own `settle`: the worker knows no
 * source's ack. Lifecycle: `start()` connects and consumes; `stop()` (idempotent) stops
 * consuming, waits for the messages in flight, then closes. `stopped` tells when and why it
 * stopped, whoever asked: a signal, the idle timeout, the end of a replay or of the job
 * streams, or a failure.
 */
export class Worker {
  readonly stopped: Promise<WorkerStop>;
  private resolveStopped: (stop: WorkerStop) => void = () => {};
  private stopping: Promise<void> | undefined;
  private readonly subscriptions: Subscription[] = [];
  private stopWatchingDepth: () => void = () => {};
  private idleTimer: NodeJS.Timeout | undefined;
  /** The pushlog poller, when gap-fill is on. */
  readonly gapFill: GapFill | undefined;
  /** Pauses consuming while a host is down, when the deps carry the hosts' health. */
  private outage: OutagePause | undefined;
  /** Reads the store with a deadline, when there is one and the hosts' health. */
  private liveness: StoreLiveness | undefined;

  constructor(private readonly options: WorkerOptions) {
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
    const { gapFill, deps, metrics, source } = options;
    this.gapFill =
      gapFill === undefined
        ? undefined
        : new GapFill({
            ...gapFill,
            hg: deps.hg,
            metrics: { gapFill: new GapFillMetrics(metrics.registry), pings: metrics.pings },
            liveInFlight: () => source?.inFlight ?? 0,
            paused: () => this.outage?.pausedForOutage === true,
          });
  }

  /** Connects and starts consuming; rejects, with the connection closed, if it cannot. */
  async start(): Promise<void> {
    const { source, deps, metrics } = this.options;
    try {
      await source?.ready();
    } catch (error) {
      await source?.stop(0);
      throw error;
    }
    // Never with a replay of parked messages; then gap-fill jobs join the live ones (gapFill.ts
    // keeps them behind), their changesets claimed once in this process, their outcomes its own.
    const gapFill = source?.replayCount === undefined ? this.gapFill : undefined;
    // Pausing for an outage stops a queue's consuming: with no queue, nothing to pause.
    if (deps.health !== undefined && source !== undefined) {
      const ledger = deps.ledger === dryRunLedger ? undefined : deps.ledger;
      this.outage = new OutagePause({ source, health: deps.health, metrics, ledger });
      if (ledger !== undefined) {
        // After OutagePause: the store's probe becomes the liveness read, with its deadline.
        this.liveness = new StoreLiveness({
          ledger,
          health: deps.health,
          ...this.options.storeLiveness,
        });
        this.liveness.start();
      }
    }
    if (source !== undefined) {
      this.subscriptions.push(
        source.settlements.subscribe((settlement) => {
          this.onSettled(source, settlement);
          gapFill?.wake();
        }),
      );
    }
    const streams = [source?.jobs, gapFill?.jobs, ...(this.options.jobs ?? [])];
    this.subscriptions.push(
      merge(...streams.filter((jobs) => jobs !== undefined))
        .pipe(
          pipeline(
            // Two jobs of this process on one changeset (a message delivered twice, or a push
            // arriving live and through gap-fill) must not both send it. A dry run claims
            // nothing, so it has nothing to guard.
            deps.ledger === dryRunLedger
              ? deps
              : { ...deps, ledger: oneClaimPerProcess(deps.ledger) },
            this.options.bounds ?? DEFAULT_BOUNDS,
          ),
          mergeMap(
            (result) =>
              // The store's part in the job counts first: the settling asks if it is down. A
              // job that failed on the store waits for a read of it, so that a failure during
              // an outage is known as one (its message goes back without counting an attempt).
              from(
                (this.liveness?.judge(result) ?? Promise.resolve(false))
                  .then(() => this.outage?.observe(result))
                  .then(() => settleJob(result)),
              ),
            SETTLING_AT_ONCE,
          ),
        )
        .subscribe({
          error: (error: unknown) => {
            log.error('the pipeline stopped', { error });
            void this.stop('pipeline error', true);
          },
          // A queue's jobs end only when it stops; other streams may end, their jobs settled.
          complete: () => void this.stop('every job stream ended'),
        }),
    );
    if (source === undefined) {
      log.info('taking jobs', { streams: this.options.jobs?.length ?? 0 });
    } else if (source.replayCount !== undefined) {
      log.info('consuming', {
        queue: source.names.failedQueue,
        parkedAtStart: source.replayCount,
      });
      void source.replayed.then(() => this.stop('every parked message was replayed'));
    } else {
      log.info('consuming', { queue: source.names.queue });
    }
    if (source !== undefined) {
      const everyMs = this.options.depthCheckMs ?? 60_000;
      this.stopWatchingDepth = watchQueueDepth(source, metrics, everyMs);
    }
    gapFill?.start();
    this.armIdleTimer();
  }

  /**
   * True while connected and consuming, or paused for an upstream's outage: for /healthz. Not
   * while the store is down: this process can do nothing then, and a platform that restarts
   * it on a failed check gets it a new connection. With no queue, true until it stops.
   */
  healthy(): boolean {
    const { source, deps } = this.options;
    if (this.liveness !== undefined && deps.health?.isUp(STORE_HOST) === false) return false;
    if (source === undefined) return this.stopping === undefined;
    return source.consuming() || (this.outage?.pausedForOutage === true && source.connected());
  }

  /** Stops consuming, lets messages in flight finish (within the grace period), then closes. */
  stop(reason: string, failed = false): Promise<void> {
    this.stopping ??= (async () => {
      log.info('stopping; letting messages in flight finish', { reason });
      this.outage?.close();
      this.liveness?.stop();
      clearTimeout(this.idleTimer);
      this.stopWatchingDepth();
      const { source } = this.options;
      const graceMs = this.options.graceMs ?? 25_000;
      // Gap-fill stops polling at once; its jobs in flight get the same grace as messages.
      const gapFillStopped = this.gapFill?.stop(graceMs);
      // Past the grace and a little more, whatever has not closed is left behind (the broker
      // takes back unacked messages; claims expire): the process must be able to exit.
      const deadline = graceMs + CLOSE_SLACK_MS;
      if (source !== undefined) {
        await within(deadline, 'closing the Pulse connection', source.stop(graceMs)).catch(
          (error: unknown) => log.error('closing the Pulse connection failed', { error }),
        );
      }
      await within(deadline, 'stopping gap-fill', gapFillStopped ?? Promise.resolve());
      // No more probes: nothing is left to wait for a host.
      this.options.deps.health?.close();
      for (const subscription of this.subscriptions) subscription.unsubscribe();
      log.info('stopped', { reason, ...source?.counters });
      this.resolveStopped({ reason, failed });
    })();
    return this.stopping;
  }

  private onSettled(source: QueueSource, settlement: Settlement): void {
    const { metrics } = this.options;
    metrics.record(settlement, source.inFlight);
    void recordParkedPush(this.options.deps.ledger, settlement);
    const line = settlementLine(settlement);
    const msg = `${settlement.label}: ${settlement.action}`;
    if (settlement.action === 'park' || settlement.action === 'requeue') log.warn(msg, line);
    else log.info(msg, line);
    if (source.inFlight === 0) this.armIdleTimer();
  }

  /**
   * Fires when no message has arrived for the idle timeout. Whenever the worker falls idle
   * the timer is set again from the last delivery; while a message is in flight it waits.
   */
  private armIdleTimer(): void {
    const { source, idleTimeoutMs: timeoutMs } = this.options;
    if (timeoutMs === undefined || source === undefined || this.stopping !== undefined) return;
    clearTimeout(this.idleTimer);
    const due = source.lastDeliveryAt + timeoutMs - Date.now();
    this.idleTimer = setTimeout(
      () => {
        if (source.inFlight > 0) return;
        if (Date.now() - source.lastDeliveryAt >= timeoutMs) {
          void this.stop(`no message for ${timeoutMs / 1000} s`);
        } else {
          this.armIdleTimer();
        }
      },
      Math.max(due, 0),
    );
  }
}

/** Hands a job's outcome to its source, through the settle the job carries. */
const settleJob = (result: JobOutcome): Promise<void> =>
  result.job.settle === undefined
    ? Promise.reject(
        new Error(
          `${result.job.label} came to the worker with no settle: its source must give one`,
        ),
      )
    : result.job.settle(result);
