import type { GitHubClient } from '../../clients/github.js';
import { describeError } from '../../errors.js';
import { confirm } from '../shared/confirm.js';
import { EXIT } from '../shared/program.js';
import { tell } from '../shared/tell.js';
import type { CommitRange } from '../../../streams/git/compareSource.js';

const stop = (name: string, msg: string, fields: object, text: string, code: number): never => {
  tell('error', msg, { ...fields }, `${name}: ${text}`);
  process.exit(code);
};

/**
 * Says how many commits the backfill will process and where the pings go, and asks before it
 * starts (unless `--yes`). Exits 0 when there is nothing to do, 1 when compare cannot be read
 * (an unknown sha, a repository GitHub does not know) or the answer is no, 2 when BASE and
 * HEAD are the wrong way round.
 */
export const planGitBackfill = async (
  name: string,
  git: Pick<GitHubClient, 'compareCount'>,
  range: CommitRange,
  sendTo: string | undefined,
  ask: boolean,
): Promise<number> => {
  const { repository, base, head } = range;
  const commits = await git
    .compareCount(repository, base, head)
    .catch((error: unknown) =>
      stop(
        name,
        'cannot compare',
        { repository, base, head, error },
        `cannot list the commits of ${repository} from ${base} to ${head}: ${describeError(error)}`,
        EXIT.failed,
      ),
    );
  // GitHub counts what HEAD adds to BASE: none, when HEAD is behind BASE (the two swapped).
  if (commits === 0 && (await git.compareCount(repository, head, base).catch(() => 0)) > 0) {
    stop(
      name,
      'HEAD is behind BASE: give the older commit first (BASE HEAD)',
      { repository, base, head },
      `HEAD ${head} is behind BASE ${base}: give the older commit first (BASE HEAD).`,
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
