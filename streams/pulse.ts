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
import type { Job, JobOutcome } from '../src/pipeline/job.js';

/** What to do with a message once its job is settled. */
export type Verdict = 'ack' | 'requeue' | 'park' | 'hold';

/** Pulse's naming rules: a user may create only `queue/<user>/...` and `exchange/<user>/...`. */
export const pulseNames = (
  settings: Pick<PulseSettings, 'PULSE_USERNAME' | 'PULSE_QUEUE_NAME'>,
) => {
  const { PULSE_USERNAME: user, PULSE_QUEUE_NAME: name } = settings;
  return {
    queue: `queue/${user}/${name}`,
    failedQueue: `queue/${user}/${name}.failed`,
    failedExchange: `exchange/${user}/${name}.failed`,
  };
};

/**
 * Ack only what is done. Anything failed goes to the failed queue unless it failed for a
 * transient reason and has not been redelivered yet, in which case it gets one more try.
 */
export const verdictFor = (result: JobOutcome, redelivered: boolean): Verdict => {
  const failures = result.outcomes.filter((o) => o.status === 'failed');
  if (failures.length === 0) return 'ack';
  const transient = failures.every((o) => o.status === 'failed' && o.error.kind === 'transient');
  return transient && !redelivered ? 'requeue' : 'park';
};

export interface PulseOptions {
  readonly settings: PulseSettings;
  readonly prefetch: number;
  /** `failed` consumes the failed queue (for --replay-failed) instead of the main one. */
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
 * one job, settled by ack, requeue, or park (moved to the failed queue, confirmed, then acked).
 */
export class PulseSource {
  readonly counters: PulseCounters = { received: 0, acked: 0, requeued: 0, parked: 0 };
  /** Messages delivered and not yet settled (held --no-send messages are not counted). */
  inFlight = 0;
  lastDeliveryAt = Date.now();
  /** Take at most this many messages, then leave the rest in the queue (--replay-failed). */
  limit: number | undefined = undefined;
  readonly names: ReturnType<typeof pulseNames>;
  private readonly connection: AmqpConnectionManager;
  private readonly channel: ChannelWrapper;
  private readonly publisher: ChannelWrapper;
  private readonly deliveries = new Subject<Job>();
  private generation = 0;
  private consumerTag: string | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: PulseOptions) {
    const s = options.settings;
    this.names = pulseNames(s);
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
    this.publisher = this.connection.createChannel({ name: 'parking', json: false, confirm: true });
    for (const wrapper of [this.channel, this.publisher]) {
      wrapper.on('error', (err: Error) => log.error(`Pulse channel error: ${describeError(err)}`));
    }
  }

  /** Jobs, one per delivered message; subscribing starts consuming. */
  readonly jobs: Observable<Job> = new Observable<Job>((subscriber) => {
    const subscription = this.deliveries.subscribe(subscriber);
    const queue = this.options.queue === 'failed' ? this.names.failedQueue : this.names.queue;
    this.channel
      .consume(queue, (message) => this.deliver(message), { prefetch: this.options.prefetch })
      .then(({ consumerTag }) => {
        this.consumerTag = consumerTag;
      })
      .catch((error: unknown) => subscriber.error(error));
    return () => subscription.unsubscribe();
  });

  connected(): boolean {
    return this.connection.isConnected();
  }

  /** Waits until the first connection is up and the queues are in place. */
  async ready(timeoutMs = 30_000): Promise<void> {
    await this.connection.connect({ timeout: timeoutMs });
    await this.channel.waitForConnect();
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
      if (this.consumerTag !== undefined) {
        await this.channel.cancel(this.consumerTag).catch(() => undefined);
      }
      const deadline = Date.now() + graceMs;
      while (this.inFlight > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (this.inFlight > 0) {
        log.warn(`${this.inFlight} messages still in flight; the broker will redeliver them`);
      }
      this.deliveries.complete();
      await this.connection.close();
    })();
    return this.stopping;
  }

  private async setup(channel: Channel): Promise<void> {
    const s = this.options.settings;
    const { queue, failedQueue, failedExchange } = this.names;
    await channel.checkExchange(s.PULSE_EXCHANGE);
    await channel.assertQueue(queue, { durable: true, exclusive: false, autoDelete: false });
    await channel.bindQueue(queue, s.PULSE_EXCHANGE, s.PULSE_QUEUE_ROUTING_KEY);
    await channel.assertExchange(failedExchange, 'fanout', { durable: true, autoDelete: false });
    await channel.assertQueue(failedQueue, { durable: true, exclusive: false, autoDelete: false });
    await channel.bindQueue(failedQueue, failedExchange, '');
    this.generation += 1;
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
    const verdict = this.options.hold
      ? 'hold'
      : verdictFor(result, delivery.message.fields.redelivered);
    try {
      if (verdict === 'park') await this.park(delivery.message, result);
      if (delivery.generation !== this.generation) {
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

  /** Copies the message to the failed queue, waits for the broker's confirm; the caller acks. */
  private async park(message: ConsumeMessage, result: JobOutcome): Promise<void> {
    const errors = result.outcomes.flatMap((o) =>
      o.status === 'failed' ? [`${o.node ?? 'message'}: ${o.error.message}`] : [],
    );
    const headers = {
      ...(message.properties.headers ?? {}),
      'x-routing-key': message.fields.routingKey,
      'x-exchange': message.fields.exchange,
      'x-error': errors.join('\n').slice(0, 4000),
      'x-parked-at': new Date().toISOString(),
    };
    await this.publisher.publish(this.names.failedExchange, '', message.content, {
      persistent: true,
      contentType: message.properties.contentType as string | undefined,
      headers,
    });
  }
}
