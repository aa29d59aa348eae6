/**
 * The GitHub client and the git forge of the pipeline, over real loopback HTTP against the
 * GitHub stand-in (test/support/standIns/githubStandIn.ts) serving fixtures/github/. Expected pings are
 * fixtures/expected/github-*-pings.json, written by hand from the recorded commits and the
 * review rules (fixtures/README.md, "GitHub").
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { from, lastValueFrom, toArray } from 'rxjs';
import { Registry } from 'prom-client';
import { githubRateLimitGauge } from '../../../src/clients/github/rateLimitGauge.js';
import { createClients, type GitHubExtras } from '../../../src/clients/index.js';
import type { Ping } from '../../../src/codecs/ping.js';
import type { UpstreamSettings } from '../../../src/codecs/settings.js';
import { NoSuchChangeset, PipelineError } from '../../../src/errors.js';
import { configureLog } from '../../../src/log.js';
import { pipeline } from '../../../src/pipeline/index.js';
import type { Job } from '../../../src/pipeline/job.js';
import { dryRun } from '../../../src/pipeline/ledger.js';
import { documentId } from '../../../src/rules/ping.js';
import { MemorySink } from '../../../src/sinks/memory.js';
import { FIXTURES_DIR } from '../../support/data/fixtureData.js';
import { startFixtures, type Fixtures } from '../../support/standIns/fixtureServer.js';
import {
  GITHUB_LISTED_FILES,
  recordedGitHub,
  startGitHub,
  type GitHubStandIn,
} from '../../support/standIns/githubStandIn.js';
import { capturingLog } from '../../support/outage.js';
import { sleep, until } from '../../support/wait.js';

configureLog({ level: 'silent' });

const recorded = recordedGitHub();
const shas = [...recorded.commits.values()]
  .sort((a, b) => a.commit.committer.date.localeCompare(b.commit.committer.date))
  .map((c) => c.sha);
const ROOT = shas[0]!;
const AUTOLAND_HEAD = recorded.head('autoland');
const MAIN_HEAD = recorded.head('main');
const UNKNOWN = '0123456789abcdef0123456789abcdef01234567';

const expected = (branch: string): Record<string, Ping> =>
  JSON.parse(
    readFileSync(join(FIXTURES_DIR, 'expected', `github-${branch}-pings.json`), 'utf8'),
  ) as Record<string, Ping>;

const settingsOf = (gh: GitHubStandIn, fx?: Fixtures): UpstreamSettings => ({
  BMO_API_URL: fx === undefined ? 'http://127.0.0.1:9/rest' : `${fx.bmo.url}/rest`,
  ALLOWED_HOSTS: ['github.com', ...(fx === undefined ? [] : [fx.hg.host])],
  HTTP_CONCURRENCY: 8,
  DEBUG: false,
  ...gh.env,
});

const clientOf = (gh: GitHubStandIn, extras: GitHubExtras = {}, fx?: Fixtures) => {
  const clients = createClients(settingsOf(gh, fx), { backoffMs: 5 }, undefined, extras);
  return { ...clients, git: clients.github };
};

const all = async <T>(items: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
};

test('compare lists every commit oldest first, following Link from page to page', async (t) => {
  const gh = await startGitHub({ maxPerPage: 3 });
  const { git } = clientOf(gh);
  const commits = await all(git.compare(gh.repository('autoland'), ROOT, AUTOLAND_HEAD));
  t.deepEqual(
    commits.map((c) => c.node),
    Object.keys(expected('autoland')),
  );
  t.is(gh.requests.length, 3, gh.requests.join('\n'));
  t.true(gh.requests.every((r) => r.includes('per_page=')));
  t.like(commits[0], {
    user: 'Mike Hommey <mh+mozilla@glandium.org>',
    parents: [ROOT],
    pushdate: [1759312933, 0],
    landingsystem: null,
  });
  await gh.close();
});

test('a merge lists its second parent; main lists what autoland brought and the merge', async (t) => {
  const gh = await startGitHub();
  const { git } = clientOf(gh);
  const commits = await all(git.compare(gh.repository('main'), ROOT, MAIN_HEAD));
  t.deepEqual(
    commits.map((c) => c.node),
    Object.keys(expected('main')),
  );
  t.is(commits.at(-1)!.parents.length, 2);
  await gh.close();
});

test('a diffstat counts the files of every page and takes the totals of stats', async (t) => {
  const gh = await startGitHub({ maxPerPage: 2 });
  const { git } = clientOf(gh);
  const phab = Object.values(expected('autoland')).find(
    (p) => p.reviewSystemUsed === 'phabricator',
  )!;
  t.deepEqual(await git.diffstat(gh.repository('autoland'), phab.changesetID), phab.diffstat);
  t.is(gh.requests.length, 2, 'three files, two a page');
  await gh.close();
});

test.serial(
  'past the 3000 files GitHub lists of a commit, the diffstat counts those and the log says so',
  async (t) => {
    const gh = await startGitHub({ extraFiles: GITHUB_LISTED_FILES + 500 });
    t.teardown(() => gh.close());
    const { git } = clientOf(gh);
    const phab = Object.values(expected('autoland')).find(
      (p) => p.reviewSystemUsed === 'phabricator',
    )!;
    const { result, lines } = await capturingLog(() =>
      git.diffstat(gh.repository('autoland'), phab.changesetID),
    );
    t.deepEqual(result, { ...phab.diffstat, changedFiles: GITHUB_LISTED_FILES });
    t.true(gh.requests.length > 1, 'the files came in pages');
    const warned = lines.filter((line) => line.level === 'warn');
    t.is(warned.length, 1);
    t.like(warned[0], {
      msg: 'GitHub lists no more than 3000 files of a commit: changedFiles counts those',
      sha: phab.changesetID,
      changedFiles: GITHUB_LISTED_FILES,
    });
  },
);

test('unknown shas: compare answers 404 and a commit 422, both a NoSuchChangeset', async (t) => {
  const gh = await startGitHub();
  const { git } = clientOf(gh);
  const repo = gh.repository('autoland');
  const compared = await t.throwsAsync(all(git.compare(repo, ROOT, UNKNOWN)), {
    instanceOf: NoSuchChangeset,
  });
  t.true(compared!.message.includes(UNKNOWN) && compared!.message.includes(repo));
  const fetched = await t.throwsAsync(git.changeset(repo, UNKNOWN), {
    instanceOf: NoSuchChangeset,
  });
  t.is(fetched!.message, `changeset ${UNKNOWN} was not found in ${repo}`);
  t.is(gh.requests.length, 2, 'neither is retried');
  await gh.close();
});

test('bad input is refused before any request, with what to write instead', async (t) => {
  const gh = await startGitHub();
  const { git } = clientOf(gh);
  const cases: [string, string, RegExp][] = [
    ['https://github.com/mozilla-firefox/firefox', AUTOLAND_HEAD, /does not name a branch/],
    [gh.repository('autoland'), 'abc', /not a full 40-character hex sha/],
    [gh.repository('a..b'), AUTOLAND_HEAD, /not a branch name git accepts/],
  ];
  for (const [repo, sha, message] of cases) {
    const error = await t.throwsAsync(git.changeset(repo, sha));
    t.regex(error!.message, message);
  }
  const other = createClients({ ...settingsOf(gh), ALLOWED_HOSTS: ['hg.mozilla.org'] }).github;
  const refused = await t.throwsAsync(other.changeset(gh.repository('autoland'), AUTOLAND_HEAD));
  t.regex(refused!.message, /not in ALLOWED_HOSTS/);
  t.deepEqual(gh.requests, []);
  await gh.close();
});

test('a branch head, then 304 while it has not moved, then the new head', async (t) => {
  const gh = await startGitHub();
  const { git } = clientOf(gh);
  const repo = gh.repository('autoland');
  const first = await git.branchHead(repo);
  if (first === 'unchanged') return t.fail();
  t.is(first.sha, AUTOLAND_HEAD);
  t.is(await git.branchHead(repo, first.etag), 'unchanged');
  gh.moveBranch('autoland', ROOT);
  t.like(await git.branchHead(repo, first.etag), { sha: ROOT });
  t.is(
    (await t.throwsAsync(git.branchHead(gh.repository('nope'))))!.message,
    `branch nope was not found: ${gh.repository('nope')}`,
  );
  await gh.close();
});

for (const kind of ['primary', 'secondary', 'bare'] as const) {
  test(`a ${kind} rate limit is waited out: one wait announced, nothing failed`, async (t) => {
    const gh = await startGitHub({ maxPerPage: 3 });
    const waits: number[] = [];
    const { git } = clientOf(gh, {
      onRateLimit: (until) => waits.push(until),
      minRateLimitWaitMs: 300,
    });
    gh.rateLimit(kind, 800);
    const started = Date.now();
    const commits = await all(git.compare(gh.repository('autoland'), ROOT, AUTOLAND_HEAD));
    t.is(commits.length, 8);
    t.true(gh.limited >= 1);
    t.true(waits.length >= 1 && waits.length <= 3, `${waits.length} waits`);
    t.true(waits[0]! > started);
    await gh.close();
  });
}

const gitPush = (repository: string, base: string, head: string): Job => ({
  label: `git push ${head.slice(0, 12)}`,
  target: { kind: 'gitPush', repository, base, head },
  receivedAt: Date.now(),
});

test('the pipeline sends the hand-written ping of every commit of both branches', async (t) => {
  const [gh, fx] = await Promise.all([startGitHub({ maxPerPage: 5 }), startFixtures()]);
  const clients = clientOf(gh, {}, fx);
  const sink = new MemorySink();
  const jobs = [
    gitPush(gh.repository('autoland'), ROOT, AUTOLAND_HEAD),
    gitPush(gh.repository('main'), ROOT, MAIN_HEAD),
  ];
  await lastValueFrom(pipeline({ ...clients, sink, ...dryRun })(from(jobs)).pipe(toArray()));
  for (const branch of ['autoland', 'main']) {
    const repository = gh.repository(branch);
    for (const [sha, ping] of Object.entries(expected(branch))) {
      const sent = sink.pings.filter((p) => p.repository === repository && p.changesetID === sha);
      t.deepEqual(sent, [ping], `${branch} ${sha}`);
    }
  }
  t.is(sink.pings.length, 8 + 5);
  const [shared] = Object.keys(expected('main'));
  t.not(documentId(gh.repository('autoland'), shared!), documentId(gh.repository('main'), shared!));
  // A commit is asked for only for a diffstat (the phabricator and bmo ones), and once for
  // both branches.
  const commitRequests = gh.requests.filter((r) => r.includes('/commits/'));
  t.is(commitRequests.length, 2, commitRequests.join('\n'));
  await Promise.all([gh.close(), fx.close()]);
});

test('a single git commit is a changeset job on the git forge', async (t) => {
  const [gh, fx] = await Promise.all([startGitHub(), startFixtures()]);
  const clients = clientOf(gh, {}, fx);
  const sink = new MemorySink();
  const [sha, ping] = Object.entries(expected('autoland'))[2]!;
  const job: Job = {
    label: 'one',
    target: { kind: 'changeset', repository: gh.repository('autoland'), node: sha },
    receivedAt: Date.now(),
  };
  await lastValueFrom(pipeline({ ...clients, sink, ...dryRun })(from([job])).pipe(toArray()));
  t.deepEqual(sink.pings, [ping]);
  t.deepEqual(fx.hg.requests, []);
  await Promise.all([gh.close(), fx.close()]);
});

test('the rate-limit gauge says when the wait ends', async (t) => {
  const gh = await startGitHub();
  const { git } = clientOf(gh);
  const registry = new Registry();
  const gauge = githubRateLimitGauge(registry, git);
  t.is((await gauge.get()).values[0]!.value, 0);
  gh.rateLimit('secondary', 1000);
  const started = Date.now();
  await git.changeset(gh.repository('autoland'), AUTOLAND_HEAD);
  const resets = (await gauge.get()).values[0]!.value;
  t.true(resets * 1000 >= started + 1000 && resets * 1000 <= Date.now() + 1000, String(resets));
  t.regex(await registry.metrics(), /commit_telemetry_github_rate_limit_reset_seconds \d+/);
  await gh.close();
});

test('stopWaiting ends every rate-limit wait at once, that of a request queued for a slot too', async (t) => {
  const gh = await startGitHub({ latencyMs: 200 });
  t.teardown(() => gh.close());
  // One slot: the second request passes the waiter, then waits for the slot while the first
  // is answered "retry after 50 s", a wait Http would have slept out itself, unstoppable.
  const clients = createClients({ ...settingsOf(gh), HTTP_CONCURRENCY: 1 }, { backoffMs: 5 });
  gh.rateLimit('secondary', 50_000);
  const asked = [AUTOLAND_HEAD, MAIN_HEAD].map((sha) =>
    clients.github.changeset(gh.repository('autoland'), sha).then(
      () => 'answered',
      (error: unknown) => (error instanceof PipelineError ? error.kind : 'other'),
    ),
  );
  await until('the limit met', () => gh.limited >= 1);
  await sleep(300); // the second request now holds the slot, or waits on the hold
  const stoppedAt = Date.now();
  clients.github.rateLimits.stopWaiting();
  t.deepEqual(await Promise.all(asked), ['transient', 'transient']);
  t.true(Date.now() - stoppedAt < 5_000, `both failed ${Date.now() - stoppedAt} ms after the stop`);
});

test('a 403 that is no rate limit is permanent and says why GitHub refused', async (t) => {
  const gh = await startGitHub();
  const { git } = clientOf(gh);
  gh.forbid(/\/commits\//);
  const error = await t.throwsAsync(git.changeset(gh.repository('autoland'), AUTOLAND_HEAD));
  t.regex(
    error!.message,
    /answered 403; check GITHUB_TOKEN: .*Resource not accessible by personal access token/,
  );
  t.is(gh.limited, 0);
  await gh.close();
});

test('a compare that lists fewer commits than it counts is transient, with both counts', async (t) => {
  const gh = await startGitHub({ maxPerPage: 3, unlistedCommits: 2 });
  const { git } = clientOf(gh);
  const repository = gh.repository('autoland');
  const error = await t.throwsAsync(all(git.compare(repository, ROOT, AUTOLAND_HEAD)));
  t.true(error instanceof PipelineError && error.kind === 'transient', String(error));
  for (const part of [repository, ROOT, AUTOLAND_HEAD, 'listed 8', 'counted 10']) {
    t.true(error!.message.includes(part), `${part} in ${error!.message}`);
  }
  await gh.close();
});
