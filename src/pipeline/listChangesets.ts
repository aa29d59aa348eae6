import { concatMap, from, type OperatorFunction } from 'rxjs';
import type { HgClient } from '../clients/hgmo.js';
import { PipelineError } from '../errors.js';
import type { ChangesetRef, Job, PushTarget } from './job.js';

export interface ListChangesetsDeps {
  readonly hg: Pick<HgClient, 'pushlogPage'>;
}

/**
 * A push's changesets as its pushlog entry lists them (DAG order, tip-most last). The request
 * is built here, bounded to the one push: a URL taken from a message is never fetched. A push
 * past the pushlog's head is transient (a mirror may lag), one missing below it permanent.
 */
const nodesOfPush = async (
  hg: ListChangesetsDeps['hg'],
  push: PushTarget,
): Promise<readonly string[]> => {
  if (push.nodes !== undefined) return push.nodes;
  const page = await hg.pushlogPage(push.repository, push.pushId - 1, push.pushId);
  const entry = page.pushes[String(push.pushId)];
  if (entry === undefined && push.pushId > page.lastpushid) {
    // Pulse may announce a push before the mirror that answered has it: a later try may find it.
    throw new PipelineError(
      `push ${push.pushId} is newer than the newest push of ${push.repository} (${page.lastpushid}); tried again later`,
      'transient',
    );
  }
  if (entry === undefined) {
    throw new PipelineError(
      `push ${push.pushId} is not in the pushlog of ${push.repository}`,
      'permanent',
    );
  }
  return entry.changesets;
};

const nodesOf = async (hg: ListChangesetsDeps['hg'], job: Job): Promise<readonly string[]> => {
  if (job.target.kind === 'push') return nodesOfPush(hg, job.target);
  if (job.target.kind === 'changeset') return [job.target.node];
  throw new PipelineError(`git pushes are not read yet (${job.target.repository})`, 'permanent');
};

/** Turns each job into its changesets, one value each (a push may have none), in order. */
export const listChangesets = ({ hg }: ListChangesetsDeps): OperatorFunction<Job, ChangesetRef> =>
  concatMap((job) =>
    from(nodesOf(hg, job)).pipe(
      concatMap((nodes) => nodes.map((node) => ({ job, repository: job.target.repository, node }))),
    ),
  );
