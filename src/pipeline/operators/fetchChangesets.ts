import { concatMap, type OperatorFunction } from 'rxjs';
import type { ChangesetRef, FetchedChangeset } from '../job.js';
import { forgeOf, type Forge, type GitForge } from '../ports.js';

export interface FetchChangesetsDeps {
  readonly hg: Pick<Forge, 'changeset'>;
  readonly git?: Pick<GitForge, 'changeset' | 'owns'> | undefined;
}

/**
 * Reads each changeset from its repository's forge (hg's json-rev: description, author, parents
 * and push date; a git commit), unless its listing carried it whole.
 */
export const fetchChangesets = (
  deps: FetchChangesetsDeps,
): OperatorFunction<ChangesetRef, FetchedChangeset> =>
  concatMap(async (ref) => ({
    ...ref,
    changeset:
      ref.listed ?? (await forgeOf(deps, ref.repository).changeset(ref.repository, ref.node)),
  }));
