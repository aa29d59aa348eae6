import type { JobOutcome } from '../pipeline/job.js';

/** What to do with a Pulse message once its job is settled. */
export type Verdict = 'ack' | 'requeue' | 'park' | 'hold';

/**
 * Pulse's naming rules: a user may create and write only `queue/<user>/...` and
 * `exchange/<user>/...` (the default exchange is not writable), so parked messages go through
 * an exchange of the user's own.
 */
export const pulseNames = (user: string, queueName: string) => ({
  queue: `queue/${user}/${queueName}`,
  failedQueue: `queue/${user}/${queueName}.failed`,
  failedExchange: `exchange/${user}/${queueName}.failed`,
});
export type PulseNames = ReturnType<typeof pulseNames>;

/**
 * Ack only what is done. Anything failed goes to the failed queue unless every failure was
 * transient and the message has had no second chance yet, in which case it is requeued once.
 */
export const verdictFor = (result: JobOutcome, secondChanceUsed: boolean): Verdict => {
  const failures = result.outcomes.filter((o) => o.status === 'failed');
  if (failures.length === 0) return 'ack';
  const transient = failures.every((o) => o.status === 'failed' && o.error.kind === 'transient');
  return transient && !secondChanceUsed ? 'requeue' : 'park';
};
