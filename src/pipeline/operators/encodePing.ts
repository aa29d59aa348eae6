import { concatMap, type OperatorFunction } from 'rxjs';
import { notOnGitHubYet, PipelineError } from '../../errors.js';
import { buildPing } from '../../rules/ping.js';
import { needsDiffstat } from '../../rules/reviewSystem.js';
import type { ClassifiedChangeset, EncodedChangeset } from '../job.js';
import { forgeOf, type Forge, type GitForge } from '../ports.js';

export interface EncodePingDeps {
  readonly hg: Pick<Forge, 'diffstat'>;
  readonly git?: Pick<GitForge, 'diffstat' | 'owns'> | undefined;
}

/**
 * Builds each ping and checks it against the schema (ingestion silently drops a ping that
 * does not match), streaming the patch for a diffstat when the review system calls for one.
 * A git commit GitHub does not know is one its compare just listed: tried again later.
 */
export const encodePing = (
  deps: EncodePingDeps,
): OperatorFunction<ClassifiedChangeset, EncodedChangeset> =>
  concatMap(async (work) => {
    const { changeset, repository, reviewSystem } = work;
    const forge = forgeOf(deps, repository);
    const diffstat = needsDiffstat(reviewSystem)
      ? await forge.diffstat(repository, changeset.node).catch((error: unknown) => {
          throw forge === deps.git ? notOnGitHubYet(error) : error;
        })
      : null;
    const ping = buildPing({ changeset, repository, reviewSystem, diffstat });
    if (!ping.ok) throw new PipelineError(ping.error.message, 'permanent');
    return { ...work, ping: ping.value };
  });
