import amqp, {
  type AmqpConnectionManager,
  type Channel,
  type ChannelWrapper,
} from 'amqp-connection-manager';
import type { ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import type { PulseSettings } from '../../../src/codecs/settings.js';
import { log } from '../../../src/log.js';
import { LOGIN_REFUSED, pulseConnectOptions, waitForPulse } from './connectOptions.js';
import type { PulseNames } from './names.js';
import { copiedProperties, PUBLISH_ID_HEADER, upgradeRetryExchange } from '../retry.js';
import { declareOnOwnChannel, declareQueues, queueDepthOnOwnChannel } from './topology.js';

/**
 * Where the link is in its life. Within `running`, the connection is up or being retried
 * (amqp-connection-manager reconnects by itself), and the consumer's channel is open or not:
 * each setup of that channel is a new `generation`, declares every queue first, and a
 * delivery keeps the generation it came on, since an ack on a later channel would be refused.
 * A channel that closes while the connection stays up is not reopened by the library: the
 * link then reconnects (`reopenLater`). `stopping`: no reconnect is forced any more, and the
 * link no longer counts as connected; `closed`: nothing is acked or nacked any more.
 */
export type LinkPhase = 'running' | 'stopping' | 'closed';

type Headers = Record<string, unknown>;

/** The connection to Pulse: a consumer channel, and a confirming one for copies (park, retry). */
export class PulseLink {
  phase: LinkPhase = 'running';
  /** Setups of the consumer channel so far; a delivery remembers the one it came on. */
  generation = 0;
  private channelOpen = false;
  /** While ready() waits for the first connection. */
  private awaitingReady = false;
  private publisherGeneration = 0;
  /** Publish ids of the copies the broker returned (no queue took them: Pulse deleted it). */
  private readonly returned = new Set<string>();
  private redeclaring: Promise<boolean> | undefined;
  private readonly connection: AmqpConnectionManager;
  readonly channel: ChannelWrapper;
  private readonly publisher: ChannelWrapper;

  constructor(
    private readonly settings: PulseSettings,
    private readonly names: PulseNames,
    private readonly reconnectSeconds: number,
    heartbeatSeconds: number,
  ) {
    this.connection = amqp.connect([pulseConnectOptions(settings, heartbeatSeconds)], {
      heartbeatIntervalInSeconds: heartbeatSeconds,
      reconnectTimeInSeconds: reconnectSeconds,
    });
    const broker = `${settings.PULSE_HOST}:${settings.PULSE_PORT}`;
    this.connection.on('connect', () => log.info('connected to Pulse', { broker }));
    this.connection.on('disconnect', ({ err }) =>
      log.warn('disconnected from Pulse; reconnecting', { broker, error: err }),
    );
    this.connection.on('connectFailed', ({ err }) => {
      // A refused login while ready() waits ends the start at once, with this cause: said once.
      if (this.awaitingReady && LOGIN_REFUSED.test(err.message)) return;
      log.warn('cannot connect to Pulse; retrying', { broker, error: err });
    });
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

  /** Waits for the first connection and the queues, or fails naming why (waitForPulse). */
  async ready(timeoutMs: number): Promise<void> {
    this.awaitingReady = true;
    try {
      await waitForPulse(this.connection, this.channel, timeoutMs);
    } finally {
      this.awaitingReady = false;
    }
  }

  /** Connected, with the consumer's channel open, and not stopping. */
  up(): boolean {
    return this.connection.isConnected() && this.channelOpen && this.phase === 'running';
  }

  /** A delivery of this generation can still be acked or nacked. */
  current(generation: number): boolean {
    return this.phase !== 'closed' && this.channelOpen && generation === this.generation;
  }

  /** The queues and exchanges again, on a channel of its own (see `PulseConsumer.resume()`). */
  declareAgain(): Promise<void> {
    return declareOnOwnChannel(this.connection, this.settings, this.names);
  }

  /** A queue's depth, undefined when Pulse deleted it: asked on a channel of its own. */
  queueDepth(name: string): Promise<number | undefined> {
    return queueDepthOnOwnChannel(this.connection, name);
  }

  /**
   * Publishes a copy (a park, a retry), mandatory, confirmed. One Pulse deleted the queue of
   * (a delay queue; the failed queue, which only grows) comes back, routed nowhere: every
   * queue is declared again and the copy sent once more. Answers whether a queue took it.
   */
  async copy(exchange: string, key: string, message: ConsumeMessage, headers: Headers) {
    if (await this.publish(exchange, key, message, headers)) return true;
    log.warn('no queue took a copy (deleted?); declaring the queues again', { exchange });
    return (await this.redeclare()) && (await this.publish(exchange, key, message, headers));
  }

  /** Every queue again, once for all the copies returned meanwhile. Answers whether it could. */
  private redeclare(): Promise<boolean> {
    this.redeclaring ??= this.declareAgain()
      .then(
        () => true,
        (error: unknown) => {
          log.error('could not declare the queues again', { error });
          return false;
        },
      )
      .finally(() => {
        this.redeclaring = undefined;
      });
    return this.redeclaring;
  }

  /** Publishes a copy, mandatory, confirmed; answers false when it came back (no queue). */
  private async publish(exchange: string, key: string, message: ConsumeMessage, headers: Headers) {
    const id = randomUUID();
    try {
      await this.publisher.publish(exchange, key, message.content, {
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

  close(): Promise<void> {
    return this.connection.close();
  }

  private async setup(channel: Channel): Promise<void> {
    // First: from here on, deliveries of the old channel must not be acked on this one.
    const generation = ++this.generation;
    this.channelOpen = true;
    channel.once('close', () => {
      if (this.generation === generation) this.channelOpen = false;
      this.reopenLater(() => this.generation, generation);
    });
    const connection = this.connection.connection;
    if (connection !== undefined) await upgradeRetryExchange(connection, this.names);
    await declareQueues(channel, this.settings, this.names);
  }

  /**
   * amqp-connection-manager reopens a closed channel only when the connection comes back. A
   * channel can close while the connection stays up (Pulse deleted the queue, the broker
   * refused an operation): then nothing would be consumed again. So if no new setup has run
   * a little later, reconnect.
   */
  private reopenLater(current: () => number, closedGeneration: number): void {
    if (this.phase !== 'running') return;
    setTimeout(() => {
      if (this.phase !== 'running' || current() !== closedGeneration) return;
      if (!this.connection.isConnected()) return;
      log.warn('a Pulse channel closed while connected; reconnecting');
      this.connection.reconnect();
    }, this.reconnectSeconds * 1000).unref();
  }
}
