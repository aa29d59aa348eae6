/**
 * End to end over real loopback HTTP: the recorded fixtures of `fixtures/` served by the
 * fixture server, the real clients, the real pipeline and a memory sink. Every expected ping
 * in `fixtures/expected/` was worked out by hand from the review-system rules (src/rules/reviewSystem.ts); the scenarios
 * are listed in `fixtures/README.md`.
 */
import anyTest, { type TestFn } from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concat, from, lastValueFrom, toArray, type Observable } from 'rxjs';
import { createClients, type Clients } from '../../src/clients/index.js';
import type { Ping, ReviewSystem } from '../../src/codecs/ping.js';
import type { UpstreamSettings } from '../../src/codecs/settings.js';
import { NoSuchChangeset } from '../../src/errors.js';
import { configureLog } from '../../src/log.js';
import { pipeline, type JobSource } from '../../src/pipeline/index.js';
import { dryRun } from '../../src/pipeline/ledger.js';
import type { Job, JobOutcome, Outcome } from '../../src/pipeline/job.js';
import { MemorySink } from '../../src/sinks/memory.js';
import { changesetJobs } from '../../streams/changeset.js';
import { replayJobs } from '../../streams/pulse/messages/recording.js';
import { FIXTURES_DIR, recordedFixtures, type Pushlog } from '../support/data/fixtureData.js';
import { CountingLimits } from '../support/countingLimits.js';
import { startFixtures, type Fixtures } from '../support/standIns/fixtureServer.js';

configureLog({ level: 'silent' });

const AUTOLAND = 'integration/autoland';
const CENTRAL = 'mozilla-central';
const REPOS = [AUTOLAND, CENTRAL] as const;
type RepoPath = (typeof REPOS)[number];
const EXPECTED_FILES: Record<RepoPath, string> = {
  [AUTOLAND]: 'autoland-pings.json',
  [CENTRAL]: 'mozilla-central-pings.json',
};
/** Where the expected pings say they come from; the fixture server stands in for it. */
const REAL_HG = 'https://hg.mozilla.org';
/** A well-formed node that no fixture knows. */
const UNKNOWN_NODE = '1239d760fc36892ea6308978939e3c0dfe6845a7';
/** The diffstat is computed for these only. */
const WITH_DIFFSTAT: readonly ReviewSystem[] = ['phabricator', 'bmo'];

interface Run {
  readonly sink: MemorySink;
  readonly results: readonly JobOutcome[];
}

interface Context {
  readonly fx: Fixtures;
  readonly settings: UpstreamSettings;
  /** One run of the pipeline over a changeset job per changeset and a push job per push. */
  readonly run: Run;
  /** The requests of that run, as the fixture server saw them. */
  readonly hgRequests: readonly string[];
  readonly bmoRequests: readonly string[];
  readonly tmp: string;
}

const test = anyTest as TestFn<Context>;

const data = recordedFixtures();
const pushlogOf = (repo: RepoPath): Pushlog => {
  const pushlog = data.pushlog(repo);
  if (pushlog === undefined) throw new Error(`no pushlog fixture for ${repo}`);
  return pushlog;
};
const nodesOf = (repo: RepoPath): string[] =>
  Object.values(pushlogOf(repo).pushes).flatMap((push) => push.changesets);

const expectedFile = (repo: RepoPath): Record<string, Ping> =>
  JSON.parse(readFileSync(join(FIXTURES_DIR, 'expected', EXPECTED_FILES[repo]), 'utf8')) as Record<
    string,
    Ping
  >;
const EXPECTED: Record<RepoPath, Record<string, Ping>> = {
  [AUTOLAND]: expectedFile(AUTOLAND),
  [CENTRAL]: expectedFile(CENTRAL),
};

/** The full node of a prefix, from the expected pings of autoland. */
const fullNode = (prefix: string): string => {
  const matches = Object.keys(EXPECTED[AUTOLAND]).filter((node) => node.startsWith(prefix));
  if (matches.length !== 1) throw new Error(`${prefix} names ${matches.length} changesets`);
  return matches[0]!;
};

/** The expected ping, with the repository on the fixture server instead of hg.mozilla.org. */
const expectedPing = (fx: Fixtures, repo: RepoPath, node: string): Ping => {
  const ping = EXPECTED[repo][node];
  if (ping === undefined) throw new Error(`no expected ping for ${node} in ${repo}`);
  return { ...ping, repository: ping.repository.replace(REAL_HG, fx.hg.url) } as Ping;
};

const sentOutcome = (fx: Fixtures, repo: RepoPath, node: string): Outcome => {
  const ping = expectedPing(fx, repo, node);
  return { status: 'sent', node, reviewSystem: ping.reviewSystemUsed, ping };
};

const pushJob = (repository: string, pushId: number, nodes: readonly string[]): Job => ({
  label: `push ${pushId}`,
  target: { kind: 'push', repository, pushId, nodes },
  receivedAt: Date.now(),
});

/** `changeset <repository> <node>` or `push <repository> <id>`, as the job named it. */
const keyOf = ({ target }: Job): string =>
  target.kind === 'changeset'
    ? `changeset ${target.repository} ${target.node}`
    : target.kind === 'push'
      ? `push ${target.repository} ${target.pushId}`
      : `gitPush ${target.repository} ${target.base}...${target.head}`;

/** Fresh clients, so no run shares the Bugzilla cache or the request counts of another. */
const clientsFor = (settings: UpstreamSettings): Clients =>
  createClients(settings, { backoffMs: 5 });

const runJobs = async (clients: Clients, jobs: JobSource): Promise<Run> => {
  const sink = new MemorySink();
  const results = await lastValueFrom(
    pipeline({ ...clients, sink, ...dryRun })(jobs).pipe(toArray()),
  );
  return { sink, results };
};

const resultOf = (run: Run, key: string): JobOutcome => {
  const found = run.results.filter((result) => keyOf(result.job) === key);
  if (found.length !== 1) throw new Error(`${found.length} outcomes for ${key}`);
  return found[0]!;
};
const changesetResult = (t: { context: Context }, repo: RepoPath, node: string): JobOutcome =>
  resultOf(t.context.run, `changeset ${t.context.fx.repo(repo)} ${node}`);

/** Outcomes in a fixed order: a push's changesets are processed concurrently. */
const byNode = (outcomes: readonly Outcome[]): Outcome[] =>
  [...outcomes].sort((a, b) =>
    'node' in a && 'node' in b ? String(a.node).localeCompare(String(b.node)) : 0,
  );

/** The repository's push that lists `node`. */
const pushOf = (repo: RepoPath, node: string): number => {
  const entry = Object.entries(pushlogOf(repo).pushes).find(([, push]) =>
    push.changesets.includes(node),
  );
  if (entry === undefined) throw new Error(`${node} is in no push of ${repo}`);
  return Number(entry[0]);
};

/** A copy of a recorded message stream that points at the fixture server. */
const localStream = (t: { context: Context }, name: string): string => {
  const text = readFileSync(join(FIXTURES_DIR, 'pulse', name), 'utf8');
  const path = join(t.context.tmp, name);
  writeFileSync(path, text.replaceAll(REAL_HG, t.context.fx.hg.url));
  return path;
};

test.before(async (t) => {
  const fx = await startFixtures();
  const settings: UpstreamSettings = {
    BMO_API_URL: `${fx.bmo.url}/rest`,
    ALLOWED_HOSTS: [fx.hg.host],
    HTTP_CONCURRENCY: 8,
    DEBUG: false,
  };
  const jobs: Observable<Job>[] = [];
  for (const repo of REPOS) {
    for (const node of nodesOf(repo)) jobs.push(changesetJobs(fx.repo(repo), node));
    for (const [id, push] of Object.entries(pushlogOf(repo).pushes)) {
      jobs.push(from([pushJob(fx.repo(repo), Number(id), push.changesets)]));
    }
  }
  jobs.push(changesetJobs(fx.repo(AUTOLAND), fullNode('5b3ad6fd9f9a').slice(0, 12)));
  jobs.push(changesetJobs(fx.repo(AUTOLAND), UNKNOWN_NODE));
  const run = await runJobs(clientsFor(settings), concat(...jobs)).catch(async (error) => {
    await fx.close();
    throw error;
  });
  t.context = {
    fx,
    settings,
    run,
    hgRequests: [...fx.hg.requests],
    bmoRequests: [...fx.bmo.requests],
    tmp: mkdtempSync(join(tmpdir(), 'outcomes-')),
  };
});

test.after.always(async (t) => {
  // `before` may have failed before it set the context.
  const context = t.context as Partial<Context> | undefined;
  await context?.fx?.close();
  if (context?.tmp !== undefined) rmSync(context.tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// One test per scenario, named after the review system it must end in.

interface Scenario {
  readonly system: ReviewSystem;
  readonly why: string;
  /** A 12-character prefix of the autoland node. */
  readonly node: string;
}

const SCENARIOS: readonly Scenario[] = [
  {
    system: 'phabricator',
    why: 'bug 1851234 has live Phabricator requests; new, deleted and patch files in the diff',
    node: 'f7ea35ab0117',
  },
  {
    system: 'phabricator',
    why: 'part 2 of bug 1851234; two hunks in one file',
    node: 'effbdd551cd0',
  },
  {
    system: 'phabricator',
    why: 'the first bug of the summary (1852001) decides, not bug 1849011 named after it',
    node: '5b3ad6fd9f9a',
  },
  {
    system: 'bmo',
    why: 'a live patch and "feedback+, review+" in the history; a rename and a binary file',
    node: 'f0b22ac7a2df',
  },
  { system: 'no_bug', why: '"No bug - ..." summary', node: 'ac29851967db' },
  {
    system: 'no_bug',
    why: '"No Bug, ... a=repo-update": rule 4 comes before rule 5',
    node: 'a27e10592645',
  },
  { system: 'no_bug', why: 'confidential bug 1852200: Bugzilla answers 401', node: '979da37aefbd' },
  { system: 'no_bug', why: 'missing bug 1853999: Bugzilla answers 404', node: '3b61a54aa318' },
  {
    system: 'no_bug',
    why: 'bug 1852761: Bugzilla answers 200 with "error": true',
    node: '9f279c6163fe',
  },
  {
    system: 'review_unneeded',
    why: 'backout of the Phabricator changesets of bug 1851234',
    node: 'ea7a84f568f2',
  },
  { system: 'review_unneeded', why: 'a=test-only approval', node: 'aeace0771f7a' },
  {
    system: 'review_unneeded',
    why: 'authored by moz-wptsync-bot, no a= in the summary',
    node: 'e9acfb59a264',
  },
  {
    system: 'review_unneeded',
    why: '[wpt PR ...] metadata update with a=testonly',
    node: '64401e6bc809',
  },
  {
    system: 'not_applicable',
    why: 'merge with two parents, whatever its a=merge says',
    node: '7b6cfbb59b62',
  },
  {
    system: 'not_applicable',
    why: '"# ignore-this-changeset" in the body, though bug 1852660 is a Phabricator bug',
    node: '6fca0b157513',
  },
  { system: 'unknown', why: 'no bug number in the summary', node: '4e06945c4222' },
  {
    system: 'unknown',
    why: 'bug 1847722 has only an obsolete Phabricator request',
    node: 'e60d4f6b8817',
  },
  {
    system: 'unknown',
    why: 'bug 1474552 has only a MozReview request, review+ notwithstanding',
    node: '0a2670ad81a9',
  },
  {
    system: 'unknown',
    why: 'bug 1849876 has a live patch whose review was never granted',
    node: '310465affca8',
  },
];

for (const scenario of SCENARIOS) {
  test(`${scenario.system}: ${scenario.why} (${scenario.node})`, (t) => {
    const { fx, run } = t.context;
    const node = fullNode(scenario.node);
    const repos = REPOS.filter((repo) => EXPECTED[repo][node] !== undefined);
    for (const repo of repos) {
      const expected = expectedPing(fx, repo, node);
      t.is(expected.reviewSystemUsed, scenario.system, `fixtures/expected for ${repo}`);
      t.is(expected.diffstat === null, !WITH_DIFFSTAT.includes(scenario.system));

      t.deepEqual(changesetResult(t, repo, node).outcomes, [sentOutcome(fx, repo, node)], repo);
      const push = resultOf(run, `push ${fx.repo(repo)} ${pushOf(repo, node)}`);
      const inPush = push.outcomes.filter((outcome) => 'node' in outcome && outcome.node === node);
      t.deepEqual(inPush, [sentOutcome(fx, repo, node)], `${repo} push`);
    }
  });
}

test('every review system but the retired mozreview has a scenario', (t) => {
  const covered = new Set(SCENARIOS.map((scenario) => scenario.system));
  t.deepEqual([...covered].sort(), [
    'bmo',
    'no_bug',
    'not_applicable',
    'phabricator',
    'review_unneeded',
    'unknown',
  ]);
  t.deepEqual(
    SCENARIOS.map((scenario) => fullNode(scenario.node)).sort(),
    Object.keys(EXPECTED[AUTOLAND]).sort(),
    'each autoland changeset is one scenario',
  );
});

// ---------------------------------------------------------------------------------------------
// The whole run.

for (const repo of REPOS) {
  test(`${repo}: every changeset job sends exactly its expected ping`, (t) => {
    const { fx } = t.context;
    const nodes = nodesOf(repo);
    t.deepEqual(nodes.sort(), Object.keys(EXPECTED[repo]).sort(), 'one expected ping a node');
    for (const node of nodes) {
      const result = changesetResult(t, repo, node);
      t.deepEqual(result.outcomes, [sentOutcome(fx, repo, node)], node);
      t.is(result.job.target.kind, 'changeset');
    }
  });

  test(`${repo}: every push job sends the pings of its changesets`, (t) => {
    const { fx, run } = t.context;
    for (const [id, push] of Object.entries(pushlogOf(repo).pushes)) {
      const result = resultOf(run, `push ${fx.repo(repo)} ${id}`);
      t.deepEqual(
        byNode(result.outcomes),
        byNode(push.changesets.map((node) => sentOutcome(fx, repo, node))),
        `push ${id}`,
      );
    }
  });
}

test('the sink received one ping per sent outcome, and nothing else', (t) => {
  const { run } = t.context;
  const sent = run.results.flatMap((result) =>
    result.outcomes.flatMap((outcome) => (outcome.status === 'sent' ? [outcome.ping] : [])),
  );
  const changesets = REPOS.reduce((sum, repo) => sum + nodesOf(repo).length, 0);
  // A changeset job and a push job for each, plus the job that names a prefix.
  t.is(sent.length, 2 * changesets + 1);
  t.is(run.sink.pings.length, sent.length);
  const sorted = (pings: readonly Ping[]) => pings.map((ping) => JSON.stringify(ping)).sort();
  t.deepEqual(sorted(run.sink.pings), sorted(sent));
});

test('only phabricator and bmo changesets have their patch fetched', (t) => {
  const fetched = new Set(
    t.context.hgRequests.flatMap((line) => {
      const match = /^GET \/(.+)\/raw-rev\/([0-9a-f]+)$/.exec(line);
      return match === null ? [] : [`${match[1]} ${match[2]}`];
    }),
  );
  const wanted = REPOS.flatMap((repo) =>
    Object.values(EXPECTED[repo])
      .filter((ping) => WITH_DIFFSTAT.includes(ping.reviewSystemUsed))
      .map((ping) => `${repo} ${ping.changesetID}`),
  );
  t.deepEqual([...fetched].sort(), wanted.sort());
});

test('Bugzilla is asked only about the bugs that rules 1 to 7 leave open', (t) => {
  const { bmoRequests } = t.context;
  const asked = new Set(
    bmoRequests.flatMap((line) => {
      const match = /^GET \/rest\/bug\/(\d+)\/(?:attachment\?exclude_fields=data|history)$/.exec(
        line,
      );
      return match === null ? [] : [Number(match[1])];
    }),
  );
  t.deepEqual(
    [...asked].sort((a, b) => a - b),
    [1474552, 1847722, 1849011, 1849876, 1851234, 1852001, 1852200, 1852761, 1853999],
  );
  t.is(
    bmoRequests.length,
    2 * asked.size,
    'attachments and history once a bug, whatever the number of changesets',
  );
});

test('a 12-character prefix is answered with the full node', (t) => {
  const { fx } = t.context;
  const node = fullNode('5b3ad6fd9f9a');
  const result = changesetResult(t, AUTOLAND, node.slice(0, 12));
  t.deepEqual(result.outcomes, [sentOutcome(fx, AUTOLAND, node)]);
});

test('an unknown node fails with NoSuchChangeset', (t) => {
  const result = changesetResult(t, AUTOLAND, UNKNOWN_NODE);
  t.is(result.outcomes.length, 1);
  const [outcome] = result.outcomes;
  if (outcome?.status !== 'failed') return t.fail(`expected a failure, got ${outcome?.status}`);
  t.is(outcome.node, UNKNOWN_NODE);
  t.true(outcome.error instanceof NoSuchChangeset);
  t.is(outcome.error.name, 'NoSuchChangeset');
  t.is(outcome.error.kind, 'permanent');
});

// ---------------------------------------------------------------------------------------------
// Recorded Pulse streams, replayed as the queue would deliver them.

const replay = async (t: { context: Context }, name: string) => {
  // Counted by these clients alone: the other tests use the fixture servers meanwhile.
  const limits = new CountingLimits(8);
  const clients = createClients(t.context.settings, { backoffMs: 5 }, limits);
  const { fx } = t.context;
  const run = await runJobs(clients, replayJobs(localStream(t, name), [fx.hg.host]));
  const byLine = new Map(
    run.results.map((result) => [Number(/(\d+)$/.exec(result.job.label)?.[1]), result]),
  );
  const requests = [...limits.requestCount.values()].reduce((sum, n) => sum + n, 0);
  return { run, byLine, requests };
};

test('replaying autoland.ndjson runs every push and none of the other messages', async (t) => {
  const { fx } = t.context;
  const { run, byLine } = await replay(t, 'autoland.ndjson');
  const lines = readFileSync(join(FIXTURES_DIR, 'pulse', 'autoland.ndjson'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
  // Lines 3, 6 and 8 are a newrepo.1, a push-less and an obsolete.1 message: skipped.
  const pushLines = lines.map((_, i) => i + 1).filter((line) => ![3, 6, 8].includes(line));
  t.deepEqual(
    [...byLine.keys()].sort((a, b) => a - b),
    pushLines,
  );
  const pushes = Object.entries(pushlogOf(AUTOLAND).pushes);
  t.is(pushLines.length, pushes.length);
  pushes.forEach(([id, push], i) => {
    const result = byLine.get(pushLines[i]!);
    t.deepEqual(result?.job.target, {
      kind: 'push',
      repository: fx.repo(AUTOLAND),
      pushId: Number(id),
    });
    t.deepEqual(
      byNode(result?.outcomes ?? []),
      byNode(push.changesets.map((node) => sentOutcome(fx, AUTOLAND, node))),
      `push ${id} (line ${pushLines[i]})`,
    );
  });
  t.is(run.sink.pings.length, nodesOf(AUTOLAND).length);
});

test('replaying bad-messages.ndjson runs no job and fetches nothing', async (t) => {
  const { run, requests } = await replay(t, 'bad-messages.ndjson');
  t.is(run.results.length, 0);
  t.is(requests, 0);
  t.is(run.sink.pings.length, 0);
});
