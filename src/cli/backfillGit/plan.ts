import type { GitHubClient } from '../../clients/github.js';
import { describeError, NoSuchChangeset } from '../../errors.js';
import { confirm } from '../shared/confirm.js';
import { EXIT } from '../shared/program.js';
import { tell } from '../shared/tell.js';
import type { CommitRange } from '../../../streams/git/compareSource.js';

/** What a compare GitHub answers 404 for leaves to check: it does not say which. */
const UNKNOWN_HINT =
  'GitHub knows no such commit, or no such repository, or BASE and HEAD share no history: check that BASE and HEAD are shas of commits of that repository, on the same history, and its owner and name in REPO_URL';

const stop = (name: string, msg: string, fields: object, text: string, code: number): never => {
  tell('error', msg, { ...fields }, `${name}: ${text}`);
  process.exit(code);
};

/**
 * Says how many commits the backfill will process and where the pings go, and asks before it
 * starts (unless `--yes`). Exits 0 when there is nothing to do, 1 when compare cannot be read
 * (an unknown sha, a repository GitHub does not know) or the answer is no, 2 when BASE and
 * HEAD are the wrong way round or HEAD is not on the branch.
 */
export const planGitBackfill = async (
  name: string,
  git: Pick<GitHubClient, 'compareCount' | 'branchHead'>,
  range: CommitRange,
  sendTo: string | undefined,
  ask: boolean,
): Promise<number> => {
  const { repository, base, head } = range;
  /** How many commits `to` adds to `from`; exit 1 when GitHub cannot say. */
  const adds = (from: string, to: string) =>
    git.compareCount(repository, from, to).catch((error: unknown) => {
      const check = error instanceof NoSuchChangeset ? UNKNOWN_HINT : undefined;
      const text = `cannot list the commits of ${repository} from ${from} to ${to}: ${describeError(error)}`;
      return stop(
        name,
        'cannot compare',
        { repository, base: from, head: to, error, ...(check && { check }) },
        check === undefined ? text : `${text}. ${check}`,
        EXIT.failed,
      );
    });
  const commits = await adds(base, head);
  // GitHub counts what HEAD adds to BASE: none, when HEAD is behind BASE (the two swapped).
  if (commits === 0 && (await adds(head, base)) > 0) {
    stop(
      name,
      'HEAD is behind BASE: give the older commit first (BASE HEAD)',
      { repository, base, head },
      `HEAD ${head} is behind BASE ${base}: give the older commit first (BASE HEAD).`,
      EXIT.usage,
    );
  }
  // The pings will name the branch: HEAD must be on it, adding nothing to the branch's tip.
  const tip = await git
    .branchHead(repository)
    .catch((error: unknown) =>
      stop(
        name,
        'cannot read the branch',
        { repository, error },
        describeError(error),
        EXIT.failed,
      ),
    );
  if (tip !== 'unchanged' && (await adds(tip.sha, head)) > 0) {
    stop(
      name,
      'HEAD is not on the branch REPO_URL names: give a commit that landed there',
      { repository, head, tip: tip.sha },
      `HEAD ${head} is not on ${repository} (its tip is ${tip.sha}): give a commit that landed there.`,
      EXIT.usage,
    );
  }
  if (commits === 0) {
    tell(
      'info',
      'nothing to do',
      { repository, base, head },
      `${repository}: ${head} adds no commit to ${base}; nothing to do.`,
    );
    process.exit(EXIT.ok);
  }
  const destination =
    sendTo === undefined ? 'pings will be printed, not sent' : `pings will be sent to ${sendTo}`;
  tell(
    'info',
    'plan',
    { repository, base, head, commits, destination: sendTo ?? 'stdout' },
    `${repository}: ${commits} commits after ${base.slice(0, 12)} up to ${head.slice(0, 12)}; ${destination}.`,
  );
  if (ask && !(await confirm('Proceed?'))) {
    stop(name, 'not confirmed', {}, 'not confirmed; nothing done.', EXIT.failed);
  }
  return commits;
};
