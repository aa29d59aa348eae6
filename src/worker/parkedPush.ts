import { log } from '../log.js';
import { failureLines, pushOf, type Settlement } from '../pipeline/job.js';
import type { Ledger } from '../pipeline/ledger.js';
import type { Store } from '../state/index.js';

/**
 * A parked push is an operator's now: recorded in the store, it counts as settled, so its
 * repository's watermark moves past it. Only when the ledger is the durable store (the
 * dry-run ledger of --no-send has no `park`); a message that could not be read names no push.
 * A failure is logged: the message is in the failed queue all the same.
 */
export const recordParkedPush = async (ledger: Ledger, settlement: Settlement): Promise<void> => {
  if (settlement.action !== 'park' || settlement.result === undefined) return;
  const push = pushOf(settlement.result.job);
  const store = ledger as Ledger & Partial<Pick<Store, 'park'>>;
  if (push === undefined || typeof store.park !== 'function') return;
  const failures = failureLines(settlement.result).join('; ');
  const reason = `${settlement.parkReason ?? 'parked'}: ${failures}`.slice(0, 2000);
  try {
    await store.park({ ...push, reason });
  } catch (error) {
    log.error('could not record a parked push in the store', {
      job: settlement.label,
      ...push,
      error,
    });
  }
};
