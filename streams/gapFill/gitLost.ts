import type { GitHubClient } from '../../src/clients/github.js';
import { NoSuchChangeset, NotOnGitHubYet } from '../../src/errors.js';
import { log } from '../../src/log.js';
import type { GitPushTarget, JobOutcome } from '../../src/pipeline/job.js';

/**
 * Whether a gap-fill job failed because its base, the branch's watermark, is gone from GitHub
 * (force-pushed away and collected: compare answers 404) while its head is still the
 * branch's. Then the watermark must restart at the head, or every later poll would compare
 * from a sha GitHub no longer has; what was skipped is logged as an error with the command
 * that fills it by hand. A compare 404 alone proves nothing: GitHub's API may lag a push.
 */
export const watermarkGone = async (
  target: GitPushTarget,
  result: JobOutcome,
  github: Pick<GitHubClient, 'branchHead' | 'changeset'>,
): Promise<boolean> => {
  const { repository, base, head } = target;
  const missing = result.outcomes.some(
    (o) =>
      o.status === 'failed' &&
      o.error instanceof NotOnGitHubYet &&
      o.error.what === `${base}...${head}`,
  );
  if (!missing) return false;
  // The 404 does not say which end is missing: the head is known good if the branch is there.
  const now = await github.branchHead(repository).catch(() => 'unchanged' as const);
  if (now === 'unchanged' || now.sha !== head) return false;
  // And the base is gone only if GitHub knows no such commit either; else the compare lagged,
  // and the next poll compares again from the same watermark.
  const baseGone = await github.changeset(repository, base).then(
    () => false,
    (error: unknown) => error instanceof NoSuchChangeset,
  );
  if (!baseGone) return false;
  log.error(
    'gap-fill: the watermark of a git branch is gone from GitHub (force-pushed away?); it restarts at the branch head and the commits in between were NOT checked: fill them by hand from the last commit pinged before the force-push',
    {
      repository,
      lostWatermark: base,
      restartedAt: head,
      fillWith: `backfill-git '${repository}' <last commit pinged before the force-push> ${head}`,
    },
  );
  return true;
};
