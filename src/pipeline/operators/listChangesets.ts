import { catchError, concatMap, from, map, type Observable, type OperatorFunction } from 'rxjs';
import type { HgClient } from '../../clients/hgmo.js';
import type { Changeset } from '../../codecs/changeset.js';
import { notOnGitHubYet, PipelineError } from '../../errors.js';
import type { ChangesetRef, GitPushTarget, Job, PushTarget } from '../job.js';
import type { GitForge } from '../ports.js';

export interface ListChangesetsDeps {
  readonly hg: Pick<HgClient, 'pushlogPage'>;
  /** git repositories' forge; without it a git push is a permanent failure. */
  readonly git?: Pick<GitForge, 'compare'> | undefined;
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

/**
 * A git push's commits, oldest first, as compare lists them: with their messages, authors and
 * parents, so that a commit needs no request of its own unless its review system needs a
 * diffstat. A compare GitHub answers 404 for is tried again later (NotOnGitHubYet).
 */
const commitsOfPush = (
  git: ListChangesetsDeps['git'],
  push: GitPushTarget,
): Observable<Changeset> => {
  if (push.commits !== undefined) return from(push.commits);
  if (git === undefined) {
    throw new PipelineError(
      `${push.repository} is a git repository, and this command reads none`,
      'permanent',
    );
  }
  return from(git.compare(push.repository, push.base, push.head)).pipe(
    catchError((error: unknown) => {
      throw notOnGitHubYet(error);
    }),
  );
};

const refsOf = (deps: ListChangesetsDeps, job: Job): Observable<ChangesetRef> => {
  const { target } = job;
  const { repository } = target;
  if (target.kind === 'gitPush') {
    return commitsOfPush(deps.git, target).pipe(
      map((listed) => ({ job, repository, node: listed.node, listed })),
    );
  }
  if (target.kind === 'changeset') return from([{ job, repository, node: target.node }]);
  return from(nodesOfPush(deps.hg, target)).pipe(
    concatMap((nodes) => nodes.map((node) => ({ job, repository, node }))),
  );
};

/** Turns each job into its changesets, one value each (a push may have none), in order. */
export const listChangesets = (deps: ListChangesetsDeps): OperatorFunction<Job, ChangesetRef> =>
  concatMap((job) => refsOf(deps, job));
