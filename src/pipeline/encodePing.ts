import type { OperatorFunction } from 'rxjs';
import type { HgClient } from '../clients/hgmo.js';
import { PipelineError } from '../errors.js';
import { buildPing } from '../rules/ping.js';
import { needsDiffstat } from '../rules/reviewSystem.js';
import type { ClassifiedWork, PingWork } from './job.js';
import { advance, type Step } from './step.js';

export interface EncodePingDeps {
  readonly hg: HgClient;
}

/** Builds the ping, streaming the patch for a diffstat when the review system calls for one. */
export const encodePing = ({
  hg,
}: EncodePingDeps): OperatorFunction<Step<ClassifiedWork>, Step<PingWork>> =>
  advance(
    async (work) => {
      const { changeset, repository, reviewSystem } = work;
      const diffstat = needsDiffstat(reviewSystem)
        ? await hg.diffstat(repository, changeset.node)
        : null;
      const ping = buildPing({ changeset, repository, reviewSystem, diffstat });
      if (!ping.ok) throw new PipelineError(ping.error.message, 'permanent');
      return { ...work, ping: ping.value };
    },
    (work) => work.changeset.node,
  );
