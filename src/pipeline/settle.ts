import { defer, EMPTY, from, mergeMap, type OperatorFunction } from 'rxjs';
import { describeError } from '../errors.js';
import { log } from '../log.js';
import type { Job, JobOutcome, Outcome } from './job.js';
import type { Step } from './step.js';

/**
 * Gathers the outcomes of each job's changesets and, once all are in, settles the job
 * (Pulse acks, backfill records progress) and then emits the job's outcome.
 */
export const settle = (): OperatorFunction<Step<never>, JobOutcome> => (steps) =>
  defer(() => {
    const gathered = new Map<Job, Outcome[]>();
    return steps.pipe(
      mergeMap((step) => {
        if (!('outcome' in step)) return EMPTY;
        const outcomes = gathered.get(step.job) ?? [];
        outcomes.push(step.outcome);
        if (outcomes.length < step.parts) {
          gathered.set(step.job, outcomes);
          return EMPTY;
        }
        gathered.delete(step.job);
        const result: JobOutcome =
          step.push === undefined
            ? { job: step.job, outcomes }
            : { job: step.job, outcomes, push: step.push };
        return from(
          Promise.resolve()
            .then(() => step.job.settle(result))
            .then(
              () => result,
              (error: unknown) => {
                log.error(`${step.job.label}: could not settle: ${describeError(error)}`);
                return result;
              },
            ),
        );
      }),
    );
  });
