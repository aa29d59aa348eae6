import amqplib, { type Channel, type ChannelModel } from 'amqplib';
import type { PulseSettings } from '../../../src/codecs/settings.js';
import type { ParkedMessage } from './parkedMessage.js';
import { pulseConnectOptions } from '../connection/connectOptions.js';
import { pulseNames } from '../connection/names.js';
import { queueDepth } from '../connection/topology.js';

/** How long connecting may take: an operator waits for the answer. */
const CONNECT_TIMEOUT_MS = 15_000;
/** Keeps the connection up while an operator thinks about a prompt. */
const HEARTBEAT_SECONDS = 30;

/**
 * How many messages are parked: the failed queue's depth, by a passive declare (queueDepth).
 * Undefined when the queue does not exist (nothing was ever parked, or Pulse deleted it). The
 * worker's metric, the status command and --list-failed all count the parked messages so.
 */
export const parkedQueueDepth = queueDepth;

/**
 * The failed queue, for an operator: one plain connection (no reconnecting: a failure is
 * reported, not waited out). `take()` gets the messages with basic.get and holds them unacked,
 * so that nobody else takes them meanwhile; then `drop()` acks them, or `close()` gives them
 * back, in their order (the broker requeues a message where it was). Only as many as the
 * queue held when it was opened are taken: those parked later are never touched, and the
 * reading ends.
 */
export class ParkedQueue {
  private held = 0;

  private constructor(
    private readonly connection: ChannelModel,
    /** Undefined when the queue does not exist: nothing was ever parked. */
    private readonly channel: Channel | undefined,
    readonly name: string,
    /** The messages the queue held when it was opened. */
    readonly count: number,
  ) {}

  /** Connects and counts the parked messages; rejects with the broker's or network's reason. */
  static async open(settings: PulseSettings): Promise<ParkedQueue> {
    const name = pulseNames(settings.PULSE_USERNAME, settings.PULSE_QUEUE_NAME).failedQueue;
    const connection = await amqplib.connect(pulseConnectOptions(settings, HEARTBEAT_SECONDS), {
      timeout: CONNECT_TIMEOUT_MS,
    });
    // A closed channel or connection is reported by the call that meets it; these would crash.
    connection.on('error', () => undefined);
    try {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      // A missing queue (a 404, which closes the channel) is an empty one, not made.
      const count = await parkedQueueDepth(channel, name);
      if (count === undefined) return new ParkedQueue(connection, undefined, name, 0);
      return new ParkedQueue(connection, channel, name, count);
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
  }

  /** Takes the messages counted at opening, oldest first, and holds them. */
  async take(): Promise<ParkedMessage[]> {
    const taken: ParkedMessage[] = [];
    while (this.channel !== undefined && taken.length < this.count) {
      const message = await this.channel.get(this.name, { noAck: false });
      // Fewer than counted: another consumer (a --replay-failed) took some meanwhile.
      if (message === false) break;
      const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
      taken.push({ content: message.content, headers });
    }
    this.held = taken.length;
    return taken;
  }

  /**
   * Removes the messages held, and answers how many. A question to the broker after the ack
   * makes sure it took the ack: a channel that closed meanwhile (the broker's delivery timeout)
   * makes it reject, and then the broker has given the messages back to the queue.
   */
  async drop(): Promise<number> {
    if (this.channel === undefined || this.held === 0) return 0;
    this.channel.ackAll();
    await this.channel.checkQueue(this.name);
    const dropped = this.held;
    this.held = 0;
    return dropped;
  }

  /** Gives back whatever is held (in its order) and closes. Safe to call more than once. */
  async close(): Promise<void> {
    if (this.channel !== undefined && this.held > 0) {
      this.held = 0;
      try {
        this.channel.nackAll(true);
      } catch {
        // The channel is closed already: the broker gave them back then.
      }
    }
    await this.channel?.close().catch(() => undefined);
    await this.connection.close().catch(() => undefined);
  }
}
