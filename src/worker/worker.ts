import type { Subscription } from 'rxjs';
import { log } from '../log.js';
import { InFlightSends } from '../pipeline/inFlightSends.js';
import type { Settlement } from '../pipeline/job.js';
import { dryRunLedger } from '../pipeline/ledger.js';
import { OutagePause, STORE_HOST } from './pause.js';
import { recordParkedPush } from './parkedPush.js';
import { IdleTimer, watchQueueDepth } from './queueWatch.js';
import { runJobs } from './runJobs.js';
import { settlementLine } from './settlementLog.js';
import type { LiveLoad, QueueSource, WorkerOptions, WorkerStop } from './source.js';
import { StoreLiveness } from './storeLiveness.js';
import { within } from './within.js';

export type { WorkerOptions, WorkerStop } from './source.js';

/** What stopping may take beyond the grace period before the worker gives up waiting. */
const CLOSE_SLACK_MS = 5_000;

/**
 * How long a stop waits, once the pipeline is unsubscribed, for the pings on the wire to be
 * answered and written to the ledger, before the command closes the store. Heroku kills 30 s
 * after SIGTERM: the 25 s grace, these 3 s and closing the store (well under a second with
 * the database up) fit within it when the connection closes as it should; the slack above and
 * the store's own 5 s can take it past. A ping not answered by then may be sent again by the
 * next process, as before.
 */
const SENDS_WAIT_MS = 3_000;

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
  private idle: IdleTimer | undefined;
  /** Pauses consuming while a host is down, when the deps carry the hosts' health. */
  private outage: OutagePause | undefined;
  /** Reads the store with a deadline, when there is one and the hosts' health. */
  private liveness: StoreLiveness | undefined;
  /** The pings being sent: a stop lets them reach the ledger, and starts no other. */
  private readonly sends = new InFlightSends();

  constructor(private readonly options: WorkerOptions) {
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
    const { source, idleTimeoutMs } = options;
    if (source !== undefined && idleTimeoutMs !== undefined) {
      this.idle = new IdleTimer(source, idleTimeoutMs, (reason) => void this.stop(reason));
    }
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
    // Never with a replay of parked messages; then polled jobs join the live ones (kept
    // behind them), their changesets claimed once in this process, their outcomes their own.
    const polled = source?.replayCount === undefined ? (this.options.polled ?? []) : [];
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
          for (const p of polled) {
            p.observe?.(settlement);
            p.wake();
          }
        }),
      );
    }
    const streams = [
      source?.jobs,
      ...polled.map((p) => p.jobs),
      ...(this.options.jobs ?? []),
    ].filter((jobs) => jobs !== undefined);
    this.subscriptions.push(
      runJobs(streams, { ...deps, sends: this.sends }, this.options.bounds, async (result) => {
        // The store's part in the job counts first: the settling asks if it is down. A job
        // that failed on the store waits for a read of it, so that a failure during an
        // outage is known as one (its message goes back without counting an attempt).
        await this.liveness?.judge(result);
        await this.outage?.observe(result);
      }).subscribe({
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
    const load: LiveLoad = {
      inFlight: () => source?.inFlight ?? 0,
      paused: () => this.outage?.pausedForOutage === true,
    };
    for (const p of polled) p.start(load);
    this.idle?.arm();
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
      this.idle?.stop();
      this.stopWatchingDepth();
      const { source } = this.options;
      const graceMs = this.options.graceMs ?? 25_000;
      // Polling stops at once; polled jobs in flight get the same grace as messages.
      const polledStopped = Promise.all((this.options.polled ?? []).map((p) => p.stop(graceMs)));
      // Past the grace and a little more, whatever has not closed is left behind (the broker
      // takes back unacked messages; claims expire): the process must be able to exit.
      const deadline = graceMs + CLOSE_SLACK_MS;
      if (source !== undefined) {
        await within(deadline, 'closing the Pulse connection', source.stop(graceMs)).catch(
          (error: unknown) => log.error('closing the Pulse connection failed', { error }),
        );
      }
      await within(deadline, 'stopping the polled sources', polledStopped);
      // No more probes: nothing is left to wait for a host.
      this.options.deps.health?.close();
      // Unsubscribing ends no step already running: a ping on the wire is awaited until it
      // is in the ledger, and a changeset past its claim check starts no PUT.
      const sending = this.sends.size;
      const sent = this.sends.close();
      for (const subscription of this.subscriptions) subscription.unsubscribe();
      if (sending > 0) log.info('waiting for the pings being sent', { sending });
      await within(SENDS_WAIT_MS, 'recording the pings being sent', sent);
      log.info('stopped', { reason, ...source?.counters });
      this.resolveStopped({ reason, failed });
    })();
    return this.stopping;
  }

  private onSettled(source: QueueSource, settlement: Settlement): void {
    const { metrics } = this.options;
    metrics.record(settlement, source.inFlight);
    void recordParkedPush(this.options.parked, settlement);
    const line = settlementLine(settlement);
    const msg = `${settlement.label}: ${settlement.action}`;
    if (settlement.action === 'park' || settlement.action === 'requeue') log.warn(msg, line);
    else log.info(msg, line);
    if (source.inFlight === 0) this.idle?.arm();
  }
}
