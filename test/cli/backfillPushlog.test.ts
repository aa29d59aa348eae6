import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import { confirm } from '../../src/cli/confirm.js';
import { commandPath } from '../support/cli.js';
import { configureLog } from '../../src/log.js';
import { documentId } from '../../src/rules/ping.js';
import { startFixtures, type Fixtures } from '../support/fixtureServer.js';
import { syntheticFixtures } from '../support/syntheticFixtures.js';

configureLog({ level: 'silent' });

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COMMAND = [process.execPath, commandPath('backfillPushlog')];
const REPO_PATH = 'integration/autoland';
const SUBMIT_PATH = '/submit/eng-workflow/hgpush/1/';
/** Settings the command reads; the test's own environment must not leak any into the child. */
const SETTINGS = [
  'BMO_API_URL',
  'ALLOWED_HOSTS',
  'HTTP_CONCURRENCY',
  'DEBUG',
  'TMO_BASE_URL',
  'TMO_PING_NAMESPACE',
  'TMO_PING_DOCTYPE',
  'TMO_PING_DOCVERSION',
];

type Data = ReturnType<typeof syntheticFixtures>;

interface Setup {
  readonly fx: Fixtures;
  readonly data: Data;
  readonly repo: string;
}

const setup = async (
  t: ExecutionContext,
  pushes = 30,
  options: { latencyMs?: number } = {},
): Promise<Setup> => {
  const data = syntheticFixtures({ pushes, changesetsPerPush: 3, repoPath: REPO_PATH });
  const fx = await startFixtures({ data, latencyMs: options.latencyMs ?? 0 });
  t.teardown(() => fx.close());
  return { fx, data, repo: fx.repo(REPO_PATH) };
};

const envFor = (fx: Fixtures, extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of SETTINGS) delete env[name];
  return { ...env, ...fx.env, HTTP_CONCURRENCY: '8', DEBUG: 'false', ...extra };
};

interface Result {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Waits for the child to exit, collecting its output; kills it if it hangs. */
const finished = (child: ChildProcess, timeoutMs = 30_000): Promise<Result> =>
  new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });

const start = (fx: Fixtures, args: readonly string[], env: Record<string, string> = {}) =>
  spawn(COMMAND[0]!, [...COMMAND.slice(1), ...args], {
    cwd: ROOT,
    env: envFor(fx, env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });

/**
 * Each run costs a second or two of CPU (node, tsx, the module graph): a few at a time keep
 * every one of them quick, where two dozen at once would crawl.
 */
const slots = pLimit(3);

/** Runs the command to its end, with stdin a pipe (not a terminal) closed at once. */
const run = (fx: Fixtures, args: readonly string[], env: Record<string, string> = {}) =>
  slots(() => {
    const child = start(fx, args, env);
    child.stdin.end();
    return finished(child);
  });

const range = (from: number, to: number): number[] =>
  Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

const nodesOf = (data: Data, from: number, to: number): string[] =>
  range(from, to).flatMap((pushId) => data.nodes(pushId));

const submitPath = (node: string) => `${SUBMIT_PATH}${documentId(node)}`;

/** How many of these changesets each review system should count in the summary. */
const systemCounts = (data: Data, nodes: readonly string[]): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const node of nodes) {
    const kind = data.kindOf(node)!;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
};

const assertSummary = (t: ExecutionContext, stderr: string, counts: Map<string, number>) => {
  for (const [system, count] of counts) {
    t.regex(stderr, new RegExp(`^  ${system}: ${count}$`, 'm'), `summary has ${system}: ${count}`);
  }
};

const pushlogRequests = (fx: Fixtures) => fx.hg.requests.filter((r) => r.includes('/json-pushes'));

const resumeLine = (stderr: string): string | undefined =>
  /^ {2}(backfill-pushlog .*)$/m.exec(stderr)?.[1];

const assertNoRequest = (t: ExecutionContext, fx: Fixtures) => {
  t.deepEqual(fx.hg.requests, [], 'no request to hg');
  t.deepEqual(fx.bmo.requests, [], 'no request to Bugzilla');
  t.deepEqual(fx.tmo.requests, [], 'no request to telemetry');
};

// --- Usage errors: exit 2, before any request -------------------------------------------------

const usageCases: readonly { title: string; args: (repo: string) => string[]; why: RegExp }[] = [
  {
    title: 'a starting push id that is not a number',
    args: (r) => [r, 'abc', '10'],
    why: /push id/,
  },
  {
    title: 'a starting push id that is not an integer',
    args: (r) => [r, '1.5', '10'],
    why: /push id/,
  },
  { title: 'start == end', args: (r) => [r, '10', '10'], why: /less than/ },
  { title: 'start > end', args: (r) => [r, '20', '10'], why: /less than/ },
  {
    title: 'a repository host that is not allowed',
    args: () => ['https://hg.mozilla.org/integration/autoland', '0', '10'],
    why: /ALLOWED_HOSTS/,
  },
  {
    title: 'an allowed host on another port',
    args: () => ['http://127.0.0.1:1/integration/autoland', '0', '10'],
    why: /ALLOWED_HOSTS/,
  },
  { title: '--page-size 0', args: (r) => ['--page-size', '0', r, '0', '10'], why: /page size/ },
  {
    title: '--page-size 1001',
    args: (r) => ['--page-size', '1001', r, '0', '10'],
    why: /page size/,
  },
  { title: '--page-size abc', args: (r) => ['--page-size', 'abc', r, '0', '10'], why: /page size/ },
];

for (const c of usageCases) {
  test(`usage error, exit 2, no request: ${c.title}`, async (t) => {
    const { fx, repo } = await setup(t);
    const result = await run(fx, ['--yes', ...c.args(repo)]);
    t.is(result.code, 2, result.stderr);
    t.regex(result.stderr, c.why);
    t.is(result.stdout, '');
    assertNoRequest(t, fx);
  });
}

test('usage error, exit 2, no request: bad settings name the variable', async (t) => {
  const { fx, repo } = await setup(t);
  const result = await run(fx, ['--yes', repo, '0', '10'], { HTTP_CONCURRENCY: '0' });
  t.is(result.code, 2, result.stderr);
  t.regex(result.stderr, /HTTP_CONCURRENCY/);
  assertNoRequest(t, fx);
});

// --- Confirmation -----------------------------------------------------------------------------

test('without a terminal and without --yes: says to pass --yes, exit 2, no request', async (t) => {
  const { fx, repo } = await setup(t);
  const result = await run(fx, [repo, '0', '10']);
  t.is(result.code, 2, result.stderr);
  t.is(
    result.stderr,
    'backfill-pushlog: stdin is not a terminal: pass --yes to proceed without a prompt.\n',
  );
  t.is(result.stdout, '');
  t.deepEqual([...fx.hg.requests, ...fx.bmo.requests, ...fx.tmo.requests], []);
});

// --- --no-send ----------------------------------------------------------------------------------

test('--yes --no-send: one JSON ping a line on stdout, one per changeset, nothing sent', async (t) => {
  const { fx, data, repo } = await setup(t);
  const result = await run(fx, ['--yes', '--no-send', '--page-size', '4', repo, '2', '12']);
  t.is(result.code, 0, result.stderr);
  t.true(result.stdout.endsWith('\n'));
  const lines = result.stdout.slice(0, -1).split('\n');
  const pings = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const expected = nodesOf(data, 3, 12);
  t.is(pings.length, expected.length);
  t.deepEqual(pings.map((p) => p.changesetID).sort(), [...expected].sort());
  for (const ping of pings) {
    t.is(ping.repository, repo);
    t.is(ping.reviewSystemUsed, data.kindOf(ping.changesetID as string));
  }
  t.deepEqual(fx.tmo.requests, [], 'nothing reached telemetry');
  t.true(result.stderr.includes(`${repo}: pushes 3 to 12, 10 pushes`), result.stderr);
  t.regex(result.stderr, /pings will be printed, not sent/);
  assertSummary(t, result.stderr, systemCounts(data, expected));
  t.regex(result.stderr, /^failures: 0$/m);
  t.is(resumeLine(result.stderr), undefined);
  for (const request of pushlogRequests(fx)) {
    const query = new URL(request.split(' ')[1]!, 'http://x').searchParams;
    t.true(Number(query.get('endID')) - Number(query.get('startID')) <= 4, request);
  }
});

// --- Sending ------------------------------------------------------------------------------------

test('--yes: every ping reaches telemetry; the summary counts pings per review system', async (t) => {
  const { fx, data, repo } = await setup(t);
  const result = await run(fx, ['--yes', repo, '0', '20']);
  t.is(result.code, 0, result.stderr);
  t.is(result.stdout, '', 'stdout is for --no-send pings only');
  const expected = nodesOf(data, 1, 20);
  t.is(fx.tmo.received.size, expected.length);
  for (const node of expected) {
    const ping = fx.tmo.received.get(submitPath(node)) as Record<string, unknown> | undefined;
    t.truthy(ping, `ping for ${node}`);
    t.like(ping, { changesetID: node, repository: repo, reviewSystemUsed: data.kindOf(node) });
  }
  t.true(result.stderr.includes(`${repo}: pushes 1 to 20, 20 pushes`), result.stderr);
  t.true(result.stderr.includes(`pings will be sent to ${fx.env.TMO_BASE_URL}`));
  t.regex(result.stderr, new RegExp(`^20 pushes, ${expected.length} changesets in `, 'm'));
  assertSummary(t, result.stderr, systemCounts(data, expected));
  t.regex(result.stderr, /^failures: 0$/m);
  t.is(resumeLine(result.stderr), undefined);
  // The probe for lastpushid, then one page: the page size defaults to 100.
  t.deepEqual(
    pushlogRequests(fx).map((r) => r.replace(/^GET .*\?/, '')),
    ['version=2&startID=0&endID=0', 'version=2&startID=0&endID=20'],
  );
});

test('a range past lastpushid: stops at the repository end, says so, exit 0', async (t) => {
  const { fx, data, repo } = await setup(t, 30);
  const result = await run(fx, ['--yes', '--page-size', '8', repo, '20', '1000']);
  t.is(result.code, 0, result.stderr);
  t.true(result.stderr.includes(`${repo}: pushes 21 to 30, 10 pushes`), result.stderr);
  t.regex(result.stderr, /the repository ends at push 30/);
  t.is(fx.tmo.received.size, nodesOf(data, 21, 30).length);
  const starts = pushlogRequests(fx).map((r) =>
    Number(new URL(r.split(' ')[1]!, 'http://x').searchParams.get('startID')),
  );
  t.false(
    starts.some((s) => s >= 30),
    `no pushlog request past push 30: ${starts.join(',')}`,
  );
});

test('an empty range (start == lastpushid): nothing to do, exit 0, no prompt', async (t) => {
  const { fx, repo } = await setup(t, 30);
  const result = await run(fx, ['--yes', repo, '30', '40']);
  t.is(result.code, 0, result.stderr);
  t.true(
    result.stderr.includes(`${repo}: no push after 30 (its newest push is 30); nothing to do.`),
  );
  t.notRegex(result.stderr, /Proceed|--yes/);
  t.deepEqual(fx.tmo.requests, []);
  t.deepEqual(
    fx.hg.requests.filter((r) => !r.includes('/json-pushes')),
    [],
  );
});

// --- Failures and the resume command -----------------------------------------------------------

test('a changeset that is not found: reported, the run goes on, exit 1, resume command', async (t) => {
  const { fx, data, repo } = await setup(t);
  const bad = data.nodes(7)[1]!;
  fx.fail({ match: new RegExp(`/json-rev/${bad}$`), status: 404 });
  const result = await run(fx, ['--yes', '--page-size', '5', repo, '0', '20']);
  t.is(result.code, 1, result.stderr);
  const others = nodesOf(data, 1, 20).filter((node) => node !== bad);
  t.is(fx.tmo.received.size, others.length, 'every other changeset was sent');
  t.false(fx.tmo.received.has(submitPath(bad)));
  t.regex(result.stderr, /^failures: 1$/m);
  t.regex(result.stderr, new RegExp(`^  push 7 ${bad}: .*not found`, 'm'));
  t.is(resumeLine(result.stderr), `backfill-pushlog --yes --page-size 5 ${repo} 6 20`);
  t.regex(result.stderr, /To resume after push 6,/);
});

test('telemetry refusing pings (400): reported, exit 1, resume from before the first failure', async (t) => {
  const { fx, data, repo } = await setup(t);
  const first = data.nodes(12)[0]!;
  const second = data.nodes(15)[2]!;
  for (const node of [second, first]) {
    fx.fail({ match: new RegExp(`^PUT .*/${documentId(node)}$`), status: 400 });
  }
  const result = await run(fx, ['--yes', repo, '4', '25']);
  t.is(result.code, 1, result.stderr);
  t.regex(result.stderr, /^failures: 2$/m);
  t.regex(result.stderr, new RegExp(`^  push 12 ${first}: telemetry refused .*400`, 'm'));
  t.regex(result.stderr, new RegExp(`^  push 15 ${second}: telemetry refused .*400`, 'm'));
  t.is(resumeLine(result.stderr), `backfill-pushlog --yes ${repo} 11 25`);
  const sent = nodesOf(data, 5, 25).filter((node) => node !== first && node !== second);
  t.true(sent.every((node) => fx.tmo.received.has(submitPath(node))));
});

test('--no-send with a failure: the resume command keeps --no-send', async (t) => {
  const { fx, data, repo } = await setup(t);
  const bad = data.nodes(3)[0]!;
  fx.fail({ match: new RegExp(`/json-rev/${bad}$`), status: 404 });
  const result = await run(fx, ['--yes', '--no-send', repo, '0', '10']);
  t.is(result.code, 1, result.stderr);
  t.is(result.stdout.trim().split('\n').length, 29, 'every other ping printed');
  t.is(resumeLine(result.stderr), `backfill-pushlog --no-send --yes ${repo} 2 10`);
  t.deepEqual(fx.tmo.requests, []);
});

test('a pushlog page that cannot be read: exit 1, resume after the pages done', async (t) => {
  const { fx, data, repo } = await setup(t);
  fx.fail({ match: /json-pushes\?.*startID=10&/, status: 404 });
  const result = await run(fx, ['--yes', '--page-size', '5', repo, '0', '25']);
  t.is(result.code, 1, result.stderr);
  t.regex(result.stderr, /stopped reading the pushlog|json-pushes/);
  t.is(fx.tmo.received.size, nodesOf(data, 1, 10).length);
  t.is(resumeLine(result.stderr), `backfill-pushlog --yes --page-size 5 ${repo} 10 25`);
});

// --- Ctrl-C -------------------------------------------------------------------------------------

/** Push ids with at least one ping received, and those with all of theirs. */
const receivedPushes = (fx: Fixtures, data: Data, pushes: number) => {
  const any: number[] = [];
  const all: number[] = [];
  for (const pushId of range(1, pushes)) {
    const got = data.nodes(pushId).filter((node) => fx.tmo.received.has(submitPath(node)));
    if (got.length > 0) any.push(pushId);
    if (got.length === data.nodes(pushId).length) all.push(pushId);
  }
  return { any, all };
};

const waitFor = async (condition: () => boolean, what: string, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

test.serial('SIGINT mid-run: in-flight pushes finish, exit 130, resume command', async (t) => {
  const { fx, data, repo } = await setup(t, 300, { latencyMs: 20 });
  const child = start(fx, ['--yes', '--page-size', '10', repo, '0', '300']);
  child.stdin.end();
  const result = finished(child);
  await waitFor(() => fx.tmo.received.size >= 30, 'the first pings');
  child.kill('SIGINT');
  const { code, stderr } = await result;
  t.is(code, 130, stderr);
  t.regex(stderr, /Interrupted: finishing the pushes in flight/);
  const line = resumeLine(stderr);
  const match = new RegExp(`^backfill-pushlog --yes --page-size 10 ${repo} (\\d+) 300$`).exec(
    line ?? '',
  );
  t.truthy(match, stderr);
  const mark = Number(match![1]);
  t.true(mark > 0 && mark < 300, `mark ${mark}`);
  const { any, all } = receivedPushes(fx, data, 300);
  t.deepEqual(all, range(1, mark), 'every push up to the mark was sent, and no other');
  t.deepEqual(any, all, 'no push was left half done: those in flight were finished');
  t.regex(stderr, /^failures: 0$/m);
});

test.serial('a second SIGINT quits at once with 130', async (t) => {
  const { fx, repo } = await setup(t, 300, { latencyMs: 20 });
  const child = start(fx, ['--yes', repo, '0', '300']);
  child.stdin.end();
  const result = finished(child);
  await waitFor(() => fx.tmo.received.size >= 5, 'the first pings');
  child.kill('SIGINT');
  await waitFor(() => fx.tmo.received.size >= 10, 'some more pings');
  child.kill('SIGINT');
  const { code } = await result;
  t.is(code, 130);
  t.true(fx.tmo.received.size < 900, 'it did not run to the end');
});

// --- The interactive prompt, through a pseudo-terminal ------------------------------------------

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

/** Runs the command on a pty (util-linux `script`), typing `typed` on its terminal. */
const runOnTerminal = (fx: Fixtures, args: readonly string[], typed: string) =>
  slots(() => {
    const command = [...COMMAND, ...args].map(quote).join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: ROOT,
      env: { ...envFor(fx), SHELL: '/bin/sh' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.end(typed);
    return finished(child);
  });

const ptyTest = hasScript ? test : test.skip;

ptyTest('on a terminal: asks Proceed? [y/N]; y runs it with a progress bar', async (t) => {
  const { fx, data, repo } = await setup(t);
  const result = await runOnTerminal(fx, [repo, '3', '6'], 'y\n');
  t.is(result.code, 0, result.stdout);
  t.true(result.stdout.includes(`${repo}: pushes 4 to 6, 3 pushes`), result.stdout);
  t.true(result.stdout.includes('Proceed? [y/N]'), result.stdout);
  t.regex(result.stdout, /pushes .* 3\/3 \| changesets 9/, 'the progress bar');
  t.is(fx.tmo.received.size, nodesOf(data, 4, 6).length);
});

ptyTest('on a terminal: n stops before anything is sent', async (t) => {
  const { fx, repo } = await setup(t);
  const result = await runOnTerminal(fx, [repo, '3', '6'], 'n\n');
  t.is(result.code, 1, result.stdout);
  t.true(result.stdout.includes('Proceed? [y/N]'), result.stdout);
  t.regex(result.stdout, /not confirmed; nothing done/);
  t.deepEqual(fx.tmo.requests, []);
  t.deepEqual(
    fx.hg.requests.filter((r) => !r.includes('/json-pushes')),
    [],
  );
});

// Ctrl-D (end of input) at the prompt is a no. (confirm() used to wait forever there, and the
// command died of Node's "unsettled top-level await", exit 13, without a word.)
(hasScript ? test : test.skip)('on a terminal: Ctrl-D at the prompt is a no', async (t) => {
  const { fx, repo } = await setup(t);
  const result = await runOnTerminal(fx, [repo, '3', '6'], '\x04');
  t.deepEqual(fx.tmo.requests, []);
  t.is(result.code, 1, result.stdout);
  t.regex(result.stdout, /not confirmed/);
});

// --- confirm() on its own ------------------------------------------------------------------------

const ask = async (typed: string | undefined, delayMs = 0) => {
  const input = new PassThrough();
  const output = new PassThrough();
  let shown = '';
  output.setEncoding('utf8').on('data', (chunk: string) => (shown += chunk));
  if (typed !== undefined) setTimeout(() => input.write(typed), delayMs);
  const answer = await confirm('Proceed?', input, output);
  return { answer, shown };
};

for (const [typed, expected] of [
  ['y\n', true],
  ['Y\n', true],
  ['yes\n', true],
  [' YeS \n', true],
  ['n\n', false],
  ['no\n', false],
  ['\n', false],
  ['yep\n', false],
  ['sure\n', false],
] as const) {
  test(`confirm(): ${JSON.stringify(typed)} is ${expected ? 'a yes' : 'a no'}`, async (t) => {
    const { answer, shown } = await ask(typed);
    t.is(answer, expected);
    t.is(shown, 'Proceed? [y/N] ');
  });
}

test('confirm(): waits for the answer', async (t) => {
  const { answer } = await ask('y\n', 50);
  t.true(answer);
});

test('confirm(): input that ends without an answer is a no', async (t) => {
  const input = new PassThrough();
  const output = new PassThrough();
  setTimeout(() => input.end(), 20);
  const answer = await Promise.race([
    confirm('Proceed?', input, output),
    new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 500)),
  ]);
  t.is(answer, false);
});
