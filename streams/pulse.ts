import amqp, {
  type AmqpConnectionManager,
  type Channel,
  type ChannelWrapper,
} from 'amqp-connection-manager';
import type { Channel as AmqpChannel, ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Observable, Subject } from 'rxjs';
import { DEFAULT_RETRY_MAX_HOURS, type PulseSettings } from '../src/codecs/settings.js';
import { describeError } from '../src/errors.js';
import { log } from '../src/log.js';
import { failureLines, type Job, type JobOutcome } from '../src/pipeline/job.js';
import { parkedQueueDepth } from './parkedQueue.js';
import { pulseConnectOptions } from './pulseConnection.js';
import { readPulseMessage } from './pulseMessage.js';
import { DEFAULT_RETRY_DELAYS_MS, pulseNames, type PulseNames } from './pulseNames.js';
import {
  ATTEMPT_HEADER,
  copiedHeaders,
  copiedProperties,
  declareRetryQueues,
  FIRST_FAILURE_HEADER,
  PUBLISH_ID_HEADER,
  retryStateOf,
  stepFor,
} from './pulseRetry.js';
import { verdictFor, type ParkReason, type Verdict } from './pulseVerdict.js';

export interface PulseOptions {
  readonly settings: PulseSettings;
  /** Hosts a message's `repo_url` may name. */
  readonly allowedHosts: readonly string[];
  readonly prefetch: number;
  /** `failed` replays the failed queue (--replay-failed). */
  readonly queue?: 'main' | 'failed';
  /** `--no-send`: messages are never acked; they return to the queue when the worker stops. */
  readonly hold?: boolean;
  readonly heartbeatSeconds?: number;
  readonly reconnectSeconds?: number;
  /** How long a deferred message waits before it goes back to the queue (default 2 s). */
  readonly deferMs?: number;
  /**
   * The wait before each retry, one delay queue each (default 30 s, 2 min, 10 min, 30 min,
   * 1 h; the last repeats). A queue's TTL cannot change once declared (PRECONDITION_FAILED):
   * other delays need other queue names, or the delay queues deleted first.
   */
  readonly retryDelaysMs?: readonly number[];
  /** How long after its first failure a message is still retried (default RETRY_MAX_HOURS). */
  readonly retryMaxAgeMs?: number;
  /**
   * False when the job failed while one of its hosts is known to be down (a circuit breaker
   * is open): the message then goes back to the queue after the defer pause, not an attempt.
   */
  readonly hostsUp?: (result: JobOutcome) => boolean;
  /** For tests only: runs between a message's park (or retry) and its ack. */
  readonly testHooks?: {
    readonly afterPark?: () => Promise<void>;
    readonly afterRetry?: () => Promise<void>;
    /** Runs in the consume callback before the body is read: a throw here is any throw there. */
    readonly beforeRead?: (message: ConsumeMessage) => void;
  };
}

/** What became of one message: the line a log and the metrics are made of. */
export interface Settlement {
  readonly label: string;
  /** `skip`: acked without work; `hold`: left unacked (--no-send). */
  readonly action: Verdict | 'skip' | 'hold';
  /** Why it was skipped or parked without reaching the pipeline. */
  readonly reason?: string;
  /** The job's outcome, for messages that reached the pipeline. */
  readonly result?: JobOutcome;
  /** `park`: why, in one word. */
  readonly parkReason?: ParkReason;
  /** `retry`: the attempt that failed (1 for the first) and the delay before the next. */
  readonly retry?: { readonly attempt: number; readonly step: string; readonly delayMs: number };
}

export interface PulseCounters {
  received: number;
  acked: number;
  requeued: number;
  deferred: number;
  parked: number;
  /** Parked, then their channel closed before the ack: a copy is parked and they come back. */
  parkedTwice: number;
  /** Sent to a delay queue, to come back later. */
  retried: number;
  /** Sent to a delay queue, then their channel closed before the ack: they come back twice. */
  retriedTwice: number;
}

/** What a message carries to its settlement besides the verdict. */
interface Detail {
  readonly reason?: string;
  readonly result?: JobOutcome;
  readonly parkReason?: ParkReason;
}

interface Delivery {
  readonly message: ConsumeMessage;
  /** Which channel it came on: an ack on a later channel would be refused and close it. */
  readonly generation: number;
  readonly label: string;
}

/** Marks the messages a replay parks again, so the same replay knows them when they come back. */
const REPLAY_RUN_HEADER = 'x-replay-run';

/** How long `stop()` waits for the broker to confirm the consumer is cancelled. */
const CANCEL_WAIT_MS = 5_000;

/**
 * The always-on worker's source: a durable Pulse queue bound to the hgpush exchange, consumed
 * through amqp-connection-manager, which reconnects by itself. Every (re)connect checks the
 * exchange passively, asserts and binds the queues, and resumes consuming.
 *
 * Each message is read here: a push becomes a job; any other message is settled at once
 * (skipped and acked, or parked when it cannot be read). A job's outcome comes back through
 * `settle`, which acks, retries later (a copy to a delay queue, pulseRetry.ts), defers, or
 * parks (a copy to the failed queue); a copy is confirmed by the broker before the ack.
 * Lifecycle: `ready()`, subscribe to `jobs` (one subscriber;
 * unsubscribing stops consuming), `stop()`.
 */
export class PulseSource {
  readonly counters: PulseCounters = {
    received: 0,
    acked: 0,
    requeued: 0,
    deferred: 0,
    parked: 0,
    parkedTwice: 0,
    retried: 0,
    retriedTwice: 0,
  };
  lastDeliveryAt = Date.now();
  readonly names: PulseNames;
  private readonly settled = new Subject<Settlement>();
  /** Every message, as it is settled. */
  readonly settlements: Observable<Settlement> = this.settled.asObservable();
  private readonly connection: AmqpConnectionManager;
  private readonly channel: ChannelWrapper;
  private readonly publisher: ChannelWrapper;
  private readonly deliveries = new Map<Job, Delivery>();
  /** Messages taken and not yet settled, jobs or not (held --no-send messages are settled). */
  private pending = 0;
  private whenIdle: (() => void)[] = [];
  /** Setups of the consumer channel so far; a delivery remembers the one it came on. */
  private generation = 0;
  private publisherGeneration = 0;
  private channelOpen = false;
  private subscriber: { next: (job: Job) => void } | undefined;
  private consumerTag: Promise<string | undefined> | undefined;
  private stopping: Promise<void> | undefined;
  private closed = false;
  /** For --replay-failed: how many messages were parked at start, and this run's mark. */
  private replay: { count: number; run: string; done: () => void } | undefined;
  /** Resolves once a replay has taken every message parked at its start. */
  readonly replayed: Promise<void>;
  private readonly retryMaxAgeMs: number;
  /** Publish ids of the retries the broker returned (no delay queue bound: Pulse deleted it). */
  private readonly returned = new Set<string>();
  private redeclaring: Promise<boolean> | undefined;
  /** Set by `pause()`, cleared by `resume()`: no consumer wanted (an upstream is down). */
  private holding = false;
  /** Pauses and resumes, one after the other. */
  private flow: Promise<void> = Promise.resolve();

  constructor(private readonly options: PulseOptions) {
    const s = options.settings;
    this.names = pulseNames(
      s.PULSE_USERNAME,
      s.PULSE_QUEUE_NAME,
      options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
    );
    this.retryMaxAgeMs =
      options.retryMaxAgeMs ?? (s.RETRY_MAX_HOURS ?? DEFAULT_RETRY_MAX_HOURS) * 3_600_000;
    let replayDone: () => void = () => {};
    this.replayed = new Promise((resolve) => (replayDone = resolve));
    if (options.queue === 'failed') this.replay = { count: 0, run: randomUUID(), done: replayDone };
    this.connection = amqp.connect([pulseConnectOptions(s, options.heartbeatSeconds ?? 30)], {
      heartbeatIntervalInSeconds: options.heartbeatSeconds ?? 30,
      reconnectTimeInSeconds: options.reconnectSeconds ?? 5,
    });
    const broker = `${s.PULSE_HOST}:${s.PULSE_PORT}`;
    this.connection.on('connect', () => log.info('connected to Pulse', { broker }));
    this.connection.on('disconnect', ({ err }) =>
      log.warn('disconnected from Pulse; reconnecting', { broker, error: err }),
    );
    this.connection.on('connectFailed', ({ err }) =>
      log.warn('cannot connect to Pulse; retrying', { broker, error: err }),
    );
    this.channel = this.connection.createChannel({
      name: 'consumer',
      json: false,
      setup: (channel: Channel) => this.setup(channel),
    });
    this.publisher = this.connection.createChannel({
      name: 'parking',
      json: false,
      confirm: true,
      setup: (channel: Channel) => {
        const generation = ++this.publisherGeneration;
        channel.once('close', () => this.reopenLater(() => this.publisherGeneration, generation));
        // A mandatory message no queue takes comes back before its confirm: noted here, the
        // publisher finds it once the confirm arrives.
        channel.on('return', (message: ConsumeMessage) => {
          const headers = message.properties.headers as Record<string, unknown> | undefined;
          const id = headers?.[PUBLISH_ID_HEADER];
          if (typeof id === 'string') this.returned.add(id);
        });
      },
    });
    for (const wrapper of [this.channel, this.publisher]) {
      wrapper.on('error', (error: Error) => log.error('Pulse channel error', { error }));
    }
  }

  /** Jobs, one per delivered push message. Subscribing consumes; unsubscribing stops it. */
  readonly jobs: Observable<Job> = new Observable<Job>((subscriber) => {
    if (this.subscriber !== undefined) {
      subscriber.error(new Error('a PulseSource has one consumer: its jobs are already taken'));
      return;
    }
    this.subscriber = subscriber;
    const queue = this.replay !== undefined ? this.names.failedQueue : this.names.queue;
    const consumerTag = this.channel
      .consume(queue, (message) => this.deliver(message), { prefetch: this.options.prefetch })
      .then(
        ({ consumerTag }) => consumerTag,
        (error: unknown) => {
          subscriber.error(error);
          return undefined;
        },
      );
    this.consumerTag = consumerTag;
    const completeOnStop = this.settled.subscribe({ complete: () => subscriber.complete() });
    return () => {
      completeOnStop.unsubscribe();
      this.subscriber = undefined;
      void this.cancelConsumer();
    };
  });

  /**
   * Waits for the first connection and the queues, or fails (bad credentials, an exchange that
   * does not exist, a queue the user may not create) within `timeoutMs`.
   */
  async ready(timeoutMs = 30_000): Promise<void> {
    let fail: (error: Error) => void = () => {};
    const failed = new Promise<never>((_, reject) => {
      fail = reject;
    });
    failed.catch(() => undefined);
    const timer = setTimeout(
      () => fail(new Error(`no connection within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    this.channel.once('error', fail);
    try {
      await Promise.race([
        // connect() waits for the next 'connect' event: one that already happened (while the
        // store was opening, say) would never come again.
        (this.connection.isConnected()
          ? Promise.resolve()
          : this.connection.connect({ timeout: timeoutMs })
        ).then(() => this.channel.waitForConnect()),
        failed,
      ]);
    } finally {
      clearTimeout(timer);
      this.channel.off('error', fail);
    }
    if (this.replay !== undefined) {
      this.replay.count = await this.failedDepth();
      if (this.replay.count === 0) this.replay.done();
    }
  }

  /** How many messages --replay-failed takes: those parked when it started. */
  get replayCount(): number | undefined {
    return this.replay?.count;
  }

  /** Messages taken and not yet settled. */
  get inFlight(): number {
    return this.pending;
  }

  /** True while connected and consuming now: for /healthz. */
  consuming(): boolean {
    return this.connected() && this.subscriber !== undefined && !this.holding;
  }

  /** True while connected, with the consumer's channel open, consuming or paused. */
  connected(): boolean {
    return this.connection.isConnected() && this.channelOpen && this.stopping === undefined;
  }

  /** True between `pause()` and `resume()`. */
  get paused(): boolean {
    return this.holding;
  }

  /**
   * Stops taking messages while an upstream is down: the consumer is cancelled, so messages
   * wait in the queue, in their order; those in flight finish and are settled as usual, and
   * one delivered meanwhile goes straight back. Idempotent; `resume()` undoes it.
   */
  pause(): Promise<void> {
    this.holding = true;
    return this.inTurn(async () => {
      if (this.holding) await this.cancelConsumer();
    });
  }

  /**
   * Consumes again after `pause()`: first declares the queues again (Pulse may have deleted
   * them meanwhile), on a channel of its own so that a refusal closes only that one, then
   * starts a new consumer. Rejects when it cannot (the caller tries again later).
   */
  resume(): Promise<void> {
    this.holding = false;
    const wanted = () =>
      !this.holding && this.subscriber !== undefined && this.stopping === undefined;
    return this.inTurn(async () => {
      if (!wanted() || this.consumerTag !== undefined) return;
      await this.declareAgain();
      if (!wanted() || this.consumerTag !== undefined) return;
      const queue = this.replay !== undefined ? this.names.failedQueue : this.names.queue;
      const consuming = this.channel
        .consume(queue, (message) => this.deliver(message), { prefetch: this.options.prefetch })
        .then(({ consumerTag }) => consumerTag);
      const tag = consuming.catch(() => undefined);
      this.consumerTag = tag;
      try {
        await consuming;
      } finally {
        if ((await tag) === undefined && this.consumerTag === tag) this.consumerTag = undefined;
      }
    });
  }

  /** Messages ready in the main queue and taken but not acknowledged, or undefined. */
  async depth(): Promise<{ ready: number; unacked: number } | undefined> {
    try {
      const ready = (await this.channel.checkQueue(this.names.queue)).messageCount;
      return { ready, unacked: this.pending };
    } catch {
      return undefined;
    }
  }

  /** Messages waiting in the failed queue (none when Pulse deleted it). */
  async failedDepth(): Promise<number> {
    return (await parkedQueueDepth(this.channel, this.names.failedQueue)) ?? 0;
  }

  /** Resolves once no message is in flight. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.whenIdle.push(resolve));
  }

  /**
   * Stops consuming, lets messages in flight settle for at most `graceMs`, then closes: the
   * broker requeues whatever was not acked. Safe to call more than once.
   */
  stop(graceMs = 25_000): Promise<void> {
    this.stopping ??= (async () => {
      // A consumer still being set up (a resume after an outage) may never answer while the
      // connection is down: stop all the same, the broker takes back what it delivered.
      await Promise.race([this.cancelConsumer(), sleep(CANCEL_WAIT_MS, undefined, { ref: false })]);
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), graceMs);
      });
      const drained = await Promise.race([this.idle().then(() => 'idle' as const), graceOver]);
      clearTimeout(timer);
      if (drained === 'late') {
        log.warn('messages still in flight at stop; the broker will deliver them again', {
          inFlight: this.pending,
        });
      }
      this.closed = true;
      this.settled.complete();
      await this.connection.close();
    })();
    return this.stopping;
  }

  /** Settles a job's message by its outcome: ack, retry later, defer, requeue or park. */
  async settle(result: JobOutcome): Promise<void> {
    const delivery = this.deliveries.get(result.job);
    if (delivery === undefined) throw new Error(`${result.job.label} is not a delivery of ours`);
    this.deliveries.delete(result.job);
    if (this.options.hold) return this.finish({ label: delivery.label, action: 'hold', result });
    // Attempts are counted in headers: a redelivery (a connection lost) is not an attempt.
    const decision = verdictFor(result, {
      // A replayed message was parked already: it gets no other try now.
      replay: this.replay !== undefined,
      firstFailureAt: retryStateOf(delivery.message).firstFailureAt,
      now: Date.now(),
      maxAgeMs: this.retryMaxAgeMs,
      hostsUp: this.options.hostsUp?.(result) ?? true,
    });
    const parkReason = decision.verdict === 'park' ? decision.parkReason : undefined;
    await this.conclude(delivery, decision.verdict, { result, parkReason });
  }

  private async cancelConsumer(): Promise<void> {
    const tag = await this.consumerTag;
    this.consumerTag = undefined;
    if (tag !== undefined) await this.channel.cancel(tag).catch(() => undefined);
  }

  private async setup(channel: Channel): Promise<void> {
    // First: from here on, deliveries of the old channel must not be acked on this one.
    const generation = ++this.generation;
    this.channelOpen = true;
    channel.once('close', () => {
      if (this.generation === generation) this.channelOpen = false;
      this.reopenLater(() => this.generation, generation);
    });
    await this.declareQueues(channel);
  }

  /** Runs `step` once the pauses and resumes before it are done. */
  private inTurn(step: () => Promise<void>): Promise<void> {
    const next = this.flow.then(step);
    this.flow = next.catch(() => undefined);
    return next;
  }

  /** The queues and exchanges again, on a channel of its own (see `resume()`). */
  private async declareAgain(): Promise<void> {
    const connection = this.connection.connection;
    if (connection === undefined) throw new Error('not connected to Pulse');
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    try {
      await this.declareQueues(channel);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  /** Every queue and exchange of ours, and the bindings: on every (re)connect and resume. */
  private async declareQueues(channel: AmqpChannel): Promise<void> {
    const s = this.options.settings;
    const { queue, failedQueue, failedExchange } = this.names;
    await channel.checkExchange(s.PULSE_EXCHANGE);
    await channel.assertQueue(queue, { durable: true, exclusive: false, autoDelete: false });
    await channel.bindQueue(queue, s.PULSE_EXCHANGE, s.PULSE_QUEUE_ROUTING_KEY);
    await channel.assertExchange(failedExchange, 'fanout', { durable: true, autoDelete: false });
    await channel.assertQueue(failedQueue, { durable: true, exclusive: false, autoDelete: false });
    await channel.bindQueue(failedQueue, failedExchange, '');
    // Pulse may have deleted any of them: declared on every (re)connect.
    await declareRetryQueues(channel, this.names);
  }

  /**
   * amqp-connection-manager reopens a closed channel only when the connection comes back. A
   * channel can close while the connection stays up (Pulse deleted the queue, the broker
   * refused an operation): then nothing would be consumed again. So if no new setup has run
   * a little later, reconnect.
   */
  private reopenLater(current: () => number, closedGeneration: number): void {
    if (this.stopping !== undefined) return;
    const delay = (this.options.reconnectSeconds ?? 5) * 1000;
    setTimeout(() => {
      if (this.stopping !== undefined || current() !== closedGeneration) return;
      if (!this.connection.isConnected()) return;
      log.warn('a Pulse channel closed while connected; reconnecting');
      this.connection.reconnect();
    }, delay).unref();
  }

  private deliver(message: ConsumeMessage): void {
    const redelivered = message.fields.redelivered;
    const { attempts } = retryStateOf(message);
    const delivery: Delivery = {
      message,
      generation: this.generation,
      label:
        `message ${message.fields.deliveryTag}${redelivered ? ' (redelivered)' : ''}` +
        (attempts > 0 ? ` (retry ${attempts})` : ''),
    };
    if (this.isOwnReplay(message)) return this.endReplay(delivery);
    if (this.subscriber === undefined || this.holding) {
      // Delivered while the consumer was being cancelled (or paused): nobody would take it.
      this.channel.nack(message, false, true);
      return;
    }
    this.counters.received += 1;
    this.lastDeliveryAt = Date.now();
    this.pending += 1;
    let job: Job | undefined;
    try {
      this.options.testHooks?.beforeRead?.(message);
      const reading = readPulseMessage(message.content, this.options.allowedHosts);
      if (reading.kind === 'skip') {
        this.concludeNow(delivery, 'skip', { reason: reading.reason });
      } else if (reading.kind === 'reject') {
        this.concludeNow(delivery, 'park', { reason: reading.reason, parkReason: 'undecodable' });
      } else {
        job = { label: delivery.label, target: reading.target, receivedAt: Date.now() };
        this.deliveries.set(job, delivery);
        this.subscriber.next(job);
      }
    } catch (error) {
      // A throw out of the consume callback reaches amqplib, which closes the channel: the
      // message would come back first, throw again, and hold up the queue for ever.
      if (job !== undefined) this.deliveries.delete(job);
      const reason = `could not read the message: ${describeError(error)}`;
      this.concludeNow(delivery, 'park', { reason, parkReason: 'undecodable' });
    }
  }

  /** Settles a message that never became a job; a failure to is logged, never thrown. */
  private concludeNow(delivery: Delivery, verdict: Verdict | 'skip', detail: Detail): void {
    this.conclude(delivery, verdict, detail).catch((error: unknown) =>
      log.error('could not settle a message; the broker will deliver it again', {
        job: delivery.label,
        error,
      }),
    );
  }

  /** A message this replay parked again has come round: every earlier one was taken. */
  private isOwnReplay(message: ConsumeMessage): boolean {
    const headers = message.properties.headers as Record<string, unknown> | undefined;
    return this.replay !== undefined && headers?.[REPLAY_RUN_HEADER] === this.replay.run;
  }

  private endReplay(delivery: Delivery): void {
    void this.cancelConsumer();
    if (delivery.generation === this.generation) {
      this.channel.nack(delivery.message, false, true);
    }
    void this.idle().then(() => this.replay?.done());
  }

  private async conclude(
    delivery: Delivery,
    verdict: Verdict | 'skip',
    detail: Detail,
  ): Promise<void> {
    let action = verdict;
    let retry: Settlement['retry'];
    if (action === 'park' && !(await this.park(delivery, detail))) action = 'requeue';
    if (action === 'retry') {
      retry = await this.retry(delivery, detail);
      if (retry === undefined) action = 'requeue';
    }
    // A pause, so that a message waiting on another process's claim, on hosts that are down,
    // or on a copy that could not be made, does not spin.
    if (action === 'defer' || action === 'requeue') await sleep(this.options.deferMs ?? 2000);
    if (this.closed || !this.channelOpen || delivery.generation !== this.generation) {
      if (action === 'park' || action === 'retry') {
        // The copy is in the failed queue, or a delay queue, and the broker will deliver the
        // message again: both will be processed. Rare (the channel closed in between), never
        // a loss, and the ledger keeps the second from sending anything twice.
        if (action === 'park') this.counters.parkedTwice += 1;
        else this.counters.retriedTwice += 1;
        const done = action === 'park' ? 'parked' : 'sent to a delay queue';
        log.warn(`${done}, but its channel closed before the ack: it will come back too`, {
          job: delivery.label,
        });
      } else {
        log.warn('its channel closed before the ack; the broker will deliver it again', {
          job: delivery.label,
        });
      }
      const { reason, result } = detail;
      return this.finish({ label: delivery.label, action: 'requeue', reason, result });
    }
    if (action === 'defer' || action === 'requeue') {
      this.channel.nack(delivery.message, false, true);
      if (action === 'defer') this.counters.deferred += 1;
      else this.counters.requeued += 1;
    } else {
      this.channel.ack(delivery.message);
      if (action === 'park') this.counters.parked += 1;
      else if (action === 'retry') this.counters.retried += 1;
      else this.counters.acked += 1;
    }
    const { parkReason, ...rest } = detail;
    this.finish({
      label: delivery.label,
      action,
      ...rest,
      ...(action === 'park' ? { parkReason } : {}),
      ...(retry === undefined ? {} : { retry }),
    });
  }

  private finish(settlement: Settlement): void {
    this.pending -= 1;
    this.settled.next(settlement);
    if (this.pending === 0) {
      const waiting = this.whenIdle;
      this.whenIdle = [];
      for (const resolve of waiting) resolve();
      if (this.replay !== undefined) void this.checkReplayDone();
    }
  }

  private async checkReplayDone(): Promise<void> {
    const left = await this.failedDepth().catch(() => undefined);
    if (left === 0 && this.pending === 0) this.replay?.done();
  }

  /**
   * Copies the message to the failed queue and waits for the broker's confirm; the caller
   * then acks. Answers false when the copy could not be made (the message is requeued).
   */
  private async park(delivery: Delivery, detail: Detail): Promise<boolean> {
    const { message } = delivery;
    // Its channel is gone: the broker redelivers it anyway, so a copy now would be a duplicate.
    if (delivery.generation !== this.generation) return false;
    try {
      await this.publisher.publish(this.names.failedExchange, '', message.content, {
        ...copiedProperties(message),
        persistent: true,
        headers: {
          ...copiedHeaders(message, this.names),
          'x-error': parkedText(detail, this.retryMaxAgeMs).slice(0, 4000),
          'x-parked-at': new Date().toISOString(),
          ...(detail.parkReason === undefined ? {} : { 'x-park-reason': detail.parkReason }),
          ...(this.replay !== undefined ? { [REPLAY_RUN_HEADER]: this.replay.run } : {}),
        },
      });
      await this.options.testHooks?.afterPark?.();
      return true;
    } catch (error) {
      log.error('could not park a message; requeueing it', { job: delivery.label, error });
      return false;
    }
  }

  /**
   * Sends a copy to the delay queue of its next attempt, with the attempts counted in its
   * headers, and waits for the broker's confirm; the caller then acks. The copy is mandatory:
   * if Pulse deleted the delay queue, the broker returns it, and then the queues are declared
   * again and the copy sent once more. Answers undefined when no copy was made (requeued).
   */
  private async retry(delivery: Delivery, detail: Detail): Promise<Settlement['retry']> {
    const { message } = delivery;
    // Its channel is gone: the broker redelivers it anyway, so a copy now would be a duplicate.
    if (delivery.generation !== this.generation) return undefined;
    const state = retryStateOf(message);
    const attempt = state.attempts + 1;
    const step = stepFor(this.names.retrySteps, attempt);
    const headers = {
      ...copiedHeaders(message, this.names),
      [ATTEMPT_HEADER]: attempt,
      [FIRST_FAILURE_HEADER]: new Date(state.firstFailureAt ?? Date.now()).toISOString(),
      'x-error': errorText(detail).slice(0, 4000),
    };
    const send = () => this.publishMandatory(this.names.delayExchange, step.name, message, headers);
    try {
      let routed = await send();
      if (!routed) {
        log.warn('no delay queue took the retry (deleted?); declaring the queues again', {
          job: delivery.label,
          queue: step.queue,
        });
        routed = (await this.redeclareRetryQueues()) && (await send());
      }
      if (!routed) {
        log.error('no delay queue took the retry; requeueing it', { job: delivery.label });
        return undefined;
      }
      await this.options.testHooks?.afterRetry?.();
      return { attempt, step: step.name, delayMs: step.delayMs };
    } catch (error) {
      log.error('could not send a message to its delay queue; requeueing it', {
        job: delivery.label,
        error,
      });
      return undefined;
    }
  }

  /** Publishes with a confirm; answers false when the broker returned it: no queue took it. */
  private async publishMandatory(
    exchange: string,
    routingKey: string,
    message: ConsumeMessage,
    headers: Record<string, unknown>,
  ): Promise<boolean> {
    const id = randomUUID();
    try {
      await this.publisher.publish(exchange, routingKey, message.content, {
        ...copiedProperties(message),
        persistent: true,
        mandatory: true,
        headers: { ...headers, [PUBLISH_ID_HEADER]: id },
      });
      return !this.returned.has(id);
    } finally {
      this.returned.delete(id);
    }
  }

  /**
   * Every queue again, on a channel of its own so that a refusal (PRECONDITION_FAILED) closes
   * only that one; once for all the retries returned meanwhile. Answers whether it could.
   */
  private redeclareRetryQueues(): Promise<boolean> {
    this.redeclaring ??= this.declareAgain()
      .then(
        () => true,
        (error: unknown) => {
          log.error('could not declare the retry queues again', { error });
          return false;
        },
      )
      .finally(() => {
        this.redeclaring = undefined;
      });
    return this.redeclaring;
  }
}

/** What a parked or retried copy says went wrong. */
const errorText = (detail: Detail): string =>
  detail.result !== undefined ? failureLines(detail.result).join('\n') : (detail.reason ?? '');

/** A parked copy's error; one parked for its age says how long it kept failing, and why. */
const parkedText = (detail: Detail, maxAgeMs: number): string => {
  if (detail.parkReason !== 'too_old') return errorText(detail);
  const age =
    maxAgeMs >= 3_600_000
      ? `${maxAgeMs / 3_600_000} hours`
      : maxAgeMs >= 1000
        ? `${maxAgeMs / 1000} s`
        : `${maxAgeMs} ms`;
  return `still failing ${age} after its first failure (RETRY_MAX_HOURS); the last try:\n${errorText(detail)}`;
};
