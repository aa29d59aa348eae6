/**
 * The built `backfill-pushlog` ends, on the stand-in servers, when waiting would not help:
 * telemetry answering 404 to ping after ping (a wrong TMO_BASE_URL path), or Bugzilla down
 * longer than --max-wait. Each run exits 1 with the summary, the reason naming the setting to
 * check, and the resume command; every line of stderr (piped) is JSON. A wait the host
 * announced (a 429 with Retry-After) is not an outage: shown with its end, waited out.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configureLog } from '../../../src/log.js';
import { runCommand } from '../../support/cli.js';
import { startFixtures } from '../../support/standIns/fixtureServer.js';
import { syntheticFixtures } from '../../support/data/syntheticFixtures.js';

configureLog({ level: 'silent' });

const REPO_PATH = 'integration/autoland';
const PUSHES = 40;

type Line = Record<string, unknown>;

const setUp = async (t: ExecutionContext) => {
  const data = syntheticFixtures({ pushes: PUSHES, changesetsPerPush: 3, repoPath: REPO_PATH });
  const fx = await startFixtures({ data });
  const dir = mkdtempSync(join(tmpdir(), 'cts-backfill-gives-up-'));
  t.teardown(async () => {
    await fx.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { fx, env: { ...fx.env, DATABASE_URL: `sqlite:${join(dir, 'store.sqlite')}` } };
};

/** Every line of stderr, each parsed as JSON (a line that is not fails the test). */
const linesOf = (stderr: string): Line[] =>
  stderr
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Line);

test('telemetry answering 404 to ping after ping: exit 1, the reason names TMO_BASE_URL, summary and resume', async (t) => {
  const { fx, env } = await setUp(t);
  const done = await runCommand(
    'backfillPushlog',
    ['--yes', fx.repo(REPO_PATH), '0', String(PUSHES)],
    {
      ...env,
      TMO_BASE_URL: `${fx.tmo.url}/wrong/path`,
    },
  );
  t.is(done.code, 1, done.stderr);
  const lines = linesOf(done.stderr);
  const stopped = lines.find((line) => line.msg === 'stopped');
  t.regex(
    String(stopped?.reason),
    /^127\.0\.0\.1:\d+ answered 5 requests in a row with 404, which waiting will not mend: check TMO_BASE_URL$/,
  );
  const summary = lines.find((line) => line.msg === 'summary');
  t.truthy(summary);
  t.true(Number(summary?.failed) >= 5, 'the refused pings are listed');
  t.true(Number(summary?.pushes) < PUSHES, 'it stopped early');
  const resume = lines.find((line) => line.msg === 'resume');
  t.regex(String(resume?.command), new RegExp(` ${fx.repo(REPO_PATH)} 0 ${PUSHES}$`));
  t.is(fx.tmo.received.size, 0, 'nothing was accepted');
});

test('Bugzilla down past --max-wait: exit 1, the reason names the host, BMO_API_URL and --max-wait', async (t) => {
  const { fx, env } = await setUp(t);
  fx.fail({ match: /\/rest\//, status: 503 });
  const done = await runCommand(
    'backfillPushlog',
    ['--yes', '--max-wait', '2', fx.repo(REPO_PATH), '0', String(PUSHES)],
    { ...env, BREAKER_FAILURES: '2', BREAKER_PROBE_SECONDS: '1' },
  );
  t.is(done.code, 1, done.stderr);
  const lines = linesOf(done.stderr);
  const waiting = lines.find((line) => typeof line.waitingFor === 'string');
  t.regex(
    String(waiting?.waitingFor),
    /^127\.0\.0\.1:\d+ \(down since \d\d:\d\d:\d\d UTC, giving up at \d\d:\d\d:\d\d UTC\)$/,
  );
  const stopped = lines.find((line) => line.msg === 'stopped');
  t.regex(
    String(stopped?.reason),
    /^127\.0\.0\.1:\d+ has been down since \d\d:\d\d:\d\d UTC.*, longer than --max-wait \(2 s\): check that it is up, and BMO_API_URL$/,
  );
  t.truthy(lines.find((line) => line.msg === 'summary'));
  const resume = lines.find((line) => line.msg === 'resume');
  t.regex(String(resume?.command), / --max-wait 2 /);
});

test('a wait the host announced (429, Retry-After) is shown with its end and waited out past --max-wait: exit 0', async (t) => {
  const { fx, env } = await setUp(t);
  fx.fail({ match: /PUT \/submit\//, status: 429, headers: { 'retry-after': '7' }, times: 2 });
  const pushes = 6;
  const done = await runCommand(
    'backfillPushlog',
    ['--yes', '--max-wait', '1', fx.repo(REPO_PATH), '0', String(pushes)],
    env,
  );
  t.is(done.code, 0, done.stderr);
  const lines = linesOf(done.stderr);
  const waiting = lines.find((line) => typeof line.waitingFor === 'string');
  t.regex(String(waiting?.waitingFor), /^127\.0\.0\.1:\d+ \(waiting until \d\d:\d\d:\d\d UTC\)$/);
  t.is(
    lines.find((line) => line.msg === 'stopped'),
    undefined,
  );
  t.like(
    lines.find((line) => line.msg === 'summary'),
    { failed: 0, changesets: pushes * 3 },
  );
});

test('a BMO_API_URL with a wrong path (404 pages, not Bugzilla): no ping sent as no_bug; once fixed, each sent right', async (t) => {
  const { fx, env } = await setUp(t);
  const data = syntheticFixtures({ pushes: PUSHES, changesetsPerPush: 3, repoPath: REPO_PATH });
  const args = ['--yes', fx.repo(REPO_PATH), '0', String(PUSHES)];
  const wrong = await runCommand('backfillPushlog', args, {
    ...env,
    BMO_API_URL: `${fx.bmo.url}/bugzilla`,
  });
  t.is(wrong.code, 1, wrong.stderr.slice(-2000));
  t.regex(wrong.stderr, /check BMO_API_URL/);
  const fixed = await runCommand('backfillPushlog', args, env);
  t.is(fixed.code, 0, fixed.stderr.slice(-2000));
  const pings = [...fx.tmo.received.values()] as {
    changesetID: string;
    reviewSystemUsed: string;
  }[];
  t.is(pings.length, PUSHES * 3);
  const wrongOnes = pings.filter((p) => p.reviewSystemUsed !== data.kindOf(p.changesetID));
  t.deepEqual(wrongOnes, [], 'sent with the review system a wrong BMO_API_URL gave them');
});
