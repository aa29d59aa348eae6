import { log } from '../log.js';
import { failureLines, pushOf, type Settlement } from '../pipeline/job.js';

/**
 * Where the worker records a parked push, declared here by its user: src/state's Store is
 * one. A parked push counts as settled, so its repository's watermark moves past it.
 */
export interface ParkedPushes {
  park(parked: { repository: string; pushId: number; reason: string }): Promise<void>;
}

/**
 * A parked push is an operator's now: recorded in the store, it counts as settled, so its
 * repository's watermark moves past it. Only with a durable store (a dry run has none); a
 * message that could not be read names no push. A failure is logged: the message is in the
 * failed queue all the same.
 */
export const recordParkedPush = async (
  parked: ParkedPushes | undefined,
  settlement: Settlement,
): Promise<void> => {
  if (parked === undefined || settlement.action !== 'park' || settlement.result === undefined) {
    return;
  }
  const push = pushOf(settlement.result.job);
  if (push === undefined) return;
  const failures = failureLines(settlement.result).join('; ');
  const reason = `${settlement.parkReason ?? 'parked'}: ${failures}`.slice(0, 2000);
  try {
    await parked.park({ ...push, reason });
  } catch (error) {
    log.error('could not record a parked push in the store', {
      job: settlement.label,
      ...push,
      error,
    });
  }
};
