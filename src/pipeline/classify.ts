import type { OperatorFunction } from 'rxjs';
import type { BugzillaClient } from '../clients/bugzilla.js';
import { log } from '../log.js';
import { reviewSystemFromBug, reviewSystemFromChangeset } from '../rules/reviewSystem.js';
import type { ChangesetWork, ClassifiedWork } from './job.js';
import { advance, type Step } from './step.js';

export interface ClassifyDeps {
  readonly bugzilla: BugzillaClient;
}

/** Decides the review system: from the changeset alone when it can, else from its bug. */
export const classify = ({
  bugzilla,
}: ClassifyDeps): OperatorFunction<Step<ChangesetWork>, Step<ClassifiedWork>> =>
  advance(
    async (work) => {
      const verdict = reviewSystemFromChangeset(work.changeset);
      const reviewSystem =
        'system' in verdict ? verdict.system : reviewSystemFromBug(await bugzilla.bug(verdict.bug));
      log.debug(
        `${work.changeset.node}: ${reviewSystem}${'bug' in verdict ? ` (bug ${verdict.bug})` : ''}`,
      );
      return { ...work, reviewSystem };
    },
    (work) => work.changeset.node,
  );
