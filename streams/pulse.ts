import amqp, {
  type AmqpConnectionManager,
  type Channel,
  type ChannelWrapper,
} from 'amqp-connection-manager';
import type { ConsumeMessage } from 'amqplib';
import { Observable, Subject } from 'rxjs';
import type { PulseSettings } from '../src/codecs/settings.js';
import { describeError } from '../src/errors.js';
import { log } from '../src/log.js';
import { failureLines, type Job, type JobOutcome } from '../src/pipeline/job.js';
import { pulseNames, verdictFor, type PulseNames, type Verdict } from '../src/rules/pulse.js';

export interface PulseOptions {
  readonly settings: PulseSettings;
  readonly prefetch: number;
  /** `failed` replays the failed queue (--replay-failed): only what is parked at start. */
  readonly queue?: 'main' | 'failed';
  /** `--no-send`: messages are never acked; they return to the queue when the worker stops. */
  readonly hold?: boolean;
  /** Told of every settled message and what was done with it: for logs and metrics. */
  readonly onSettled?: (result: JobOutcome, verdict: Verdict) => void;
  readonly heartbeatSeconds?: number;
  readonly reconnectSeconds?: number;
}

export interface PulseCounters {
  received: number;
  acked: number;
  requeued: number;
  parked: number;
}

interface Delivery {
  readonly message: ConsumeMessage;
  /** Which channel it came on: an ack on a later channel would be refused and close it. */
  readonly generation: number;
}

/**
 * The always-on worker's source: a durable Pulse queue bound to the hgpush exchange, consumed
 * through amqp-connection-manager, which reconnects by itself. Every (re)connect checks the
 * exchange passively, asserts and binds the queues, and resumes consuming. Each message is
 * one job, settled by ack, requeue, or park (copied to the failed queue with a publisher
 * confirm, then acked). Lifecycle: `ready()`, `jobs` (subscribe to consume), `stop()`.
 */
export class PulseSource {
  readonly counters: PulseCounters = { received: 0, acked: 0, requeued: 0, parked: 0 };
  /** Messages delivered and not yet settled (held --no-send messages are not counted). */
  inFlight = 0;
  lastDeliveryAt = Date.now();
  readonly names: PulseNames;
  private readonly connection: AmqpConnectionManager;
  private readonly channel: ChannelWrapper;
  private readonly publisher: ChannelWrapper;
  private readonly deliveries = new Subject<Job>();
  /** Setups of the consumer channel so far; a delivery remembers the one it came on. */
  private generation = 0;
  private publisherGeneration = 0;
  /** For --replay-failed: how many messages to take, counted when ready. */
  private limit: number | undefined = undefined;
  private consuming: Promise<string | undefined> | undefined;
  private stopping: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: PulseOptions) {
    const s = options.settings;
    this.names = pulseNames(s.PULSE_USERNAME, s.PULSE_QUEUE_NAME);
    // Credentials go in an object, never in a URL that could end up in a log line.
    this.connection = amqp.connect(
      [
        {
          protocol: s.PULSE_SSL ? 'amqps' : 'amqp',
          hostname: s.PULSE_HOST,
          port: s.PULSE_PORT,
          username: s.PULSE_USERNAME,
          password: s.PULSE_PASSWORD,
          vhost: s.PULSE_VHOST,
          heartbeat: options.heartbeatSeconds ?? 30,
        },
      ],
      {
        heartbeatIntervalInSeconds: options.heartbeatSeconds ?? 30,
        reconnectTimeInSeconds: options.reconnectSeconds ?? 5,
      },
    );
    this.connection.on('connect', () => log.info(`connected to ${s.PULSE_HOST}:${s.PULSE_PORT}`));
    this.connection.on('disconnect', ({ err }) =>
      log.warn(`disconnected from Pulse (${describeError(err)}); reconnecting`),
    );
    this.connection.on('connectFailed', ({ err }) =>
      log.warn(`cannot connect to Pulse: ${describeError(err)}; retrying`),
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
      },
    });
    for (const wrapper of [this.channel, this.publisher]) {
      wrapper.on('error', (err: Error) => log.error(`Pulse channel error: ${describeError(err)}`));
    }
  }

  /** Jobs, one per delivered message; subscribing starts consuming. */
  readonly jobs: Observable<Job> = new Observable<Job>((subscriber) => {
    const subscription = this.deliveries.subscribe(subscriber);
    const queue = this.options.queue === 'failed' ? this.names.failedQueue : this.names.queue;
    this.consuming = this.channel
      .consume(queue, (message) => this.deliver(message), { prefetch: this.options.prefetch })
      .then(
        ({ consumerTag }) => consumerTag,
        (error: unknown) => {
          subscriber.error(error);
          return undefined;
        },
      );
    return () => subscription.unsubscribe();
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
        this.connection.connect({ timeout: timeoutMs }).then(() => this.channel.waitForConnect()),
        failed,
      ]);
    } finally {
      clearTimeout(timer);
      this.channel.off('error', fail);
    }
    if (this.options.queue === 'failed') this.limit = await this.failedDepth();
  }

  /** How many messages --replay-failed takes: those parked when it started. */
  get replayCount(): number | undefined {
    return this.limit;
  }

  /** True while connected and consuming: for /healthz. */
  healthy(): boolean {
    return this.connection.isConnected() && !this.closed && this.generation > 0;
  }

  /** Messages waiting in the main queue, or undefined when the broker cannot say. */
  async depth(): Promise<number | undefined> {
    try {
      return (await this.channel.checkQueue(this.names.queue)).messageCount;
    } catch {
      return undefined;
    }
  }

  /** Messages waiting in the failed queue. */
  async failedDepth(): Promise<number> {
    return (await this.channel.checkQueue(this.names.failedQueue)).messageCount;
  }

  /**
   * Stops consuming, lets messages in flight settle for at most `graceMs`, then closes: the
   * broker requeues whatever was not acked. Safe to call more than once.
   */
  stop(graceMs = 25_000): Promise<void> {
    this.stopping ??= (async () => {
      const consumerTag = await this.consuming;
      if (consumerTag !== undefined) await this.channel.cancel(consumerTag).catch(() => undefined);
      const deadline = Date.now() + graceMs;
      while (this.inFlight > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (this.inFlight > 0) {
        log.warn(`${this.inFlight} messages still in flight; the broker will redeliver them`);
      }
      this.closed = true;
      this.deliveries.complete();
      await this.connection.close();
    })();
    return this.stopping;
  }

  private async setup(channel: Channel): Promise<void> {
    // First: from here on, deliveries of the old channel must not be acked on this one.
    const generation = ++this.generation;
    channel.once('close', () => this.reopenLater(() => this.generation, generation));
    const s = this.options.settings;
    const { queue, failedQueue, failedExchange } = this.names;
    await channel.checkExchange(s.PULSE_EXCHANGE);
    await channel.assertQueue(queue, { durable: true, exclusive: false, autoDelete: false });
    await channel.bindQueue(queue, s.PULSE_EXCHANGE, s.PULSE_QUEUE_ROUTING_KEY);
    await channel.assertExchange(failedExchange, 'fanout', { durable: true, autoDelete: false });
    await channel.assertQueue(failedQueue, { durable: true, exclusive: false, autoDelete: false });
    await channel.bindQueue(failedQueue, failedExchange, '');
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
    // Past the limit a message is left unacked: the broker hands it back when we close.
    if (this.limit !== undefined && this.counters.received >= this.limit) return;
    const delivery: Delivery = { message, generation: this.generation };
    this.counters.received += 1;
    this.lastDeliveryAt = Date.now();
    this.inFlight += 1;
    const redelivered = message.fields.redelivered;
    this.deliveries.next({
      label: `message ${message.fields.deliveryTag}${redelivered ? ' (redelivered)' : ''}`,
      input: { kind: 'message', body: message.content },
      receivedAt: Date.now(),
      settle: (result) => this.settle(delivery, result),
    });
  }

  private async settle(delivery: Delivery, result: JobOutcome): Promise<void> {
    try {
      // A replayed message was parked once already: its second chance is used up.
      const secondChance = delivery.message.fields.redelivered || this.options.queue === 'failed';
      let verdict = this.options.hold ? 'hold' : verdictFor(result, secondChance);
      if (verdict === 'park' && !(await this.park(delivery, result))) verdict = 'requeue';
      if (this.closed || delivery.generation !== this.generation) {
        log.warn(`${result.job.label}: its channel is gone; the broker will redeliver it`);
        return;
      }
      if (verdict === 'ack' || verdict === 'park') {
        this.channel.ack(delivery.message);
        this.counters[verdict === 'ack' ? 'acked' : 'parked'] += 1;
      } else if (verdict === 'requeue') {
        this.channel.nack(delivery.message, false, true);
        this.counters.requeued += 1;
      }
      this.options.onSettled?.(result, verdict);
    } finally {
      this.inFlight -= 1;
    }
  }

  /**
   * Copies the message to the failed queue and waits for the broker's confirm; the caller
   * then acks. Answers false when the copy could not be made (the message is requeued).
   */
  private async park(delivery: Delivery, result: JobOutcome): Promise<boolean> {
    const { message } = delivery;
    // Its channel is gone: the broker redelivers it anyway, so a copy now would be a duplicate.
    if (delivery.generation !== this.generation) return false;
    try {
      await this.publisher.publish(this.names.failedExchange, '', message.content, {
        persistent: true,
        contentType: message.properties.contentType as string | undefined,
        headers: {
          ...(message.properties.headers ?? {}),
          'x-routing-key': message.fields.routingKey,
          'x-exchange': message.fields.exchange,
          'x-error': failureLines(result, 'message').join('\n').slice(0, 4000),
          'x-parked-at': new Date().toISOString(),
        },
      });
      return true;
    } catch (error) {
      log.error(`${result.job.label}: could not park it (${describeError(error)}); requeueing`);
      return false;
    }
  }
}
