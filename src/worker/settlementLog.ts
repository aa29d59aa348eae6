import { failureLines, pushOf, sentBySystem, type Settlement } from '../pipeline/job.js';

/**
 * The one log line of a settled message: which push, how many changesets, which review
 * systems, what was done with it and how long it took.
 */
export const settlementLine = (settlement: Settlement): Record<string, unknown> => {
  const { result } = settlement;
  const why = {
    ...(settlement.parkReason === undefined ? {} : { parkReason: settlement.parkReason }),
    ...(settlement.retry === undefined ? {} : { retry: settlement.retry }),
  };
  if (result === undefined) {
    return { job: settlement.label, action: settlement.action, reason: settlement.reason, ...why };
  }
  const push = pushOf(result.job);
  const failures = failureLines(result);
  return {
    job: settlement.label,
    action: settlement.action,
    repository: push?.repository,
    push: push?.pushId,
    changesets: result.outcomes.length,
    // Sent now, and skipped because a ping was sent before (a redelivery, a backfill's).
    sent: result.outcomes.filter((o) => o.status === 'sent').length,
    sentBefore: result.outcomes.filter((o) => o.status === 'skipped' && o.reason === 'already sent')
      .length,
    reviewSystems: sentBySystem(result.outcomes),
    ...(failures.length > 0 ? { failures } : {}),
    ...why,
    durationMs: Date.now() - result.job.receivedAt,
  };
};
