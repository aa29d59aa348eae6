import { from, merge, mergeMap, type Observable } from 'rxjs';
import {
  DEFAULT_BOUNDS,
  pipeline,
  type PipelineBounds,
  type PipelineDeps,
} from '../pipeline/index.js';
import type { JobOutcome, SettlingJob } from '../pipeline/job.js';
import { oneClaimPerProcess } from './processClaims.js';

/** Acks are quick; parking waits for a confirm. The prefetch bounds them anyway. */
const SETTLING_AT_ONCE = 64;

/**
 * Every job of every stream through one pipeline, then settled by its outcome through the
 * settle it carries, once `beforeSettle` has looked at the outcome. Completes once every
 * stream has ended and every job is settled.
 */
export const runJobs = (
  streams: readonly Observable<SettlingJob>[],
  deps: PipelineDeps,
  bounds: PipelineBounds | undefined,
  beforeSettle: (result: JobOutcome) => Promise<void>,
): Observable<void> =>
  merge(...streams).pipe(
    pipeline(
      // Two jobs of this process on one changeset (a message delivered twice, or a push
      // arriving live and through gap-fill) must not both send it.
      { ...deps, ledger: oneClaimPerProcess(deps.ledger) },
      bounds ?? DEFAULT_BOUNDS,
    ),
    mergeMap(
      (result) => from(beforeSettle(result).then(() => settleJob(result))),
      SETTLING_AT_ONCE,
    ),
  );

/** Hands a job's outcome to its source, through the settle the job carries. */
const settleJob = (result: JobOutcome): Promise<void> =>
  result.job.settle === undefined
    ? Promise.reject(
        new Error(
          `${result.job.label} came to the worker with no settle: its source must give one`,
        ),
      )
    : result.job.settle(result);
