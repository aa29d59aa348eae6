import { from, merge, mergeMap, type Subscription } from 'rxjs';
import type { PulseSource, Settlement } from '../../streams/pulse/source.js';
import type { HostHealth } from '../clients/health.js';
import { log } from '../log.js';
import {
  DEFAULT_BOUNDS,
  pipeline,
  type PipelineBounds,
  type PipelineDeps,
} from '../pipeline/index.js';
import { dryRunLedger } from '../pipeline/ledger.js';
import { GapFill, type GapFillConfig } from './gapFill.js';
export { gapFillConfig } from './gapFill.js';
import { GapFillMetrics, type WorkerMetrics } from './metrics.js';
import { OutagePause, STORE_HOST } from './pause.js';
import { oneClaimPerProcess } from './processClaims.js';
import { recordParkedPush } from './parkedPush.js';
import { watchQueueDepth } from './queueDepth.js';
import { settlementLine } from './settlementLog.js';
import { StoreLiveness, type StoreLivenessOptions } from './storeLiveness.js';
import { within } from './within.js';

/** What stopping may take beyond the grace period before the worker gives up waiting. */
const CLOSE_SLACK_MS = 5_000;

/** Acks are quick; parking waits for a confirm. The prefetch bounds them anyway. */
const SETTLING_AT_ONCE = 64;

export interface WorkerOptions {
  readonly source: PulseSource;
  /** With the hosts' health (createClients gives it), consuming pauses while one is down. */
  readonly deps: PipelineDeps & { readonly health?: HostHealth | undefined };
  readonly metrics: WorkerMetrics;
  readonly bounds?: PipelineBounds;
  /** Stop once no message arrived for this long and none is in flight (--timeout). */
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
 * The always-on worker: Pulse messages through the pipeline, each settled by its outcome.
 * Lifecycle: `start()` connects and consumes; `stop()` (idempotent) stops consuming, waits for
 * the messages in flight, then closes. `stopped` tells when and why it stopped, whoever
 * asked: a signal, the idle timeout, the end of a replay, or a failure.
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
            liveInFlight: () => source.inFlight,
            paused: () => this.outage?.pausedForOutage === true,
          });
  }

  /** Connects and starts consuming; rejects, with the connection closed, if it cannot. */
  async start(): Promise<void> {
    const { source, deps, metrics } = this.options;
    try {
      await source.ready();
    } catch (error) {
      await source.stop(0);
      throw error;
    }
    // Never with a replay of parked messages; then gap-fill jobs join the live ones (gapFill.ts
    // keeps them behind), their changesets claimed once in this process, their outcomes its own.
    const gapFill = source.replayCount === undefined ? this.gapFill : undefined;
    if (deps.health !== undefined) {
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
    this.subscriptions.push(
      source.settlements.subscribe((settlement) => {
        this.onSettled(settlement);
        gapFill?.wake();
      }),
      (gapFill === undefined ? source.jobs : merge(source.jobs, gapFill.jobs))
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
                  .then(() =>
                    gapFill?.owns(result.job) === true
                      ? gapFill.settle(result)
                      : source.settle(result),
                  ),
              ),
            SETTLING_AT_ONCE,
          ),
        )
        .subscribe({
          error: (error: unknown) => {
            log.error('the pipeline stopped', { error });
            void this.stop('pipeline error', true);
          },
        }),
    );
    if (source.replayCount !== undefined) {
      log.info('consuming', {
        queue: source.names.failedQueue,
        parkedAtStart: source.replayCount,
      });
      void source.replayed.then(() => this.stop('every parked message was replayed'));
    } else {
      log.info('consuming', { queue: source.names.queue });
    }
    this.stopWatchingDepth = watchQueueDepth(source, metrics, this.options.depthCheckMs ?? 60_000);
    gapFill?.start();
    this.armIdleTimer();
  }

  /**
   * True while connected and consuming, or paused for an upstream's outage: for /healthz. Not
   * while the store is down: this process can do nothing then, and a platform that restarts
   * it on a failed check gets it a new connection.
   */
  healthy(): boolean {
    const { source, deps } = this.options;
    if (this.liveness !== undefined && deps.health?.isUp(STORE_HOST) === false) return false;
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
      await within(deadline, 'closing the Pulse connection', source.stop(graceMs)).catch(
        (error: unknown) => log.error('closing the Pulse connection failed', { error }),
      );
      await within(deadline, 'stopping gap-fill', gapFillStopped ?? Promise.resolve());
      // No more probes: nothing is left to wait for a host.
      this.options.deps.health?.close();
      for (const subscription of this.subscriptions) subscription.unsubscribe();
      log.info('stopped', { reason, ...source.counters });
      this.resolveStopped({ reason, failed });
    })();
    return this.stopping;
  }

  private onSettled(settlement: Settlement): void {
    const { source, metrics } = this.options;
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
    const timeoutMs = this.options.idleTimeoutMs;
    if (timeoutMs === undefined || this.stopping !== undefined) return;
    clearTimeout(this.idleTimer);
    const { source } = this.options;
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
