/**
 * backfill-pushlog against a pushlog, and a REPO_URL, that do not behave (found in review):
 * each run is the built command against the loopback stand-ins, on a store of its own.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand, startCommand } from '../../support/cli.js';
import { startFixtures, type Fixtures } from '../../support/standIns/fixtureServer.js';
import { syntheticFixtures } from '../../support/data/syntheticFixtures.js';

const REPO_PATH = 'integration/autoland';
const STORES = mkdtempSync(join(tmpdir(), 'cts-hostile-pushlog-'));
test.after.always(() => rmSync(STORES, { recursive: true, force: true }));
let stores = 0;
const freshStore = (): string => `sqlite:${join(STORES, `store-${(stores += 1)}.sqlite`)}`;

const setup = async (t: ExecutionContext, pushes: number) => {
  const data = syntheticFixtures({ pushes, changesetsPerPush: 3, repoPath: REPO_PATH });
  const fx = await startFixtures({ data, latencyMs: 0 });
  t.teardown(() => fx.close());
  return { fx, data, repo: fx.repo(REPO_PATH) };
};

const backfill = (fx: Fixtures, args: string[], store = freshStore()) =>
  runCommand('backfillPushlog', ['--yes', ...args], { ...fx.env, DATABASE_URL: store });

const puts = (fx: Fixtures) => fx.tmo.requests.filter((r) => r.startsWith('PUT')).length;
const entry = (changesets: readonly string[]) => ({ changesets, date: 1_700_000_000, user: 's' });

test('a later page naming an older newest push (a mirror behind) fails the run, with a resume command', async (t) => {
  const { fx, repo } = await setup(t, 30);
  // The first page says the newest push is 30; the mirror answering the second is at 10.
  fx.fail({
    match: /json-pushes\?version=2&startID=10&endID=20$/,
    body: () => JSON.stringify({ lastpushid: 10, pushes: {} }),
    times: 1,
  });
  const result = await backfill(fx, ['--page-size', '10', repo, '0', '30']);
  t.is(result.code, 1, 'pushes 11 to 30 were never read');
  t.regex(result.stderr, /named 10 as its newest push after 30/);
  t.regex(result.stderr, /"msg":"resume".*--yes .* 10 30/);
  t.is(puts(fx), 30, 'the first page, sent');
});

test('a page keyed by a push id not in plain decimal ("01") is an answer of the wrong shape: asked again, no crash', async (t) => {
  const { fx, data, repo } = await setup(t, 3);
  // Read as a record, the key was looked up again by its number, found nothing, and crashed
  // the run. Refused at the boundary now (test/codecs/codecs.test.ts), it is asked again.
  fx.fail({
    match: /json-pushes\?version=2&startID=0&endID=3$/,
    body: () => JSON.stringify({ lastpushid: 3, pushes: { '01': entry(data.nodes(1)) } }),
    times: 1,
  });
  const result = await backfill(fx, [repo, '0', '3']);
  t.is(result.code, 0, result.stderr.slice(-2000));
  t.notRegex(result.stderr, /unexpected error|"stack"/);
  t.is(puts(fx), 9);
});

test('a REPO_URL with a query string or a fragment is refused: it would be another repository', async (t) => {
  const { fx, repo } = await setup(t, 3);
  for (const odd of [`${repo}?x=1`, `${repo}?`, `${repo}#top`]) {
    const result = await backfill(fx, [odd, '0', '3']);
    t.is(result.code, 2, odd);
    t.regex(result.stderr, /a repository URL has no query string or fragment/, odd);
  }
  t.is(puts(fx), 0);
});

test('a landing listed twice, in one push or in two, is sent once: the run does not race its own claim', async (t) => {
  const { fx, data, repo } = await setup(t, 2);
  const [x] = data.nodes(1);
  fx.fail({
    match: /json-pushes\?version=2&startID=0&endID=2$/,
    body: () => JSON.stringify({ lastpushid: 2, pushes: { 1: entry([x!, x!]), 2: entry([x!]) } }),
  });
  const store = freshStore();
  const result = await backfill(fx, [repo, '0', '2'], store);
  t.is(result.code, 0, result.stderr.slice(-2000));
  t.is(puts(fx), 1);
  // Resent as the run's start found it: once, not once per listing.
  const resent = await backfill(fx, ['--resend', repo, '0', '2'], store);
  t.is(resent.code, 0, resent.stderr.slice(-2000));
  t.is(puts(fx), 2);
});

test('a push that landed during the run and failed still gets its resume command', async (t) => {
  const { fx, data, repo } = await setup(t, 20);
  // The first page says the newest push is 10; pushes 11 to 20 land before the next page.
  const firstFive = Object.fromEntries([1, 2, 3, 4, 5].map((id) => [id, entry(data.nodes(id))]));
  fx.fail({
    match: /json-pushes\?version=2&startID=0&endID=5$/,
    body: () => JSON.stringify({ lastpushid: 10, pushes: firstFive }),
    times: 1,
  });
  fx.fail({ match: new RegExp(`/json-rev/${data.nodes(15)[0]}$`), status: 404 });
  const result = await backfill(fx, ['--page-size', '5', repo, '0', '100']);
  t.is(result.code, 1, result.stderr.slice(-2000));
  t.regex(result.stderr, /"msg":"plan".*"last":10/);
  t.regex(
    result.stderr,
    /"msg":"resume".*--yes .* 14 100/,
    'it ended with exit 1 and nothing to run',
  );
  // The total grew with the pushes read past the plan: 20 of 20, not 20 of 10.
  t.regex(result.stderr, /"msg":"summary".*"pushes":20,"pushesTotal":20,/);
});

test('--no-send into a reader that stops early (| head -1): exit 141 as for SIGPIPE, no crash', async (t) => {
  const { fx, repo } = await setup(t, 30);
  const running = startCommand('backfillPushlog', ['--yes', '--no-send', repo, '0', '30'], fx.env);
  // As `head -1` does: read the first line, then close the pipe.
  running.child.stdout!.once('data', () => running.child.stdout!.destroy());
  const result = await running.finished;
  t.is(result.code, 141, result.stderr.slice(-2000));
  t.notRegex(result.stderr, /unexpected error|"stack"/);
});
