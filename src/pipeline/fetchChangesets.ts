import { concatMap, type OperatorFunction } from 'rxjs';
import type { HgClient } from '../clients/hgmo.js';
import type { ChangesetRef, FetchedChangeset } from './job.js';

export interface FetchChangesetsDeps {
  readonly hg: Pick<HgClient, 'changeset'>;
}

/** Reads each changeset's json-rev: its description, author, parents and push date. */
export const fetchChangesets = ({
  hg,
}: FetchChangesetsDeps): OperatorFunction<ChangesetRef, FetchedChangeset> =>
  concatMap(async (ref) => ({ ...ref, changeset: await hg.changeset(ref.repository, ref.node) }));
