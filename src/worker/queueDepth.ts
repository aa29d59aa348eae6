import { log } from '../log.js';
import type { PulseSource } from '../../streams/pulse.js';
import type { WorkerMetrics } from './metrics.js';

/** Pulse warns near 2,000 unread messages and deletes the queue near 8,000. */
export const DEPTH_WARNING = 1000;

/**
 * Checks the queue's depth every `intervalMs`: a metric always, a log line only when the depth
 * changed (at info) or is above the warning level (at warn), so an idle worker stays quiet.
 * Returns the function that stops watching.
 */
export const watchQueueDepth = (
  source: PulseSource,
  metrics: WorkerMetrics,
  intervalMs: number,
): (() => void) => {
  let last: string | undefined;
  const check = async () => {
    const depth = await source.depth();
    if (depth === undefined) return;
    metrics.queueDepth.set(depth.ready);
    const parked = await source.failedDepth().catch(() => undefined);
    if (parked !== undefined) metrics.parkedQueueDepth.set(parked);
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
  return () => clearInterval(timer);
};
