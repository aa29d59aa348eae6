import anyTest, { type TestFn } from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sortedJson } from '../../../src/sinks/stdout.js';
import { runCommand, runTimed } from '../../support/cli.js';
import { jsonWithHugeString } from '../../support/data/hugeJson.js';
import { FIXTURES_DIR } from '../../support/data/fixtureData.js';
import { startFixtures, type Fixtures } from '../../support/standIns/fixtureServer.js';
import { readable } from '../readable.js';

const test = anyTest as TestFn<{ fx: Fixtures; env: Record<string, string> }>;
const REPO = 'integration/autoland';
const expected = JSON.parse(
  readFileSync(join(FIXTURES_DIR, 'expected', 'autoland-pings.json'), 'utf8'),
) as Record<string, { repository: string; reviewSystemUsed: string }>;

test.before(async (t) => {
  t.context.fx = await startFixtures();
  t.context.env = { ...t.context.fx.env, TARGET_REPO: t.context.fx.repo(REPO) };
});
test.after.always(async (t) => t.context.fx.close());

/** One changeset of each review system the fixtures record. */
const oneOfEach = Object.entries(expected).filter(
  ([, ping], i, all) =>
    all.findIndex(([, p]) => p.reviewSystemUsed === ping.reviewSystemUsed) === i,
);

for (const [node, ping] of oneOfEach) {
  test(`prints the exact ${ping.reviewSystemUsed} ping, sorted and indented by 4, from a 12-character prefix`, async (t) => {
    const result = await runCommand('dumpTelemetry', [node.slice(0, 12)], t.context.env);
    t.is(result.code, 0, result.stderr);
    const want = { ...ping, repository: t.context.fx.repo(REPO) };
    t.is(result.stdout, `${sortedJson(want, 4)}\n`);
    t.is(result.stderr, '');
  });
}

test('an unknown changeset: one line on stderr naming it and the repository, nothing on stdout, exit 1', async (t) => {
  const node = 'deadbeef'.repeat(5);
  const result = await runCommand('dumpTelemetry', [node], t.context.env);
  t.is(result.code, 1);
  t.is(result.stdout, '');
  t.is(
    readable(result.stderr),
    `dump-telemetry: changeset ${node} was not found in ${t.context.fx.repo(REPO)}\n`,
  );
});

test('invalid arguments are a usage error (exit 2) and make no request', async (t) => {
  // A server of its own, so the other tests' requests do not count here.
  const fx = await startFixtures();
  t.teardown(() => fx.close());
  const env = { ...fx.env, TARGET_REPO: fx.repo(REPO) };
  for (const args of [
    [],
    ['xyz'],
    ['abc123'],
    ['0123456789abcdef0123456789abcdef012345678'],
    ['--bogus', 'f7ea35ab0117'],
  ]) {
    const result = await runCommand('dumpTelemetry', args, env);
    t.is(result.code, 2, args.join(' '));
    t.is(result.stdout, '');
  }
  const refused = await runCommand(
    'dumpTelemetry',
    ['--target-repo', 'https://evil.example.com/mozilla-central', 'f7ea35ab0117'],
    env,
  );
  t.is(refused.code, 2);
  t.regex(
    refused.stderr,
    /--target-repo: refusing to fetch https:\/\/evil\.example\.com\/mozilla-central: its host is not in ALLOWED_HOSTS/,
  );
  const notUrl = await runCommand(
    'dumpTelemetry',
    ['--target-repo', 'not-a-url', 'f7ea35ab0117'],
    env,
  );
  t.is(notUrl.code, 2);
  t.regex(readable(notUrl.stderr), /--target-repo: "not-a-url" is not a URL/);
  const ftp = await runCommand(
    'dumpTelemetry',
    ['--target-repo', 'ftp://hg.mozilla.org/mozilla-central', 'f7ea35ab0117'],
    env,
  );
  t.regex(ftp.stderr, /--target-repo: .*only http and https URLs are fetched/);
  // No --target-repo: the repository came from TARGET_REPO, and the error says so.
  const withoutTarget = Object.fromEntries(
    Object.entries(env).filter(([name]) => name !== 'TARGET_REPO'),
  );
  const fromSetting = await runCommand('dumpTelemetry', ['f7ea35ab0117'], withoutTarget);
  t.is(fromSetting.code, 2);
  t.regex(
    readable(fromSetting.stderr),
    /^dump-telemetry: TARGET_REPO: refusing to fetch https:\/\/hg\.mozilla\.org\/mozilla-central: its host is not in ALLOWED_HOSTS/m,
  );
  const badSetting = await runCommand('dumpTelemetry', ['f7ea35ab0117'], {
    ...env,
    HTTP_CONCURRENCY: 'lots',
  });
  t.is(badSetting.code, 2);
  t.regex(
    readable(badSetting.stderr),
    /HTTP_CONCURRENCY: expected an integer from 1 to 100, got "lots"$/m,
  );
  const fromDotenv = await runCommand('dumpTelemetry', ['f7ea35ab0117'], {
    ...env,
    DOTENV: 'HTTP_CONCURRENCY=lots\n',
  });
  t.is(fromDotenv.code, 2);
  t.regex(
    readable(fromDotenv.stderr),
    /HTTP_CONCURRENCY: expected an integer .*, got "lots" \(set in \.env\)/,
  );
  t.deepEqual([...fx.hg.requests, ...fx.bmo.requests], []);
});

test('--debug logs requests and decisions to stderr only', async (t) => {
  const result = await runCommand('dumpTelemetry', ['--debug', 'f7ea35ab0117'], t.context.env);
  t.is(result.code, 0);
  const events = result.stderr
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  t.true(events.every((e) => e.level === 'debug' && typeof e.time === 'string'));
  t.truthy(
    events.find(
      (e) =>
        e.msg === 'answered' &&
        e.status === 200 &&
        /^GET http:\/\/127\.0\.0\.1:\d+\/integration\/autoland\/json-rev\/f7ea35ab0117$/.test(
          String(e.request),
        ),
    ),
  );
  t.like(
    events.find((e) => e.msg === 'classified'),
    { node: 'f7ea35ab0117950edc47de7130e9d8941d0574d4', reviewSystem: 'phabricator', bug: 1851234 },
  );
  t.notThrows(() => JSON.parse(result.stdout));
});

test('--help documents the arguments, options, settings and exit codes', async (t) => {
  const result = await runCommand('dumpTelemetry', ['--help']);
  t.is(result.code, 0);
  for (const text of [
    'NODE_ID',
    '--debug',
    '--target-repo',
    'TARGET_REPO',
    'ALLOWED_HOSTS',
    'BMO_API_URL',
    'HTTP_CONCURRENCY',
    'Exit status',
  ]) {
    t.true(result.stdout.includes(text), text);
  }
});

// --- Hostile upstreams -------------------------------------------------------------------------

/** A phabricator changeset of the fixtures: its patch is fetched for a diffstat. */
const withPatch = Object.keys(expected).find(
  (n) => expected[n]!.reviewSystemUsed === 'phabricator',
)!;

/** Peak RSS of a finished child, by `/usr/bin/time -f %M` (KiB), when time(1) is there. */
const timed = existsSync('/usr/bin/time');

test('a patch that trickles past STREAM_DEADLINE_SECONDS: exit 1, naming the request and its deadline', async (t) => {
  t.timeout(150_000);
  const fx = await startFixtures();
  t.teardown(() => fx.close());
  // A byte a second never stalls, yet never ends: only the whole-answer deadline stops it.
  fx.fail({ match: /\/raw-rev\//, trickleMs: 1000 });
  const started = Date.now();
  const result = await runCommand('dumpTelemetry', [withPatch], {
    ...fx.env,
    TARGET_REPO: fx.repo(REPO),
    STREAM_DEADLINE_SECONDS: '3',
  });
  const seconds = (Date.now() - started) / 1000;
  t.is(result.code, 1, result.stderr);
  // Each attempt ends at its 3 s deadline: the command ends (the bound allows a loaded machine).
  t.true(seconds < 100, `took ${seconds} s`);
  t.regex(result.stderr, new RegExp(`GET ${fx.hg.url}/${REPO}/raw-rev/${withPatch}`));
  t.regex(result.stderr, /3 s deadline/);
  t.is(result.stdout, '');
});

test('a 300 MB JSON answer: exit 1 at once, never held (peak RSS under 200 MB)', async (t) => {
  const fx = await startFixtures();
  t.teardown(() => fx.close());
  let served = 0;
  fx.fail({
    match: /\/json-rev\//,
    body: () =>
      jsonWithHugeString(300 * 1024 * 1024, 'desc').on(
        'data',
        (chunk: Buffer) => (served += chunk.length),
      ),
  });
  const env = { ...fx.env, TARGET_REPO: fx.repo(REPO) };
  const result = timed
    ? await runTimed('dumpTelemetry', [withPatch], env)
    : { ...(await runCommand('dumpTelemetry', [withPatch], env)), peakKiB: undefined };
  t.is(result.code, 1, result.stderr);
  // At once: it stopped reading soon after the 32 MB cap, long before the 300 MB (counted in
  // bytes served, not seconds, which a loaded machine stretches).
  t.true(served < 100 * 1024 * 1024, `${served} bytes served`);
  t.regex(result.stderr, /MAX_ANSWER_MB/);
  if (result.peakKiB !== undefined) {
    t.true(result.peakKiB < 200 * 1024, `peak RSS ${Math.round(result.peakKiB / 1024)} MB`);
  }
});

test('LOG_LEVEL=debug logs as --debug does; LOG_LEVEL=error keeps stderr quiet', async (t) => {
  const debug = await runCommand('dumpTelemetry', ['f7ea35ab0117'], {
    ...t.context.env,
    LOG_LEVEL: 'debug',
  });
  t.is(debug.code, 0);
  t.regex(debug.stderr, /"level":"debug".*"msg":"classified"/);
  const quiet = await runCommand('dumpTelemetry', ['f7ea35ab0117'], {
    ...t.context.env,
    LOG_LEVEL: 'error',
  });
  t.is(quiet.code, 0);
  t.is(quiet.stderr, '');
});
