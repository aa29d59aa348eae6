/**
 * `backfill-git`, the built command, against the GitHub stand-in, the Bugzilla and telemetry
 * fixture servers and a SQLite store of its own. The pings it must send are the hand-written
 * fixtures/expected/github-*-pings.json.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ping } from '../../../src/codecs/ping.js';
import { documentId } from '../../../src/rules/ping.js';
import { runCommand, startCommand } from '../../support/cli.js';
import { FIXTURES_DIR } from '../../support/data/fixtureData.js';
import { startFixtures, type Fixtures } from '../../support/standIns/fixtureServer.js';
import {
  recordedGitHub,
  startGitHub,
  type GitHubStandIn,
} from '../../support/standIns/githubStandIn.js';
import { until } from '../../support/wait.js';
import { readable } from '../readable.js';

const SUBMIT = '/submit/eng-workflow/hgpush/1/';
const recorded = recordedGitHub();
const ROOT = [...recorded.commits.values()].find((c) => c.parents.length === 0)!.sha;
const HEADS = { autoland: recorded.head('autoland'), main: recorded.head('main') };
type Branch = keyof typeof HEADS;

const expected = (branch: Branch): Record<string, Ping> =>
  JSON.parse(
    readFileSync(join(FIXTURES_DIR, 'expected', `github-${branch}-pings.json`), 'utf8'),
  ) as Record<string, Ping>;

const STORES = mkdtempSync(join(tmpdir(), 'cts-backfill-git-'));
test.after.always(() => rmSync(STORES, { recursive: true, force: true }));
let stores = 0;
const freshStore = (): string => `sqlite:${join(STORES, `store-${(stores += 1)}.sqlite`)}`;

const setup = async (t: { teardown(fn: () => Promise<unknown>): void }, maxPerPage = 3) => {
  const [fx, gh] = await Promise.all([startFixtures(), startGitHub({ maxPerPage })]);
  t.teardown(() => Promise.all([fx.close(), gh.close()]));
  return { fx, gh };
};

const envOf = (fx: Fixtures, gh: GitHubStandIn, store: string): Record<string, string> => ({
  ...fx.env,
  ...gh.env,
  ALLOWED_HOSTS: `${fx.env.ALLOWED_HOSTS},github.com`,
  DATABASE_URL: store,
});

const backfill = (env: Record<string, string>, branch: Branch, extra: string[] = []) =>
  runCommand(
    'backfillGit',
    [
      '--yes',
      ...extra,
      `https://github.com/mozilla-firefox/firefox/tree/${branch}`,
      ROOT,
      HEADS[branch],
    ],
    env,
  );

const sorted = <T>(entries: Iterable<[string, T]>): Record<string, T> =>
  Object.fromEntries([...entries].sort(([a], [b]) => a.localeCompare(b)));

/** What telemetry received for a branch, by document id. */
const receivedFor = (fx: Fixtures, branch: Branch): Record<string, unknown> => {
  const repository = `https://github.com/mozilla-firefox/firefox/tree/${branch}`;
  const out = new Map<string, unknown>();
  for (const [path, ping] of fx.tmo.received) {
    if ((ping as Ping).repository === repository) out.set(path.slice(SUBMIT.length), ping);
  }
  return sorted(out);
};

const expectedById = (branch: Branch): Record<string, Ping> =>
  sorted(
    Object.entries(expected(branch)).map(([sha, ping]): [string, Ping] => [
      documentId(ping.repository, sha),
      ping,
    ]),
  );

test('one exact ping per commit; a second run sends nothing; another branch gets its own', async (t) => {
  const { fx, gh } = await setup(t);
  const env = envOf(fx, gh, freshStore());
  const first = await backfill(env, 'autoland');
  t.is(first.code, 0, first.stderr);
  t.deepEqual(receivedFor(fx, 'autoland'), expectedById('autoland'));
  t.is(fx.tmo.received.size, 8);

  const again = await backfill(env, 'autoland');
  t.is(again.code, 0, again.stderr);
  t.is(fx.tmo.received.size, 8, 'the second run sent nothing');
  t.regex(again.stderr, /"skipped":8/);

  // The same four commits landed on main too: four landings more, and the merge.
  const main = await backfill(env, 'main');
  t.is(main.code, 0, main.stderr);
  t.deepEqual(receivedFor(fx, 'main'), expectedById('main'));
  t.is(fx.tmo.received.size, 8 + 5);
});

test('--no-send prints one ping a line and sends nothing', async (t) => {
  const { fx, gh } = await setup(t, 100);
  const result = await backfill(envOf(fx, gh, freshStore()), 'autoland', ['--no-send']);
  t.is(result.code, 0, result.stderr);
  const printed = result.stdout
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Ping);
  t.deepEqual(
    sorted(printed.map((p): [string, Ping] => [p.changesetID, p])),
    sorted(Object.entries(expected('autoland'))),
  );
  t.is(fx.tmo.received.size, 0);
});

test('owner and repository in capitals: the pings name the repository in lower case', async (t) => {
  const { fx, gh } = await setup(t, 100);
  const url = 'https://github.com/Mozilla-Firefox/Firefox/tree/autoland';
  const args = ['--yes', '--no-send', url, ROOT, HEADS.autoland];
  const result = await runCommand('backfillGit', args, envOf(fx, gh, freshStore()));
  t.is(result.code, 0, result.stderr);
  const printed = result.stdout
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Ping);
  t.deepEqual(
    sorted(printed.map((p): [string, Ping] => [p.changesetID, p])),
    sorted(Object.entries(expected('autoland'))),
  );
});

test('a rate limit is waited out: said once with when it resumes, shown in the progress, nothing failed', async (t) => {
  const { fx, gh } = await setup(t);
  // Opens at the first request of the run proper: the commits' second page.
  gh.rateLimit('primary', 2000, /compare\/.*page=2/);
  const result = await backfill(envOf(fx, gh, freshStore()), 'autoland');
  t.is(result.code, 0, result.stderr);
  t.true(gh.limited >= 1, `${gh.requests.join('\n')}\n${result.stderr}`);
  t.deepEqual(receivedFor(fx, 'autoland'), expectedById('autoland'));
  const waits = result.stderr
    .split('\n')
    .filter((line) => line.includes('GitHub asked us to wait'));
  t.is(waits.length, 1, result.stderr);
  t.regex(waits[0]!, /"resumesAt":"\d{4}-/);
  t.regex(
    result.stderr,
    /"msg":"progress".*"waitingFor":"127\.0\.0\.1:\d+ \(waiting until \d\d:\d\d:\d\d UTC\)"/,
  );
  t.regex(result.stderr, /"failed":0/);
  // Every progress event, the one the rate limit brings included, counts in commits.
  const progressLines = result.stderr.split('\n').filter((l) => l.includes('"msg":"progress"'));
  t.true(progressLines.length > 0);
  t.true(progressLines.every((l) => l.includes('"commitsDone"') && !l.includes('"pushes')));
});

test('bad input: a URL that is no git branch is a usage error; an unknown sha fails naming it', async (t) => {
  const { fx, gh } = await setup(t);
  const env = envOf(fx, gh, freshStore());
  const noBranch = await runCommand(
    'backfillGit',
    ['--yes', 'https://github.com/mozilla-firefox/firefox', ROOT, HEADS.autoland],
    env,
  );
  t.is(noBranch.code, 2);
  t.regex(
    readable(noBranch.stderr),
    /REPO_URL: .*expected https:\/\/github\.com\/<owner>\/<repo>\/tree\/<branch>/,
  );
  const hg = await runCommand(
    'backfillGit',
    ['--yes', fx.repo('integration/autoland'), ROOT, HEADS.autoland],
    env,
  );
  t.is(hg.code, 2);
  t.regex(readable(hg.stderr), /use backfill-pushlog/);
  const notLanding = await runCommand(
    'backfillGit',
    ['--yes', gh.repository('feature/x'), ROOT, HEADS.autoland],
    env,
  );
  t.is(notLanding.code, 2);
  t.regex(
    readable(notLanding.stderr),
    /branch feature\/x is not a landing branch \(GITHUB_BRANCHES: main,autoland,beta,release,esr\*\)/,
  );
  const shortSha = await runCommand(
    'backfillGit',
    ['--yes', gh.repository('autoland'), 'abc', HEADS.autoland],
    env,
  );
  t.is(shortSha.code, 2);
  const unknown = 'deadbeef'.repeat(5);
  const missing = await runCommand(
    'backfillGit',
    ['--yes', gh.repository('autoland'), ROOT, unknown],
    env,
  );
  t.is(missing.code, 1);
  t.regex(readable(missing.stderr), new RegExp(`${unknown}.*not found`));
  // It did not say which of BASE, HEAD or the repository GitHub does not know.
  t.regex(
    readable(missing.stderr),
    /check that BASE and HEAD are shas of commits of that repository/,
  );
  // HEAD behind BASE: the two swapped, not "nothing to do" with exit 0.
  const swapped = await runCommand(
    'backfillGit',
    ['--yes', gh.repository('autoland'), HEADS.autoland, ROOT],
    env,
  );
  t.is(swapped.code, 2, swapped.stderr);
  t.regex(readable(swapped.stderr), /HEAD is behind BASE: give the older commit first/);
  // main's head as the HEAD of autoland: its commits did not land there.
  const foreign = await runCommand(
    'backfillGit',
    ['--yes', gh.repository('autoland'), ROOT, HEADS.main],
    env,
  );
  t.is(foreign.code, 2, foreign.stderr);
  t.regex(readable(foreign.stderr), /HEAD is not on the branch REPO_URL names/);
  t.is(fx.tmo.received.size, 0);
});

test('a failing commit: the others are sent, exit 1, and the resume command starts after the last commit done', async (t) => {
  const { fx, gh } = await setup(t);
  // Bugzilla refuses the bmo commit's bug (the third commit) for good.
  fx.fail({ match: /bug\/1849011/, status: 400 });
  const result = await backfill(envOf(fx, gh, freshStore()), 'autoland');
  t.is(result.code, 1, result.stderr);
  t.is(fx.tmo.received.size, 7);
  const secondSha = Object.keys(expected('autoland'))[1]!;
  t.regex(result.stderr, new RegExp(`"msg":"resume".*"resumeAfter":"${secondSha}"`));
  t.regex(
    result.stderr,
    new RegExp(
      `backfillGit\\.js --yes https://github.com/mozilla-firefox/firefox/tree/autoland ${secondSha} ${HEADS.autoland}`,
    ),
  );
});

test('Ctrl-C during a rate-limit wait ends the run at once, with its resume command', async (t) => {
  const { fx, gh } = await setup(t);
  // A primary limit resetting in ten minutes, met on the commits' second page.
  gh.rateLimit('primary', 600_000, /compare\/.*page=2/);
  const running = startCommand(
    'backfillGit',
    ['--yes', gh.repository('autoland'), ROOT, HEADS.autoland],
    envOf(fx, gh, freshStore()),
  );
  running.child.stdin!.end();
  await running.stderrIncludes('GitHub asked us to wait');
  const interruptedAt = Date.now();
  running.child.kill('SIGINT');
  const { code, signal, stderr } = await running.finished;
  // It sat out the whole wait: a Ctrl-C did nothing until the limit reset (up to an hour).
  t.true(Date.now() - interruptedAt < 20_000, `ended ${Date.now() - interruptedAt} ms after`);
  t.deepEqual({ code, signal }, { code: null, signal: 'SIGINT' }, stderr);
  t.regex(stderr, /"msg":"summary"/);
  t.regex(stderr, /"msg":"resume","resumeAfter":"[0-9a-f]{40}"/);
});

test('SIGTERM mid-run: the commits in flight finish, a summary, the resume command, ended by SIGTERM', async (t) => {
  const [fx, gh] = await Promise.all([
    startFixtures(),
    startGitHub({ maxPerPage: 1, latencyMs: 300 }),
  ]);
  t.teardown(() => Promise.all([fx.close(), gh.close()]));
  const repository = gh.repository('autoland');
  const running = startCommand(
    'backfillGit',
    ['--yes', repository, ROOT, HEADS.autoland],
    envOf(fx, gh, freshStore()),
  );
  running.child.stdin!.end();
  await until('the first ping', () => fx.tmo.received.size >= 1, 60_000);
  running.child.kill('SIGTERM');
  const { code, signal, stderr } = await running.finished;
  t.deepEqual({ code, signal }, { code: null, signal: 'SIGTERM' }, stderr);
  t.regex(stderr, /"msg":"interrupted"/);
  t.regex(stderr, /"msg":"summary"/);
  const resume = /"msg":"resume","resumeAfter":"([0-9a-f]{40})"/.exec(stderr);
  t.truthy(resume, stderr);
  const order = Object.keys(expected('autoland'));
  const mark = order.indexOf(resume![1]!) + 1;
  t.true(mark >= 1 && mark < order.length, `mark ${mark}`);
  // Every commit up to the mark was sent, and none after it.
  const sent = Object.values(receivedFor(fx, 'autoland')).map((p) => (p as Ping).changesetID);
  t.deepEqual(sent.sort(), order.slice(0, mark).sort());
});
