/**
 * `dump-telemetry --target-repo https://github.com/<owner>/<repo>/tree/<branch> SHA`, the built
 * command against the GitHub stand-in (and the hg/Bugzilla fixture server for Bugzilla).
 */
import anyTest, { type TestFn } from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ping } from '../../../src/codecs/ping.js';
import { sortedJson } from '../../../src/sinks/stdout.js';
import { runCommand } from '../../support/cli.js';
import { FIXTURES_DIR } from '../../support/data/fixtureData.js';
import { startFixtures, type Fixtures } from '../../support/standIns/fixtureServer.js';
import { startGitHub, type GitHubStandIn } from '../../support/standIns/githubStandIn.js';
import { readable } from '../readable.js';

const test = anyTest as TestFn<{ fx: Fixtures; gh: GitHubStandIn; env: Record<string, string> }>;

const expected = JSON.parse(
  readFileSync(join(FIXTURES_DIR, 'expected', 'github-autoland-pings.json'), 'utf8'),
) as Record<string, Ping>;

test.before(async (t) => {
  const [fx, gh] = await Promise.all([startFixtures(), startGitHub()]);
  t.context = {
    fx,
    gh,
    env: {
      ...fx.env,
      ...gh.env,
      ALLOWED_HOSTS: `${fx.env.ALLOWED_HOSTS},github.com`,
      GITHUB_TOKEN: 'ghp_stand1n_t0ken_never_logged',
    },
  };
});
test.after.always(async (t) => Promise.all([t.context.fx.close(), t.context.gh.close()]));

/** One commit of each review system the recorded history has. */
const oneOfEach = Object.entries(expected).filter(
  ([, ping], i, all) =>
    all.findIndex(([, p]) => p.reviewSystemUsed === ping.reviewSystemUsed) === i,
);

for (const [sha, ping] of oneOfEach) {
  test.serial(`prints the exact ${ping.reviewSystemUsed} ping of a git commit`, async (t) => {
    const repo = t.context.gh.repository('autoland');
    const result = await runCommand(
      'dumpTelemetry',
      ['--debug', '--target-repo', repo, sha],
      t.context.env,
    );
    t.is(result.code, 0, result.stderr);
    t.is(result.stdout, `${sortedJson(ping, 4)}\n`);
    t.false(result.stderr.includes('ghp_stand1n'), 'the token is never logged');
  });
}

test.serial('the token is sent as a bearer token to the API host only', async (t) => {
  // Nothing asked the hg stand-in, not even for a git commit's ping.
  t.deepEqual(t.context.fx.hg.requests, []);
  t.true(t.context.gh.requests.length > 0);
  for (const headers of t.context.gh.headers) {
    t.like(headers, {
      authorization: 'Bearer ghp_stand1n_t0ken_never_logged',
      accept: 'application/vnd.github+json',
    });
    t.regex(headers.userAgent ?? '', /^commit-telemetry-service\//);
  }
});

test('an unknown sha: one line naming it and the repository, exit 1', async (t) => {
  const repo = t.context.gh.repository('autoland');
  const sha = 'deadbeef'.repeat(5);
  const result = await runCommand('dumpTelemetry', ['--target-repo', repo, sha], t.context.env);
  t.is(result.code, 1);
  t.is(result.stdout, '');
  t.is(readable(result.stderr), `dump-telemetry: changeset ${sha} was not found in ${repo}\n`);
});

test('a git repository URL without its branch is a usage error naming the form', async (t) => {
  const result = await runCommand(
    'dumpTelemetry',
    ['--target-repo', 'https://github.com/mozilla-firefox/firefox', 'deadbeef'.repeat(5)],
    t.context.env,
  );
  t.is(result.code, 2);
  t.regex(
    readable(result.stderr),
    /--target-repo: .*expected https:\/\/github\.com\/<owner>\/<repo>\/tree\/<branch>/,
  );
});

test('a sha prefix with a git branch is a usage error naming NODE_ID and the form', async (t) => {
  const repo = t.context.gh.repository('autoland');
  const [sha] = Object.keys(expected);
  const result = await runCommand(
    'dumpTelemetry',
    ['--target-repo', repo, sha!.slice(0, 12)],
    t.context.env,
  );
  t.is(result.code, 2, result.stderr);
  t.is(result.stdout, '');
  t.regex(readable(result.stderr), /NODE_ID: .*full 40-hex sha/);
});

test.serial('owner and repository in capitals name the same repository as pings do', async (t) => {
  const repo = t.context.gh.repository('autoland');
  const shouting = repo.replace('mozilla-firefox/firefox', 'Mozilla-Firefox/Firefox');
  t.not(shouting, repo);
  const [sha, ping] = Object.entries(expected)[0]!;
  const result = await runCommand('dumpTelemetry', ['--target-repo', shouting, sha], t.context.env);
  t.is(result.code, 0, result.stderr);
  t.is(result.stdout, `${sortedJson(ping, 4)}\n`);
});
