import type { ConsumeMessage } from 'amqplib';
import { Observable } from 'rxjs';
import { describeError } from '../../src/errors.js';
import type { JobOutcome, SettlingJob } from '../../src/pipeline/job.js';
import type { InFlight } from './inFlight.js';
import type { PulseLink } from './connection/link.js';
import type { PulseOptions } from './connection/options.js';
import { messageReader, type Reading } from './messages/readers.js';
import type { ReplayRun } from './parked/replayRun.js';
import { retryStateOf } from './retry.js';
import type { Delivery, PulseCounters, Settlement } from './settlement.js';
import type { Settler } from './settler.js';

export interface ConsumerParts {
  readonly link: PulseLink;
  readonly options: PulseOptions;
  /** The queue consumed: the main one, or the failed one for a replay. */
  readonly queue: string;
  readonly replay: ReplayRun | undefined;
  readonly inFlight: InFlight;
  readonly counters: PulseCounters;
  readonly settler: Settler;
  /** Completes when the source stops: so do the jobs. */
  readonly settlements: Observable<Settlement>;
}

/**
 * Consuming: each message is read here; a push becomes a job that settles its message (ack,
 * retry, defer, park) by its outcome, any other message is settled at once (skipped and
 * acked, or parked when it cannot be read). One subscriber to `jobs`; unsubscribing, or
 * `pause()`, cancels the consumer.
 */
export class PulseConsumer {
  lastDeliveryAt = Date.now();
  private subscriber: { next: (job: SettlingJob) => void } | undefined;
  private consumerTag: Promise<string | undefined> | undefined;
  /** Set by `pause()`, cleared by `resume()`: no consumer wanted (an upstream is down). */
  private holding = false;
  /** Pauses and resumes, one after the other. */
  private flow: Promise<void> = Promise.resolve();
  /** Each message read with its exchange's codec (readers.ts). */
  private readonly read: (message: ConsumeMessage) => Reading;

  constructor(private readonly parts: ConsumerParts) {
    this.read = messageReader(parts.options);
  }

  readonly jobs: Observable<SettlingJob> = new Observable<SettlingJob>((subscriber) => {
    if (this.subscriber !== undefined) {
      subscriber.error(new Error('a PulseSource has one consumer: its jobs are already taken'));
      return;
    }
    this.subscriber = subscriber;
    // The idle time (--timeout) counts from here: connecting and opening the store, which
    // took seconds on a loaded machine, are not time in which no message came.
    this.lastDeliveryAt = Date.now();
    const consumerTag = this.consume().catch((error: unknown) => {
      subscriber.error(error);
      return undefined;
    });
    this.consumerTag = consumerTag;
    const completeOnStop = this.parts.settlements.subscribe({
      complete: () => subscriber.complete(),
    });
    return () => {
      completeOnStop.unsubscribe();
      this.subscriber = undefined;
      void this.cancel();
    };
  });

  /** Someone takes the jobs, and the consumer is not paused. */
  get active(): boolean {
    return this.subscriber !== undefined && !this.holding;
  }

  get paused(): boolean {
    return this.holding;
  }

  pause(): Promise<void> {
    this.holding = true;
    return this.inTurn(async () => {
      if (this.holding) await this.cancel();
    });
  }

  resume(): Promise<void> {
    this.holding = false;
    const wanted = () =>
      !this.holding && this.subscriber !== undefined && this.parts.link.phase === 'running';
    return this.inTurn(async () => {
      if (!wanted() || this.consumerTag !== undefined) return;
      await this.parts.link.declareAgain();
      if (!wanted() || this.consumerTag !== undefined) return;
      const consuming = this.consume();
      const tag = consuming.catch(() => undefined);
      this.consumerTag = tag;
      try {
        await consuming;
      } finally {
        if ((await tag) === undefined && this.consumerTag === tag) this.consumerTag = undefined;
      }
    });
  }

  async cancel(): Promise<void> {
    const tag = await this.consumerTag;
    this.consumerTag = undefined;
    if (tag !== undefined) await this.parts.link.channel.cancel(tag).catch(() => undefined);
  }

  private consume(): Promise<string> {
    const { link, queue, options } = this.parts;
    return link.channel
      .consume(queue, (message) => this.deliver(message), { prefetch: options.prefetch })
      .then(({ consumerTag }) => consumerTag);
  }

  /** Runs `step` once the pauses and resumes before it are done. */
  private inTurn(step: () => Promise<void>): Promise<void> {
    const next = this.flow.then(step);
    this.flow = next.catch(() => undefined);
    return next;
  }

  private deliver(message: ConsumeMessage): void {
    const { link, options, replay, settler } = this.parts;
    const redelivered = message.fields.redelivered;
    const { attempts } = retryStateOf(message);
    const delivery: Delivery = {
      message,
      generation: link.generation,
      label:
        `message ${message.fields.deliveryTag}${redelivered ? ' (redelivered)' : ''}` +
        (attempts > 0 ? ` (retry ${attempts})` : ''),
    };
    if (replay?.isOwn(message)) return this.endReplay(delivery, replay);
    if (this.subscriber === undefined || this.holding) {
      // Delivered while the consumer was being cancelled (or paused): nobody would take it.
      link.channel.nack(message, false, true);
      return;
    }
    this.parts.counters.received += 1;
    this.lastDeliveryAt = Date.now();
    this.parts.inFlight.enter();
    try {
      options.testHooks?.beforeRead?.(message);
      const reading = this.read(message);
      if (reading.kind === 'skip') {
        settler.concludeNow(delivery, 'skip', { reason: reading.reason });
      } else if (reading.kind === 'reject') {
        settler.concludeNow(delivery, 'park', {
          reason: reading.reason,
          parkReason: ('parkReason' in reading ? reading.parkReason : undefined) ?? 'undecodable',
        });
      } else {
        this.subscriber.next({
          label: delivery.label,
          target: reading.target,
          receivedAt: Date.now(),
          settle: this.settleOnce(delivery),
        });
      }
    } catch (error) {
      // A throw out of the consume callback reaches amqplib, which closes the channel: the
      // message would come back first, throw again, and hold up the queue for ever.
      const reason = `could not read the message: ${describeError(error)}`;
      settler.concludeNow(delivery, 'park', { reason, parkReason: 'undecodable' });
    }
  }

  /** A job's settle: its message is acked (or sent on) once; a second call is a bug. */
  private settleOnce(delivery: Delivery): (result: JobOutcome) => Promise<void> {
    let settled = false;
    return async (result) => {
      if (settled) throw new Error(`${delivery.label} was settled already`);
      settled = true;
      await this.parts.settler.settle(delivery, result);
    };
  }

  /** A message this replay parked again has come round: every earlier one was taken. */
  private endReplay(delivery: Delivery, replay: ReplayRun): void {
    void this.cancel();
    if (delivery.generation === this.parts.link.generation) {
      this.parts.link.channel.nack(delivery.message, false, true);
    }
    void this.parts.inFlight.idle().then(() => replay.finish());
  }
}
