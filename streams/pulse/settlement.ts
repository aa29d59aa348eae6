import type { ConsumeMessage } from 'amqplib';
import { failureLines, type JobOutcome } from '../../src/pipeline/job.js';
import type { ParkReason, Verdict } from './verdict.js';

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
