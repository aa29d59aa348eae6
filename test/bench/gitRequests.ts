/**
 * GitHub requests per git commit, counted against the GitHub stand-in (fixtures/github, over
 * loopback HTTP, the real clients and pipeline, a dry-run ledger), and what that makes in
 * GitHub requests an hour at Firefox's landing rate.
 *
 *   npm run bench:git       (GIT_BENCH_LANDINGS_PER_HOUR, GIT_BENCH_COMMITS_PER_PUSH to vary)
 *
 * Two ways commits come in: a backfill lists a whole range with one compare (paged by 100),
 * the worker one push at a time (a compare per push). Either way a commit is asked for on its
 * own only when its review system needs a diffstat (phabricator, bmo), and once whichever
 * branches it lands on (autoland, then main). The hourly figure is
 * arithmetic on the measured counts, with the rate an ASSUMPTION (see the output): nothing in
 * the fixtures records Firefox's real pace (their pushes are spaced by hand).
 */
import { from, lastValueFrom, toArray } from 'rxjs';
import { createClients } from '../../src/clients/index.js';
import { configureLog } from '../../src/log.js';
import { pipeline } from '../../src/pipeline/index.js';
import type { Job } from '../../src/pipeline/job.js';
import { dryRun } from '../../src/pipeline/ledger.js';
import { MemorySink } from '../../src/sinks/memory.js';
import { startFixtures } from '../support/standIns/fixtureServer.js';
import { recordedGitHub, startGitHub } from '../support/standIns/githubStandIn.js';

configureLog({ level: 'silent' });

const number = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
/** ASSUMPTION: commits landing on autoland in a busy hour; override to taste. */
const LANDINGS_PER_HOUR = number('GIT_BENCH_LANDINGS_PER_HOUR', 20);
/** ASSUMPTION: commits per push (Lando lands a stack at once); the hg fixtures average 2.1. */
const COMMITS_PER_PUSH = number('GIT_BENCH_COMMITS_PER_PUSH', 2);
/** Gap-fill polls: one conditional branch read per branch every PUSHLOG_POLL_SECONDS (300). */
const POLLS_PER_HOUR_PER_BRANCH = 3600 / 300;

const recorded = recordedGitHub();
const ordered = [...recorded.commits.values()].sort((a, b) =>
  a.commit.committer.date.localeCompare(b.commit.committer.date),
);
const root = ordered[0]!.sha;
const autolandHead = recorded.head('autoland');

const job = (repository: string, base: string, head: string): Job => ({
  label: head.slice(0, 12),
  target: { kind: 'gitPush', repository, base, head },
  receivedAt: Date.now(),
});

const run = async (jobs: Job[]) => {
  const [gh, fx] = await Promise.all([startGitHub(), startFixtures()]);
  try {
    const clients = createClients({
      BMO_API_URL: `${fx.bmo.url}/rest`,
      ALLOWED_HOSTS: ['github.com'],
      HTTP_CONCURRENCY: 8,
      DEBUG: false,
      ...gh.env,
    });
    const sink = new MemorySink();
    await lastValueFrom(
      pipeline({ ...clients, git: clients.github, sink, ...dryRun })(from(jobs)).pipe(toArray()),
    );
    const compare = gh.requests.filter((r) => r.includes('/compare/')).length;
    const commit = gh.requests.filter((r) => r.includes('/commits/')).length;
    const diffstats = sink.pings.filter((p) => p.diffstat !== null).length;
    return { commits: sink.pings.length, compare, commit, diffstats };
  } finally {
    await Promise.all([gh.close(), fx.close()]);
  }
};

const repository = 'https://github.com/mozilla-firefox/firefox/tree/autoland';
const backfill = await run([job(repository, root, autolandHead)]);
// autoland and main together: main's copies of autoland's commits need no request more.
const bothBranches = await run([
  job(repository, root, autolandHead),
  job(repository.replace(/autoland$/, 'main'), root, recorded.head('main')),
]);
// The worker's way: one push per commit here (each its own compare), the most requests.
const autoland = ordered.filter((c) => c.sha !== root && c.parents.length === 1);
const perCommit = await run(
  autoland
    .filter((c) => c.sha !== recorded.head('main'))
    .map((c) => job(repository, c.parents[0]!.sha, c.sha)),
);

const perCommitFigure = (r: typeof backfill) => ({
  commits: r.commits,
  compareRequests: r.compare,
  commitRequests: r.commit,
  requestsPerCommit: Math.round(((r.compare + r.commit) / r.commits) * 100) / 100,
  diffstatShare: Math.round((r.diffstats / r.commits) * 100) / 100,
});

const hourly = (diffstatShare: number) => {
  const pushes = LANDINGS_PER_HOUR / COMMITS_PER_PUSH;
  // autoland's pushes, and the same commits again on main (fewer, larger pushes: ~4 a day).
  const compares = pushes + 4 / 24;
  // A commit's diffstat is asked once, whichever branch asks first (the client keeps it).
  const commits = LANDINGS_PER_HOUR * diffstatShare;
  const polls = 2 * POLLS_PER_HOUR_PER_BRANCH;
  return {
    compare: Math.round(compares * 10) / 10,
    commit: Math.round(commits * 10) / 10,
    conditionalPolls: polls,
    total: Math.round((compares + commits + polls) * 10) / 10,
  };
};

const measuredShare = perCommitFigure(backfill).diffstatShare;
console.log(
  JSON.stringify(
    {
      backfill: perCommitFigure(backfill),
      backfillAutolandAndMain: perCommitFigure(bothBranches),
      workerOnePushPerCommit: perCommitFigure(perCommit),
      assumptions: {
        landingsPerHour: LANDINGS_PER_HOUR,
        commitsPerPush: COMMITS_PER_PUSH,
        branches: ['autoland', 'main'],
        source: 'assumed, not measured: set GIT_BENCH_LANDINGS_PER_HOUR',
      },
      githubRequestsPerHour: {
        atFixtureDiffstatShare: { share: measuredShare, ...hourly(measuredShare) },
        everyCommitNeedsDiffstat: { share: 1, ...hourly(1) },
      },
      limits: { withToken: 5000, withoutToken: 60 },
    },
    null,
    2,
  ),
);
