import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pLimit from 'p-limit';
import { signalExitCode } from '../../../src/cli/shared/backfill/signals.js';
import { confirm } from '../../../src/cli/shared/confirm.js';
import {
  programInvocation,
  resumeCommand,
  shellQuote,
  type ResumeOptions,
} from '../../../src/cli/shared/backfill/resumeCommand.js';
import { commandPath } from '../../support/cli.js';
import { configureLog } from '../../../src/log.js';
import { documentId } from '../../../src/rules/ping.js';
import { startFixtures, type Fixtures } from '../../support/standIns/fixtureServer.js';
import { syntheticFixtures } from '../../support/data/syntheticFixtures.js';
import { readable } from '../readable.js';
import { ROOT } from '../../support/root.js';

configureLog({ level: 'silent' });

const COMMAND = [process.execPath, commandPath('backfillPushlog')];
/** How the resume command starts: the built file the tests run, by the path node was given. */
const INVOCATION = `node ${shellQuote(resolve(ROOT, commandPath('backfillPushlog')))}`;
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

/** Every run gets a store of its own unless a test names one (to run twice on one store). */
const STORES = mkdtempSync(join(tmpdir(), 'cts-backfill-stores-'));
test.after.always(() => rmSync(STORES, { recursive: true, force: true }));
let stores = 0;
const freshStore = (): string => `sqlite:${join(STORES, `store-${(stores += 1)}.sqlite`)}`;

const envFor = (fx: Fixtures, extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of SETTINGS) delete env[name];
  const own = { DATABASE_URL: freshStore() };
  return { ...env, ...own, ...fx.env, HTTP_CONCURRENCY: '8', DEBUG: 'false', ...extra };
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

const submitPath = (repo: string, node: string) => `${SUBMIT_PATH}${documentId(repo, node)}`;

/** How many of these changesets each review system should count in the summary. */
const systemCounts = (data: Data, nodes: readonly string[]): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const node of nodes) {
    const kind = data.kindOf(node)!;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
};

interface LogEvent {
  readonly level: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** stderr off a terminal, every line of which must be one JSON object. */
const eventsOf = (stderr: string): LogEvent[] =>
  stderr
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as LogEvent;
      } catch {
        throw new Error(`a stderr line is not JSON: ${line}`);
      }
    });

/** The one event of this name; undefined when there is none. */
const eventOf = (t: ExecutionContext, stderr: string, msg: string): LogEvent | undefined => {
  const found = eventsOf(stderr).filter((event) => event.msg === msg);
  t.true(found.length <= 1, `at most one ${msg} event: ${stderr}`);
  return found[0];
};

interface Summary extends LogEvent {
  readonly pushes: number;
  readonly changesets: number;
  readonly pings: Record<string, number>;
  readonly skipped: number;
  readonly failed: number;
  readonly failures: readonly { reason: string; count: number; examples: string[] }[];
}

const summaryOf = (t: ExecutionContext, stderr: string): Summary => {
  const summary = eventOf(t, stderr, 'summary');
  if (summary === undefined) throw new Error(`no summary event: ${stderr}`);
  t.is(summary.level, 'info');
  return summary as Summary;
};

/** The reason a failure was reported under, found by its example, e.g. `push 7 <node>`. */
const reasonOf = (summary: Summary, example: string): string | undefined =>
  summary.failures.find((group) => group.examples.includes(example))?.reason;

const assertPings = (t: ExecutionContext, summary: Summary, counts: Map<string, number>) => {
  t.deepEqual(
    summary.pings,
    Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b))),
  );
};

const pushlogRequests = (fx: Fixtures) => fx.hg.requests.filter((r) => r.includes('/json-pushes'));

/** The `resume` event's command, which should carry on where the run stopped. */
const resumeOf = (t: ExecutionContext, stderr: string): string | undefined => {
  const event = eventOf(t, stderr, 'resume');
  if (event === undefined) return undefined;
  t.is(event.level, 'warn');
  t.is(typeof event.resumeAfter, 'number');
  t.true(String(event.command).includes(` ${String(event.resumeAfter)} `), 'resumeAfter is in it');
  return event.command as string;
};

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
  {
    // It said "an integer 0 or more", which this one is.
    title: 'an ending push id past 2^53 - 1',
    args: (r) => [r, '0', '9007199254740992'],
    why: /a push id is an integer from 0 to 9007199254740991/,
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
    t.regex(readable(result.stderr), c.why);
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
    readable(result.stderr),
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
  t.like(eventOf(t, result.stderr, 'plan'), {
    level: 'info',
    repository: repo,
    first: 3,
    last: 12,
    pushes: 10,
    destination: 'stdout',
  });
  const summary = summaryOf(t, result.stderr);
  assertPings(t, summary, systemCounts(data, expected));
  t.like(summary, { pushes: 10, changesets: expected.length, failed: 0, failures: [] });
  t.is(resumeOf(t, result.stderr), undefined);
  for (const request of pushlogRequests(fx)) {
    const query = new URL(request.split(' ')[1]!, 'http://x').searchParams;
    t.true(Number(query.get('endID')) - Number(query.get('startID')) <= 4, request);
  }
});

// --- The ledger ------------------------------------------------------------------------------------

test('a backfill run twice on one store sends each ping once; the second says already sent', async (t) => {
  const { fx, data, repo } = await setup(t);
  const store = { DATABASE_URL: freshStore() };
  const first = await run(fx, ['--yes', repo, '0', '10'], store);
  t.is(first.code, 0, first.stderr);
  const puts = () => fx.tmo.requests.filter((r) => r.startsWith('PUT')).length;
  const expected = nodesOf(data, 1, 10).length;
  t.is(puts(), expected);
  const second = await run(fx, ['--yes', repo, '0', '10'], store);
  t.is(second.code, 0, second.stderr);
  t.is(puts(), expected, 'nothing sent again');
  t.like(summaryOf(t, second.stderr), { changesets: 0, skipped: expected, failed: 0, pings: {} });
  const jsonRevs = fx.hg.requests.filter((r) => r.includes('/json-rev/')).length;
  t.is(jsonRevs, expected, 'the second run asked hg.mozilla.org about no changeset');
});

test('--resend sends what the store holds again, and counts it sent', async (t) => {
  const { fx, data, repo } = await setup(t);
  const store = { DATABASE_URL: freshStore() };
  t.is((await run(fx, ['--yes', repo, '0', '5'], store)).code, 0);
  const again = await run(fx, ['--yes', '--resend', repo, '0', '5'], store);
  t.is(again.code, 0, again.stderr);
  const expected = nodesOf(data, 1, 5).length;
  t.is(fx.tmo.requests.filter((r) => r.startsWith('PUT')).length, 2 * expected);
  t.like(summaryOf(t, again.stderr), { changesets: expected, skipped: 0 });
});

for (const resending of [['--resend'], ['--resend-before', '2099-01-01T00:00:00Z']]) {
  test(`the resume command of a ${resending.join(' ')} run sends only what that run did not`, async (t) => {
    const { fx, data, repo } = await setup(t, 10);
    const store = { DATABASE_URL: freshStore() };
    t.is((await run(fx, ['--yes', repo, '0', '10'], store)).code, 0);
    const bad = data.nodes(3)[1]!;
    fx.fail({ match: new RegExp(`/json-rev/${bad}$`), status: 404, times: 1 });
    const resend = await run(fx, ['--yes', ...resending, repo, '0', '10'], store);
    t.is(resend.code, 1, resend.stderr);
    const command = resumeOf(t, resend.stderr) ?? '';
    // The run's start, not --resend: what the run sent after it is not sent a third time. A
    // TIME given later than the start is the start too: the resume resent all it had resent.
    t.regex(command, / --resend-before 20\d\d-\S+Z /);
    t.notRegex(command, /2099/);
    const puts = () => fx.tmo.requests.filter((r) => r.startsWith('PUT'));
    const before = puts().length;
    const resumed = await slots(() => {
      const child = spawn('/bin/sh', ['-c', command], {
        cwd: '/',
        env: envFor(fx, store),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      child.stdin.end();
      return finished(child);
    });
    t.is(resumed.code, 0, resumed.stderr);
    t.deepEqual(puts().slice(before), [`PUT ${submitPath(repo, bad)}`]);
  });
}

test('--resend-before takes an ISO 8601 time with its zone, else a usage error', async (t) => {
  const { fx, repo } = await setup(t, 3);
  const bad = await run(fx, ['--yes', '--resend-before', 'yesterday', repo, '0', '3']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--resend-before takes a time such as 2026-12-07T15:30:00Z/);
  // Both at once: --resend was silently dropped for TIME.
  const both = ['--yes', '--resend', '--resend-before', '2020-01-01T00:00:00Z', repo, '0', '3'];
  const twice = await run(fx, both);
  t.is(twice.code, 2, twice.stderr);
  t.regex(twice.stderr, /'--resend' cannot be used with option '--resend-before/);
  t.is(fx.tmo.requests.length, 0, 'nothing sent');
});

test('--no-send neither reads nor writes the store: every ping shows, nothing is recorded', async (t) => {
  const { fx, data, repo } = await setup(t);
  const store = { DATABASE_URL: freshStore() };
  t.is((await run(fx, ['--yes', repo, '0', '5'], store)).code, 0);
  const dry = await run(fx, ['--yes', '--no-send', repo, '0', '5'], store);
  t.is(dry.code, 0, dry.stderr);
  t.is(dry.stdout.trim().split('\n').length, nodesOf(data, 1, 5).length);
  const fresh = { DATABASE_URL: freshStore() };
  t.is((await run(fx, ['--yes', '--no-send', repo, '0', '5'], fresh)).code, 0);
  const sent = await run(fx, ['--yes', repo, '0', '5'], fresh);
  t.like(summaryOf(t, sent.stderr), { skipped: 0 }, 'a dry run recorded nothing');
});

test('a DATABASE_URL that cannot be read exits 2 naming it; an unreachable one exits 1', async (t) => {
  const { fx, repo } = await setup(t);
  const bad = await run(fx, ['--yes', repo, '0', '5'], { DATABASE_URL: 'mysql://x/y' });
  t.is(bad.code, 2, bad.stderr);
  t.regex(bad.stderr, /DATABASE_URL/);
  const down = await run(fx, ['--yes', repo, '0', '5'], {
    DATABASE_URL: 'postgres://someone:hunter2secret@127.0.0.1:1/nothing',
  });
  t.is(down.code, 1, down.stderr);
  t.regex(readable(down.stderr), /127\.0\.0\.1:1.*; check DATABASE_URL$/m);
  t.false(down.stderr.includes('hunter2secret'));
  t.deepEqual([...fx.hg.requests, ...fx.tmo.requests], [], 'no request made');
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
    const ping = fx.tmo.received.get(submitPath(repo, node)) as Record<string, unknown> | undefined;
    t.truthy(ping, `ping for ${node}`);
    t.like(ping, { changesetID: node, repository: repo, reviewSystemUsed: data.kindOf(node) });
  }
  t.like(eventOf(t, result.stderr, 'plan'), {
    repository: repo,
    first: 1,
    last: 20,
    pushes: 20,
    destination: fx.env.TMO_BASE_URL,
  });
  const summary = summaryOf(t, result.stderr);
  t.like(summary, { pushes: 20, pushesTotal: 20, changesets: expected.length, skipped: 0 });
  assertPings(t, summary, systemCounts(data, expected));
  t.like(summary, { failed: 0, failures: [] });
  t.is(resumeOf(t, result.stderr), undefined);
  // One page, which the plan read the newest push from too: the page size defaults to 100.
  t.deepEqual(
    pushlogRequests(fx).map((r) => r.replace(/^GET .*\?/, '')),
    ['version=2&startID=0&endID=20'],
  );
});

test('a range past lastpushid: stops at the repository end, says so, exit 0', async (t) => {
  const { fx, data, repo } = await setup(t, 30);
  const result = await run(fx, ['--yes', '--page-size', '8', repo, '20', '1000']);
  t.is(result.code, 0, result.stderr);
  t.like(eventOf(t, result.stderr, 'plan'), {
    repository: repo,
    first: 21,
    last: 30,
    pushes: 10,
    newestPush: 30,
  });
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
  t.deepEqual(
    eventsOf(result.stderr).map(({ time: _time, ...event }) => event),
    [{ level: 'info', msg: 'nothing to do', repository: repo, start: 30, newestPush: 30 }],
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
  t.false(fx.tmo.received.has(submitPath(repo, bad)));
  const summary = summaryOf(t, result.stderr);
  t.like(summary, { pushes: 20, failed: 1 });
  assertPings(t, summary, systemCounts(data, others));
  t.is(summary.failures.length, 1);
  t.like(summary.failures[0], { count: 1, examples: [`push 7 ${bad}`] });
  t.regex(reasonOf(summary, `push 7 ${bad}`) ?? '', /not found/);
  t.is(resumeOf(t, result.stderr), `${INVOCATION} --yes --page-size 5 ${repo} 6 20`);
  t.like(eventOf(t, result.stderr, 'resume'), { resumeAfter: 6 });
});

test('the resume command runs as printed and finishes the backfill', async (t) => {
  const { fx, data, repo } = await setup(t);
  const bad = data.nodes(7)[1]!;
  fx.fail({ match: new RegExp(`/json-rev/${bad}$`), status: 404, times: 1 });
  const first = await run(fx, ['--yes', '--page-size', '5', repo, '0', '20']);
  t.is(first.code, 1, first.stderr);
  const command = resumeOf(t, first.stderr);
  t.truthy(command, first.stderr);
  const again = await slots(() => {
    const child = spawn('/bin/sh', ['-c', command!], {
      cwd: '/',
      env: envFor(fx),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.end();
    return finished(child);
  });
  t.is(again.code, 0, again.stderr);
  t.like(eventOf(t, again.stderr, 'plan'), { first: 7, last: 20 });
  t.like(summaryOf(t, again.stderr), { pushes: 14, failed: 0 });
  t.true(nodesOf(data, 1, 20).every((node) => fx.tmo.received.has(submitPath(repo, node))));
});

test('telemetry refusing pings (400): reported, exit 1, resume from before the first failure', async (t) => {
  const { fx, data, repo } = await setup(t);
  const first = data.nodes(12)[0]!;
  const second = data.nodes(15)[2]!;
  for (const node of [second, first]) {
    fx.fail({ match: new RegExp(`^PUT .*/${documentId(repo, node)}$`), status: 400 });
  }
  const result = await run(fx, ['--yes', repo, '4', '25']);
  t.is(result.code, 1, result.stderr);
  const summary = summaryOf(t, result.stderr);
  t.is(summary.failed, 2);
  t.regex(reasonOf(summary, `push 12 ${first}`) ?? '', /telemetry refused .*400/);
  t.regex(reasonOf(summary, `push 15 ${second}`) ?? '', /telemetry refused .*400/);
  t.is(resumeOf(t, result.stderr), `${INVOCATION} --yes ${repo} 11 25`);
  const sent = nodesOf(data, 5, 25).filter((node) => node !== first && node !== second);
  t.true(sent.every((node) => fx.tmo.received.has(submitPath(repo, node))));
});

test('--no-send with a failure: the resume command keeps --no-send', async (t) => {
  const { fx, data, repo } = await setup(t);
  const bad = data.nodes(3)[0]!;
  fx.fail({ match: new RegExp(`/json-rev/${bad}$`), status: 404 });
  const result = await run(fx, ['--yes', '--no-send', repo, '0', '10']);
  t.is(result.code, 1, result.stderr);
  t.is(result.stdout.trim().split('\n').length, 29, 'every other ping printed');
  t.is(resumeOf(t, result.stderr), `${INVOCATION} --no-send --yes ${repo} 2 10`);
  t.deepEqual(fx.tmo.requests, []);
});

test('a pushlog page that cannot be read: exit 1, resume after the pages done', async (t) => {
  const { fx, data, repo } = await setup(t);
  fx.fail({ match: /json-pushes\?.*startID=10&/, status: 404 });
  const result = await run(fx, ['--yes', '--page-size', '5', repo, '0', '25']);
  t.is(result.code, 1, result.stderr);
  const stopped = eventOf(t, result.stderr, 'stopped reading the pushlog');
  t.like(stopped, { level: 'error', repository: repo });
  t.regex(JSON.stringify(stopped?.error), /json-pushes|404/);
  t.is(fx.tmo.received.size, nodesOf(data, 1, 10).length);
  t.is(resumeOf(t, result.stderr), `${INVOCATION} --yes --page-size 5 ${repo} 10 25`);
});

test('a pushlog that cannot be read at all: an error event, exit 1, nothing sent', async (t) => {
  const { fx, repo } = await setup(t);
  fx.fail({ match: /json-pushes\?.*startID=0&/, status: 404 });
  const result = await run(fx, ['--yes', repo, '0', '25']);
  t.is(result.code, 1, result.stderr);
  const events = eventsOf(result.stderr);
  t.deepEqual(
    events.map((event) => event.msg),
    ['cannot read the pushlog'],
  );
  t.like(events[0], { level: 'error', repository: repo });
  t.deepEqual(fx.tmo.requests, []);
});

// --- Ctrl-C and SIGTERM -------------------------------------------------------------------------

/** Push ids with at least one ping received, and those with all of theirs. */
const receivedPushes = (fx: Fixtures, data: Data, pushes: number) => {
  const any: number[] = [];
  const all: number[] = [];
  for (const pushId of range(1, pushes)) {
    const got = data
      .nodes(pushId)
      .filter((node) => fx.tmo.received.has(submitPath(fx.repo(REPO_PATH), node)));
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

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// SIGTERM is what containers and one-off dynos are stopped with: it winds down as Ctrl-C does.
for (const [signal, exitCode] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  test.serial(
    `${signal} mid-run: in-flight pushes finish, ended by ${signal} (${exitCode}), resume command`,
    async (t) => {
      const { fx, data, repo } = await setup(t, 300, { latencyMs: 20 });
      const child = start(fx, ['--yes', '--page-size', '10', repo, '0', '300']);
      child.stdin.end();
      const result = finished(child);
      await waitFor(() => fx.tmo.received.size >= 30, 'the first pings');
      child.kill(signal);
      const { code, signal: endedBy, stderr } = await result;
      // Ended by the signal itself (a shell's $? reads 128 + n), so a calling loop stops too.
      t.deepEqual({ code, endedBy }, { code: null, endedBy: signal }, stderr);
      t.is(signalExitCode(signal), exitCode);
      t.like(eventOf(t, stderr, 'interrupted'), { level: 'warn', signal });
      const match = new RegExp(
        `^${escapeRegExp(`${INVOCATION} --yes --page-size 10 ${repo} `)}(\\d+) 300$`,
      ).exec(resumeOf(t, stderr) ?? '');
      t.truthy(match, stderr);
      const mark = Number(match![1]);
      t.true(mark > 0 && mark < 300, `mark ${mark}`);
      t.like(eventOf(t, stderr, 'resume'), { resumeAfter: mark });
      const { any, all } = receivedPushes(fx, data, 300);
      t.deepEqual(all, range(1, mark), 'every push up to the mark was sent, and no other');
      t.deepEqual(any, all, 'no push was left half done: those in flight were finished');
      const summary = summaryOf(t, stderr);
      t.like(summary, { pushes: mark, pushesTotal: 300, failed: 0, failures: [] });
      const pinged = Object.values(summary.pings).reduce((a, b) => a + b, 0);
      t.is(pinged, fx.tmo.received.size, 'the summary counts every ping sent');
    },
  );

  test.serial(`a second ${signal} quits at once, by ${signal}`, async (t) => {
    const { fx, repo } = await setup(t, 300, { latencyMs: 20 });
    const child = start(fx, ['--yes', repo, '0', '300']);
    child.stdin.end();
    const result = finished(child);
    await waitFor(() => fx.tmo.received.size >= 5, 'the first pings');
    child.kill(signal);
    await waitFor(() => fx.tmo.received.size >= 10, 'some more pings');
    child.kill(signal);
    const { code, signal: endedBy } = await result;
    t.deepEqual({ code, endedBy }, { code: null, endedBy: signal });
    t.true(fx.tmo.received.size < 900, 'it did not run to the end');
  });
}

test('signalExitCode: 128 and the signal number, as a shell reports it', (t) => {
  t.is(signalExitCode('SIGINT'), 130);
  t.is(signalExitCode('SIGTERM'), 143);
});

// --- The resume command on its own --------------------------------------------------------------

const defaults: ResumeOptions = {
  debug: false,
  send: true,
  yes: false,
  pageSize: 100,
};

test('programInvocation: node and the script for a .js file, a bin link as it is, npx again for npx', (t) => {
  // Not through npx (the test runner may itself run under npx).
  const plain = {};
  t.deepEqual(
    programInvocation('/srv/app/dist/bin/backfillPushlog.js', 'backfill-pushlog', plain),
    ['node', '/srv/app/dist/bin/backfillPushlog.js'],
  );
  t.deepEqual(
    programInvocation('/srv/app/node_modules/.bin/backfill-pushlog', 'backfill-pushlog', plain),
    ['/srv/app/node_modules/.bin/backfill-pushlog'],
  );
  t.deepEqual(programInvocation(undefined, 'backfill-pushlog', plain), ['backfill-pushlog']);
  // Through npx: its cache (or the project's bin links) is no place to type.
  const npx = { npm_command: 'exec' };
  t.deepEqual(
    programInvocation(
      '/home/me/.npm/_npx/5eec080bf95e7d97/node_modules/.bin/backfill-pushlog',
      'backfill-pushlog',
      npx,
    ),
    ['npx', 'backfill-pushlog'],
  );
  t.deepEqual(
    programInvocation('/srv/app/node_modules/.bin/backfill-pushlog', 'backfill-pushlog', npx),
    ['npx', 'backfill-pushlog'],
  );
  // npx running a script file by its path is still node and the file.
  t.deepEqual(programInvocation('/srv/app/dist/bin/backfillPushlog.js', 'backfill-pushlog', npx), [
    'node',
    '/srv/app/dist/bin/backfillPushlog.js',
  ]);
});

test('resumeCommand: the invocation, the options that differ from the defaults, the range', (t) => {
  const invocation = ['node', '/srv/app/dist/bin/backfillPushlog.js'];
  const repo = 'https://hg.mozilla.org/integration/autoland';
  t.is(
    resumeCommand(invocation, defaults, repo, 41, 90),
    `node /srv/app/dist/bin/backfillPushlog.js ${repo} 41 90`,
  );
  t.is(
    resumeCommand(
      ['/usr/bin/backfill-pushlog'],
      {
        debug: true,
        send: false,
        yes: true,
        pageSize: 7,
        resendBefore: Date.UTC(2026, 11, 7, 15, 30),
      },
      repo,
      41,
      90,
    ),
    `/usr/bin/backfill-pushlog --debug --no-send --yes --resend-before 2026-12-07T15:30:00.000Z --page-size 7 ${repo} 41 90`,
  );
});

test('resumeCommand: quotes what the shell would otherwise split or expand', (t) => {
  t.is(
    resumeCommand(['node', "/home/o'neil/my app/backfill.js"], defaults, 'https://h/r?a=1&b', 1, 2),
    `node '/home/o'\\''neil/my app/backfill.js' 'https://h/r?a=1&b' 1 2`,
  );
  t.is(shellQuote(''), "''");
  t.is(shellQuote('$HOME'), "'$HOME'");
  t.is(shellQuote('~/x'), "'~/x'");
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
  t.regex(result.stdout, /^3 pushes, 9 changesets in .*\r?\npings by review system:/m, 'summary');
  t.regex(result.stdout, /^failures: 0\r?$/m);
  t.notRegex(result.stdout, /"level":/, 'text, not JSON, on a terminal');
  t.is(fx.tmo.received.size, nodesOf(data, 4, 6).length);
});

ptyTest('on a terminal: a failure and the resume command read as text', async (t) => {
  const { fx, data, repo } = await setup(t);
  const bad = data.nodes(7)[1]!;
  fx.fail({ match: new RegExp(`/json-rev/${bad}$`), status: 404 });
  const result = await runOnTerminal(fx, ['--yes', '--page-size', '5', repo, '0', '20'], '');
  t.is(result.code, 1, result.stdout);
  const text = result.stdout.replace(/\r\n/g, '\n');
  t.true(text.includes(`${repo}: pushes 1 to 20, 20 pushes; pings will be sent to `), text);
  t.regex(text, /^failures: 1\n {2}1 × changeset <node> was not found in .*\n {6}push 7 \S+$/m);
  t.true(
    text.includes(
      `To resume after push 6, the last one completely done:\n  ${INVOCATION} --yes --page-size 5 ${repo} 6 20\n`,
    ),
    text,
  );
  t.notRegex(text, /"level":/);
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
