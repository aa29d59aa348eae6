import type { GitHubClient } from '../../src/clients/github.js';
import { NoSuchChangeset, NotOnGitHubYet } from '../../src/errors.js';
import { log } from '../../src/log.js';
import type { GitPushTarget, JobOutcome } from '../../src/pipeline/job.js';

/**
 * How long a gap-fill compare may keep answering 404 while GitHub still knows the watermark's
 * commit before the watermark is taken for unreachable: GitHub's API lags a push by seconds,
 * and a compare between histories with no common commit (a branch deleted and made again from
 * elsewhere) answers 404 for ever.
 */
export const LAG_LIMIT_MS = 15 * 60_000;

/**
 * Tells whether a gap-fill job failed because its base, the branch's watermark, can no longer
 * be compared from while its head is still the branch's: the base is gone from GitHub
 * (force-pushed away and collected), or compares from it have answered 404 for LAG_LIMIT_MS.
 * Then the watermark must restart at the head, or every later poll would fail the same way;
 * what was skipped is logged as an error with the command that fills it by hand. A compare
 * 404 alone proves nothing: GitHub's API may lag a push.
 */
export class LostWatermarks {
  /** Per branch, the watermark its compares answered 404 from, since when (heads may move). */
  private readonly notFound = new Map<string, { readonly base: string; readonly since: number }>();

  constructor(
    private readonly github: Pick<GitHubClient, 'branchHead' | 'changeset'>,
    private readonly now: () => number,
  ) {}

  async gone(target: GitPushTarget, result: JobOutcome): Promise<boolean> {
    const { repository, base, head } = target;
    const range = `${base}...${head}`;
    const missing = result.outcomes.some(
      (o) => o.status === 'failed' && o.error instanceof NotOnGitHubYet && o.error.what === range,
    );
    if (!missing) {
      this.notFound.delete(repository); // compared again: a later 404 counts from scratch
      return false;
    }
    const first = this.notFound.get(repository);
    const since = first?.base === base ? first.since : this.now();
    this.notFound.set(repository, { base, since });
    // The 404 does not say which end is missing: the head is known good if the branch is there.
    const now = await this.github.branchHead(repository).catch(() => 'unchanged' as const);
    if (now === 'unchanged' || now.sha !== head) return false;
    const why = await this.whyUnreachable(repository, base, since);
    if (why === undefined) return false; // GitHub lagging, likely: the next poll asks again
    this.notFound.delete(repository);
    log.error(
      `gap-fill: the watermark of a git branch cannot be compared from: ${why}; it restarts at the branch head and the commits in between were NOT checked: fill them by hand from the last commit pinged before`,
      {
        repository,
        lostWatermark: base,
        restartedAt: head,
        fillWith: `backfill-git '${repository}' <the last commit pinged before> ${head}`,
      },
    );
    return true;
  }

  /** Why `base` cannot be compared from, or undefined if GitHub may just be lagging. */
  private async whyUnreachable(repository: string, base: string, since: number) {
    // Any other failure than "no such commit" does not show the base gone.
    const known = await this.github.changeset(repository, base).then(
      () => true,
      (error: unknown) => !(error instanceof NoSuchChangeset),
    );
    if (!known) return 'GitHub knows no such commit any more (force-pushed away?)';
    if (this.now() - since < LAG_LIMIT_MS) return undefined;
    return `its compares to the branch head have answered 404 for ${LAG_LIMIT_MS / 60_000} minutes (no common history: the branch made again?)`;
  }
}
