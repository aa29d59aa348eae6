import { setTimeout as sleep } from 'node:timers/promises';
import { Observable, Subject } from 'rxjs';
import { DEFAULT_RETRY_MAX_HOURS } from '../../src/codecs/settings.js';
import { log } from '../../src/log.js';
import type { SettlingJob } from '../../src/pipeline/job.js';
import { PulseConsumer } from './consumer.js';
import { IdleClock, InFlight } from './inFlight.js';
import { PulseLink } from './connection/link.js';
import { DEFAULT_RETRY_DELAYS_MS, pulseNames, type PulseNames } from './connection/names.js';
import type { PulseOptions } from './connection/options.js';
import { ReplayRun } from './parked/replayRun.js';
import { noCounts, type PulseCounters, type Settlement } from './settlement.js';
import { Settler } from './settler.js';

export type { PulseOptions } from './connection/options.js';
export type { PulseCounters, Settlement } from './settlement.js';

/** How long `stop()` waits for the broker to confirm the consumer is cancelled. */
const CANCEL_WAIT_MS = 5_000;

/**
 * The always-on worker's source: a durable Pulse queue bound to the hgpush exchange, consumed
 * through amqp-connection-manager, which reconnects by itself. Every (re)connect checks the
 * exchange passively, asserts and binds the queues, and resumes consuming (link.ts,
 * topology.ts). Each message is read by the consumer (consumer.ts): a push becomes a job
 * that carries its own `settle` (settler.ts): ack, retry later, defer, or park.
 * Lifecycle: `ready()`, subscribe to `jobs` (one subscriber; unsubscribing stops consuming),
 * `stop()`.
 */
export class PulseSource {
  readonly counters: PulseCounters = noCounts();
  readonly names: PulseNames;
  private readonly settled = new Subject<Settlement>();
  /** Every message, as it is settled. */
  readonly settlements: Observable<Settlement> = this.settled.asObservable();
  /**
   * Jobs, one per delivered push message, each settling its message by the outcome it is
   * given. Subscribing consumes; unsubscribing stops it.
   */
  readonly jobs: Observable<SettlingJob>;
  /** Resolves once a replay has taken every message parked at its start. */
  readonly replayed: Promise<void>;
  private readonly link: PulseLink;
  /** Messages taken and not yet settled. */
  private readonly taken = new InFlight();
  /** For --replay-failed: the messages parked at its start, and this run's mark. */
  private readonly replay: ReplayRun | undefined;
  private readonly consumer: PulseConsumer;
  /** Idle time for --timeout, counted while consuming only. */
  private readonly idleClock: IdleClock;
  private stopping: Promise<void> | undefined;
  private failedRead: Promise<number> | undefined;

  constructor(options: PulseOptions) {
    const s = options.settings;
    const names = pulseNames(
      s.PULSE_USERNAME,
      s.PULSE_QUEUE_NAME,
      options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
    );
    this.names = names;
    const retryMaxAgeMs =
      options.retryMaxAgeMs ?? (s.RETRY_MAX_HOURS ?? DEFAULT_RETRY_MAX_HOURS) * 3_600_000;
    this.replay = options.queue === 'failed' ? new ReplayRun() : undefined;
    this.replayed = this.replay?.finished ?? new Promise<void>(() => {});
    const { replay, taken: inFlight, counters, settled } = this;
    this.link = new PulseLink(
      s,
      names,
      options.reconnectSeconds ?? 5,
      options.heartbeatSeconds ?? 30,
    );
    const link = this.link;
    const failedDepth = () => this.failedDepth();
    const parts = { link, options, replay, inFlight, counters };
    const settler = new Settler({ ...parts, names, retryMaxAgeMs, settled, failedDepth });
    const queue = replay !== undefined ? names.failedQueue : names.queue;
    const { settlements } = this;
    this.consumer = new PulseConsumer({ ...parts, queue, settler, settlements });
    this.jobs = this.consumer.jobs;
    const consumer = this.consumer;
    this.idleClock = new IdleClock(() => consumer.lastDeliveryAt);
  }

  /**
   * Waits for the first connection and the queues, or fails (bad credentials, an exchange that
   * does not exist, a queue the user may not create) within `timeoutMs`.
   */
  async ready(timeoutMs = 30_000): Promise<void> {
    await this.link.ready(timeoutMs);
    if (this.replay !== undefined) this.replay.start(await this.failedDepth());
  }

  /** How many messages --replay-failed takes: those parked when it started. */
  get replayCount(): number | undefined {
    return this.replay?.count;
  }

  /** Messages taken and not yet settled. */
  get inFlight(): number {
    return this.taken.size;
  }

  /**
   * When the last message was delivered (or consuming began), moved later by the time paused
   * for an outage since: for the worker's idle timeout, which counts only time consuming.
   */
  get lastDeliveryAt(): number {
    return this.idleClock.lastDeliveryAt;
  }

  /** True while connected and consuming now: for /healthz. */
  consuming(): boolean {
    return this.connected() && this.consumer.active;
  }

  /** True while connected, with the consumer's channel open, consuming or paused. */
  connected(): boolean {
    return this.link.up();
  }

  /** True between `pause()` and `resume()`. */
  get paused(): boolean {
    return this.consumer.paused;
  }

  /**
   * Stops taking messages while an upstream is down: the consumer is cancelled, so messages
   * wait in the queue, in their order; those in flight finish and are settled as usual, and
   * one delivered meanwhile goes straight back. Idempotent; `resume()` undoes it.
   */
  pause(): Promise<void> {
    this.idleClock.pause();
    return this.consumer.pause();
  }

  /**
   * Consumes again after `pause()`: first declares the queues again (Pulse may have deleted
   * them meanwhile), on a channel of its own so that a refusal closes only that one, then
   * starts a new consumer. Rejects when it cannot (the caller tries again later).
   */
  async resume(): Promise<void> {
    await this.consumer.resume();
    this.idleClock.resume();
  }

  /** Messages ready in the main queue and taken but not acknowledged, or undefined. */
  async depth(): Promise<{ ready: number; unacked: number } | undefined> {
    try {
      const ready = await this.link.queueDepth(this.names.queue);
      return ready === undefined ? undefined : { ready, unacked: this.taken.size };
    } catch {
      return undefined;
    }
  }

  /** Messages in the failed queue (none if Pulse deleted it); callers at once share one read. */
  failedDepth(): Promise<number> {
    const read = () => this.link.queueDepth(this.names.failedQueue).then((depth) => depth ?? 0);
    this.failedRead ??= read().finally(() => (this.failedRead = undefined));
    return this.failedRead;
  }

  /** Resolves once no message is in flight. */
  idle(): Promise<void> {
    return this.taken.idle();
  }

  /**
   * Stops consuming, lets messages in flight settle for at most `graceMs`, then closes: the
   * broker requeues whatever was not acked. Safe to call more than once.
   */
  stop(graceMs = 25_000): Promise<void> {
    this.stopping ??= (async () => {
      this.link.phase = 'stopping';
      // A consumer still being set up (a resume after an outage) may never answer while the
      // connection is down: stop all the same, the broker takes back what it delivered.
      await Promise.race([
        this.consumer.cancel(),
        sleep(CANCEL_WAIT_MS, undefined, { ref: false }),
      ]);
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), graceMs);
      });
      const drained = await Promise.race([this.idle().then(() => 'idle' as const), graceOver]);
      clearTimeout(timer);
      if (drained === 'late') {
        log.warn('messages still in flight at stop; the broker will deliver them again', {
          inFlight: this.taken.size,
        });
      }
      this.link.phase = 'closed';
      this.settled.complete();
      await this.link.close();
    })();
    return this.stopping;
  }
}
