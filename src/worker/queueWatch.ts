import { setTimeout as sleep } from 'node:timers/promises';
import { log } from '../log.js';
import type { QueueSource } from './source.js';
import type { WorkerMetrics } from './metrics.js';

/** Pulse warns near 2,000 unread messages and deletes the queue near 8,000. */
export const DEPTH_WARNING = 1000;

/** A scrape waits no longer for the broker's answer; the gauge then keeps its last value. */
const PARKED_READ_TIMEOUT_MS = 2_000;

/**
 * The parked queue's depth, read as telemetry-status reads it (a passive declare, through
 * `failedDepth`), or undefined when the broker does not answer in time.
 */
export const readParkedDepth = (
  source: Pick<QueueSource, 'failedDepth'>,
  timeoutMs = PARKED_READ_TIMEOUT_MS,
): Promise<number | undefined> => {
  const giveUp = new AbortController();
  return Promise.race([
    source.failedDepth().catch(() => undefined),
    sleep(timeoutMs, undefined, { signal: giveUp.signal, ref: false }).catch(() => undefined),
  ]).finally(() => giveUp.abort());
};

/**
 * Checks the queue's depth every `intervalMs`: a metric always, a log line only when the depth
 * changed (at info) or is above the warning level (at warn), so an idle worker stays quiet.
 * The parked queue's depth is read at once, then at each scrape and push of the metrics.
 * Returns the function that stops watching.
 */
export const watchQueueDepth = (
  source: QueueSource,
  metrics: WorkerMetrics,
  intervalMs: number,
): (() => void) => {
  let last: string | undefined;
  const check = async () => {
    const depth = await source.depth();
    if (depth === undefined) return;
    metrics.queueDepth.set(depth.ready);
    const fields = { queue: source.names.queue, ...depth };
    if (depth.ready > DEPTH_WARNING) {
      log.warn('messages are piling up in the queue; Pulse deletes queues near 8,000', fields);
    } else if (JSON.stringify(depth) !== last) {
      log.info('queue depth', fields);
    }
    last = JSON.stringify(depth);
  };
  const timer = setInterval(() => void check(), intervalMs);
  timer.unref();
  void check();
  metrics.readParkedDepth = () => readParkedDepth(source);
  void metrics.readParkedDepth().then((parked) => {
    if (parked !== undefined) metrics.parkedQueueDepth.set(parked);
  });
  return () => {
    clearInterval(timer);
    metrics.readParkedDepth = undefined;
  };
};

/**
 * The idle timeout (--timeout): fires `onIdle` once no message has arrived for `timeoutMs`
 * and none is in flight. Whenever the worker falls idle, `arm()` sets it again from the last
 * delivery; while a message is in flight it waits.
 */
export class IdleTimer {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly source: Pick<QueueSource, 'inFlight' | 'lastDeliveryAt'>,
    private readonly timeoutMs: number,
    private readonly onIdle: (reason: string) => void,
  ) {}

  arm(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const { source, timeoutMs } = this;
    const due = source.lastDeliveryAt + timeoutMs - Date.now();
    this.timer = setTimeout(
      () => {
        if (source.inFlight > 0) return;
        if (Date.now() - source.lastDeliveryAt >= timeoutMs) {
          this.onIdle(`no message for ${timeoutMs / 1000} s`);
        } else {
          this.arm();
        }
      },
      // At least 50 ms: while paused for an outage the source's idle time stands still, and
      // what is left of it may be a millisecond, checked again and again.
      Math.max(due, 50),
    );
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
