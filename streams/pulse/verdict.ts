import type { JobOutcome, ParkReason, Verdict } from '../../src/pipeline/job.js';

// What to do with a Pulse message once its job has an outcome, and why one was parked: the
// settle actions every source shares (job.ts).
export type { ParkReason, Verdict } from '../../src/pipeline/job.js';

export type Decision =
  | { readonly verdict: Exclude<Verdict, 'park'> }
  | { readonly verdict: 'park'; readonly parkReason: ParkReason };

export interface RetryContext {
  /** The message comes from the failed queue (--replay-failed). */
  readonly replay: boolean;
  /** When the message first failed, if it did before (its `x-first-failure` header). */
  readonly firstFailureAt?: number | undefined;
  readonly now: number;
  /** RETRY_MAX_HOURS: how long after its first failure a message is still retried. */
  readonly maxAgeMs: number;
  /** False when the job failed while one of its hosts was known to be down. */
  readonly hostsUp?: boolean;
}

/**
 * Ack only what is done. A job that failed only transiently is retried later, unless it is
 * a replay or has been failing for too long; any permanent failure parks it at once.
 */
export const verdictFor = (result: JobOutcome, context: RetryContext): Decision => {
  const failures = result.outcomes.filter((o) => o.status === 'failed');
  if (failures.length === 0) {
    return { verdict: result.outcomes.some((o) => o.status === 'held') ? 'defer' : 'ack' };
  }
  const transient = failures.every((o) => o.status === 'failed' && o.error.kind === 'transient');
  if (!transient) return { verdict: 'park', parkReason: 'permanent' };
  if (context.replay) return { verdict: 'park', parkReason: 'replay_failed' };
  const { firstFailureAt } = context;
  if (firstFailureAt !== undefined && context.now - firstFailureAt >= context.maxAgeMs) {
    return { verdict: 'park', parkReason: 'too_old' };
  }
  return { verdict: context.hostsUp === false ? 'requeue' : 'retry' };
};
