import { concatMap, type OperatorFunction } from 'rxjs';
import { PipelineError } from '../errors.js';
import { failedOutcome } from './failure.js';
import type { JobOutcome } from './job.js';
import type { Ledger, LedgerPolicy } from './ledger.js';

export interface RecordPushDeps {
  readonly ledger: Ledger;
  readonly policy: LedgerPolicy;
}

/** Every changeset sent, or sent before: nothing of the push is left to do. */
export const isSettled = (result: JobOutcome): boolean =>
  result.outcomes.every((o) => o.status === 'sent' || o.status === 'skipped');

/**
 * Records a push job in the store once its outcome is known: the worker starts the
 * repository's watermark at the first push it sees, and a settled push moves the watermark.
 * A store that cannot be written fails the job (transiently), so it is not taken as done.
 */
export const recordPush = ({
  ledger,
  policy,
}: RecordPushDeps): OperatorFunction<JobOutcome, JobOutcome> =>
  concatMap(async (result) => {
    const { target } = result.job;
    if (target.kind !== 'push') return result;
    try {
      if (policy.startsWatermarks) await ledger.startWatermark(target.repository, target.pushId);
      if (isSettled(result)) await ledger.pushSettled(target.repository, target.pushId);
      return result;
    } catch (error) {
      const failure = new PipelineError(
        `could not record push ${target.pushId} in the store: ${error instanceof Error ? error.message : String(error)}`,
        'transient',
        { cause: error },
      );
      return { ...result, outcomes: [...result.outcomes, failedOutcome(undefined, failure)] };
    }
  });
