import { concatMap, type OperatorFunction } from 'rxjs';
import { InvalidPushId } from '../../codecs/pushId.js';
import { PipelineError } from '../../errors.js';
import { failedOutcome } from '../failure.js';
import type { JobOutcome } from '../job.js';
import type { LedgerPolicy } from '../ledger.js';
import type { Ledger } from '../ports.js';

const refusedPushId = (error: unknown): boolean =>
  error instanceof InvalidPushId ||
  (error instanceof Error && error.cause instanceof InvalidPushId);

export interface RecordPushDeps {
  readonly ledger: Ledger;
  readonly policy: LedgerPolicy;
}

/** Every changeset sent, or sent before: nothing of the push is left to do. */
export const isSettled = (result: JobOutcome): boolean =>
  result.outcomes.every((o) => o.status === 'sent' || o.status === 'skipped');

/**
 * Whether the pushlog listed the push: only listing fails a whole job (a failure naming no
 * changeset), so a job without such a failure had its push confirmed by the pushlog.
 */
export const pushConfirmed = (result: JobOutcome): boolean =>
  result.outcomes.every((o) => o.status !== 'failed' || o.node !== undefined);

/**
 * Records a push job in the store once its outcome is known: the worker starts the
 * repository's watermark at the first push the pushlog confirmed (never at a push id from a
 * message alone), and a settled push moves the watermark. A store that cannot be written fails
 * the job (transiently), so it is not taken as done; a push id the store refuses, for good.
 */
export const recordPush = ({
  ledger,
  policy,
}: RecordPushDeps): OperatorFunction<JobOutcome, JobOutcome> =>
  concatMap(async (result) => {
    const { target } = result.job;
    if (target.kind !== 'push') return result;
    try {
      if (policy.startsWatermarks && pushConfirmed(result)) {
        await ledger.startWatermark(target.repository, target.pushId);
      }
      if (isSettled(result)) await ledger.pushSettled(target.repository, target.pushId);
      return result;
    } catch (error) {
      const failure = new PipelineError(
        `could not record push ${target.pushId} in the store: ${error instanceof Error ? error.message : String(error)}`,
        refusedPushId(error) ? 'permanent' : 'transient',
        { cause: error },
      );
      return { ...result, outcomes: [...result.outcomes, failedOutcome(undefined, failure)] };
    }
  });
