import type { ConsumeMessage } from 'amqplib';
import { failureLines, type JobOutcome, type ParkReason } from '../../src/pipeline/job.js';

export type { Settlement } from '../../src/pipeline/job.js';

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

export const noCounts = (): PulseCounters => ({
  received: 0,
  acked: 0,
  requeued: 0,
  deferred: 0,
  parked: 0,
  parkedTwice: 0,
  retried: 0,
  retriedTwice: 0,
});

/** What a message carries to its settlement besides the verdict. */
export interface Detail {
  readonly reason?: string;
  readonly result?: JobOutcome;
  readonly parkReason?: ParkReason;
}

/** A message taken from the queue, until it is settled. */
export interface Delivery {
  readonly message: ConsumeMessage;
  /** Which channel it came on: an ack on a later channel would be refused and close it. */
  readonly generation: number;
  readonly label: string;
}

/** What a parked or retried copy says went wrong. */
export const errorText = (detail: Detail): string =>
  detail.result !== undefined ? failureLines(detail.result).join('\n') : (detail.reason ?? '');

/** A parked copy's error; one parked for its age says how long it kept failing, and why. */
export const parkedText = (detail: Detail, maxAgeMs: number): string => {
  if (detail.parkReason !== 'too_old') return errorText(detail);
  const age =
    maxAgeMs >= 3_600_000
      ? `${maxAgeMs / 3_600_000} hours`
      : maxAgeMs >= 1000
        ? `${maxAgeMs / 1000} s`
        : `${maxAgeMs} ms`;
  return `still failing ${age} after its first failure (RETRY_MAX_HOURS); the last try:\n${errorText(detail)}`;
};
