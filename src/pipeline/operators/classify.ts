import { concatMap, type OperatorFunction } from 'rxjs';
import type { BugzillaClient } from '../../clients/bugzilla.js';
import { log } from '../../log.js';
import { reviewSystemFromBug, reviewSystemFromChangeset } from '../../rules/reviewSystem.js';
import type { ClassifiedChangeset, FetchedChangeset } from '../job.js';

export interface ClassifyDeps {
  readonly bugzilla: Pick<BugzillaClient, 'bug'>;
}

/** Decides the review system: from the changeset alone when it can, else from its bug. */
export const classify = ({
  bugzilla,
}: ClassifyDeps): OperatorFunction<FetchedChangeset, ClassifiedChangeset> =>
  concatMap(async (work) => {
    const verdict = reviewSystemFromChangeset(work.changeset);
    const reviewSystem =
      'system' in verdict ? verdict.system : reviewSystemFromBug(await bugzilla.bug(verdict.bug));
    log.debug('classified', {
      job: work.job.label,
      node: work.changeset.node,
      reviewSystem,
      ...('bug' in verdict ? { bug: verdict.bug } : {}),
    });
    return { ...work, reviewSystem };
  });
