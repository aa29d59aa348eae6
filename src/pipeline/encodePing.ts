import { concatMap, type OperatorFunction } from 'rxjs';
import type { HgClient } from '../clients/hgmo.js';
import { PipelineError } from '../errors.js';
import { buildPing } from '../rules/ping.js';
import { needsDiffstat } from '../rules/reviewSystem.js';
import type { ClassifiedChangeset, EncodedChangeset } from './job.js';

export interface EncodePingDeps {
  readonly hg: Pick<HgClient, 'diffstat'>;
}

/**
 * Builds each ping and checks it against the schema (ingestion silently drops a ping that
 * does not match), streaming the patch for a diffstat when the review system calls for one.
 */
export const encodePing = ({
  hg,
}: EncodePingDeps): OperatorFunction<ClassifiedChangeset, EncodedChangeset> =>
  concatMap(async (work) => {
    const { changeset, repository, reviewSystem } = work;
    const diffstat = needsDiffstat(reviewSystem)
      ? await hg.diffstat(repository, changeset.node)
      : null;
    const ping = buildPing({ changeset, repository, reviewSystem, diffstat });
    if (!ping.ok) throw new PipelineError(ping.error.message, 'permanent');
    return { ...work, ping: ping.value };
  });
