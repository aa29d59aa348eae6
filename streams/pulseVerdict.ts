import type { JobOutcome } from '../src/pipeline/job.js';

/**
 * What to do with a Pulse message once its job has an outcome. `defer`: another live
 * process holds one of its changesets, so it is not done here; it goes back to the queue
 * after a short pause, and that is not a failed attempt.
 */
export type Verdict = 'ack' | 'requeue' | 'park' | 'defer';

/**
 * Ack only what is done. A failure goes to the failed queue unless every failure of the job
 * was transient and the message was not retried yet: then it goes back to the queue once.
 */
export const verdictFor = (result: JobOutcome, alreadyRetried: boolean): Verdict => {
  const failures = result.outcomes.filter((o) => o.status === 'failed');
  if (failures.length === 0)
    return result.outcomes.some((o) => o.status === 'held') ? 'defer' : 'ack';
  const transient = failures.every((o) => o.status === 'failed' && o.error.kind === 'transient');
  return transient && !alreadyRetried ? 'requeue' : 'park';
};
