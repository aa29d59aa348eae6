import { map, toArray, type OperatorFunction } from 'rxjs';
import type { Job, JobOutcome, Outcome } from '../job.js';

/**
 * Gathers the outcomes of one job's changesets into the job's outcome, emitted once all are
 * in. What a source then does with it (ack, checkpoint, exit code) is the source's business.
 */
export const settle =
  (job: Job): OperatorFunction<Outcome, JobOutcome> =>
  (outcomes) =>
    outcomes.pipe(
      toArray(),
      map((all) => ({ job, outcomes: all })),
    );
