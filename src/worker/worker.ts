import { from, mergeMap, type Subscription } from 'rxjs';
import type { PulseSource, Settlement } from '../../streams/pulse.js';
import { log } from '../log.js';
import {
  DEFAULT_BOUNDS,
  pipeline,
  type PipelineBounds,
  type PipelineDeps,
} from '../pipeline/index.js';
import type { WorkerMetrics } from './metrics.js';
import { watchQueueDepth } from './queueDepth.js';
import { settlementLine } from './settlementLog.js';

/** Acks are quick; parking waits for a confirm. The prefetch bounds them anyway. */
const SETTLING_AT_ONCE = 64;

export interface WorkerOptions {
  readonly source: PulseSource;
  readonly deps: PipelineDeps;
  readonly metrics: WorkerMetrics;
  readonly bounds?: PipelineBounds;
  /** Stop once no message arrived for this long and none is in flight (--timeout). */
  readonly idleTimeoutMs?: number;
  /** How long `stop()` lets messages in flight finish; Heroku kills 30 s after SIGTERM. */
  readonly graceMs?: number;
  readonly depthCheckMs?: number;
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

  constructor(private readonly options: WorkerOptions) {
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
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
    this.subscriptions.push(
      source.settlements.subscribe((settlement) => this.onSettled(settlement)),
      source.jobs
        .pipe(
          pipeline(deps, this.options.bounds ?? DEFAULT_BOUNDS),
          mergeMap((result) => from(source.settle(result)), SETTLING_AT_ONCE),
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
    this.armIdleTimer();
  }

  /** True while connected and consuming: for /healthz. */
  healthy(): boolean {
    return this.options.source.consuming();
  }

  /** Stops consuming, lets messages in flight finish (within the grace period), then closes. */
  stop(reason: string, failed = false): Promise<void> {
    this.stopping ??= (async () => {
      log.info('stopping; letting messages in flight finish', { reason });
      clearTimeout(this.idleTimer);
      this.stopWatchingDepth();
      const { source } = this.options;
      try {
        await source.stop(this.options.graceMs ?? 25_000);
      } catch (error) {
        log.error('closing the Pulse connection failed', { error });
      }
      for (const subscription of this.subscriptions) subscription.unsubscribe();
      log.info('stopped', { reason, ...source.counters });
      this.resolveStopped({ reason, failed });
    })();
    return this.stopping;
  }

  private onSettled(settlement: Settlement): void {
    const { source, metrics } = this.options;
    metrics.record(settlement, source.inFlight);
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
