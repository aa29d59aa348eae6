/**
 * Git gap-fill's polling, with the store and the branch heads stood in for (the end-to-end
 * run with the real worker, RabbitMQ and the GitHub stand-in is test/worker/githubWorker):
 * conditional requests, the grace period on an injectable clock, one job per branch at a
 * time, the watermark started only from a live push, and a poll held by a rate-limit wait
 * holding every later one.
 */
import test from 'ava';
import { Registry } from 'prom-client';
import type { JobOutcome, Settlement, SettlingJob } from '../../../src/pipeline/job.js';
import type { GitCommit } from '../../../src/codecs/github.js';
import { Node } from '../../../src/codecs/scalars.js';
import { NoSuchChangeset, NotOnGitHubYet } from '../../../src/errors.js';
import { configureLog } from '../../../src/log.js';
import { GapFillMetrics } from '../../../streams/gapFill/config.js';
import {
  GitGapFillSource,
  type GitGapFillOptions,
  type GitWatermarkStore,
} from '../../../streams/gapFill/git.js';
import { LAG_LIMIT_MS, LostWatermarks } from '../../../streams/gapFill/gitLost.js';
import { sleep, until } from '../../support/wait.js';

configureLog({ level: 'silent' });

const REPO = 'https://github.com/mozilla-firefox/firefox/tree/autoland';
const [A, B, C] = ['a', 'b', 'c'].map((c) => c.repeat(40)) as [string, string, string];

const memoryStore = () => {
  const marks = new Map<string, string>();
  const calls: string[] = [];
  const store: GitWatermarkStore = {
    takeLease: async () => true,
    releaseLease: async () => undefined,
    gitRepositoriesWithWatermark: async () => [...marks.keys()],
    gitWatermark: async (repository) => marks.get(repository),
    startGitWatermark: async (repository, sha) => {
      calls.push(`start ${sha[0]}`);
      if (!marks.has(repository)) marks.set(repository, sha);
    },
    gitPushSettled: async (repository, base, head) => {
      calls.push(`settled ${base[0]}...${head[0]}`);
      if (marks.get(repository) === base) marks.set(repository, head);
      return marks.get(repository);
    },
  };
  return { store, marks, calls };
};

/** The commit reads gap-fill makes only after a compare 404 (gitLost.ts): none elsewhere. */
const NO_COMMIT_READS = {
  changeset: async (): Promise<never> => {
    throw new Error('no commit is read here');
  },
};

/** Git gap-fill over `parts`: every branch followed, a poll a minute, no grace, unless given. */
const gitGapFill = (
  parts: Pick<GitGapFillOptions, 'store' | 'github'> & Partial<GitGapFillOptions>,
): GitGapFillSource =>
  new GitGapFillSource({
    follows: () => true,
    pollMs: 60_000,
    graceMs: 0,
    metrics: { gapFill: new GapFillMetrics(new Registry()), pings: { inc: () => undefined } },
    ...parts,
  });

/** A commit GitHub knows, as the client reads one. */
const knownCommit = (sha: string): GitCommit => {
  if (!Node.is(sha)) throw new Error(`${sha} is not a sha`);
  return {
    node: sha,
    desc: 'base',
    user: 'a <a@b>',
    parents: [],
    pushdate: [0, 0],
    landingsystem: null,
  };
};

const sentOutcome = (job: SettlingJob): JobOutcome => ({
  job,
  outcomes: [{ status: 'skipped', node: C, reason: 'sent before' }],
});

test('a live push starts the watermark at its before; only a settled one moves it', async (t) => {
  const { store, marks, calls } = memoryStore();
  const gapFill = gitGapFill({
    store,
    github: { ...NO_COMMIT_READS, branchHead: async () => 'unchanged' },
  });
  const job = (base: string, head: string): SettlingJob => ({
    label: 'message 1',
    target: { kind: 'gitPush', repository: REPO, base, head },
    receivedAt: Date.now(),
    settle: async () => undefined,
  });
  const failed: Settlement = {
    label: 'message 1',
    action: 'retry',
    result: { job: job(A, B), outcomes: [] },
  };
  gapFill.observe({
    ...failed,
    result: { job: job(A, B), outcomes: [{ status: 'held', node: B }] },
  });
  gapFill.observe({ label: 'message 2', action: 'skip', reason: 'branch x created' });
  gapFill.observe({ label: 'message 3', action: 'ack', result: sentOutcome(job(A, B)) });
  gapFill.observe({ label: 'message 4', action: 'ack', result: sentOutcome(job(C, A)) });
  await until('recorded', () => calls.length === 5);
  t.deepEqual(calls.sort(), ['settled a...b', 'settled c...a', 'start a', 'start a', 'start c']);
  t.is(marks.get(REPO), B, 'the first push started it; the second moved it; the third did not');
  await gapFill.stop(100);
});

test('the push that makes a branch starts its watermark at its head, or restarts an old one there', async (t) => {
  const { store, marks } = memoryStore();
  const made = 'https://github.com/mozilla-firefox/firefox/tree/esr150';
  marks.set(REPO, A); // left by an autoland deleted since
  const gapFill = gitGapFill({
    store,
    github: { ...NO_COMMIT_READS, branchHead: async () => 'unchanged' },
  });
  const creation = (repository: string, at: string): SettlingJob => ({
    label: 'creation',
    target: { kind: 'gitPush', repository, base: at, head: at, commits: [], created: true },
    receivedAt: Date.now(),
    settle: async () => undefined,
  });
  for (const job of [creation(REPO, C), creation(made, B)]) {
    gapFill.observe({ label: job.label, action: 'ack', result: { job, outcomes: [] } });
  }
  await until('both recorded', () => marks.get(REPO) === C && marks.get(made) === B);
  // Before, autoland made again kept A: gap-fill compared A...head across the new history and
  // sent commits of other branches as autoland landings.
  t.is(marks.get(REPO), C);
  t.is(marks.get(made), B);
  await gapFill.stop(100);
});

test('polls ask with the last ETag; past the grace one job runs watermark...head, and moves it', async (t) => {
  const { store, marks, calls } = memoryStore();
  marks.set(REPO, A);
  const asked: (string | undefined)[] = [];
  let answer: { sha: string; etag: string } | 'unchanged' = { sha: B, etag: '"e1"' };
  let clock = 1_000;
  const jobs: SettlingJob[] = [];
  const gapFill = gitGapFill({
    store,
    github: {
      ...NO_COMMIT_READS,
      branchHead: async (repository, etag) => {
        t.is(repository, REPO);
        asked.push(etag);
        const now = answer;
        answer = 'unchanged'; // the head stays: every later answer is a 304
        return now;
      },
    },
    pollMs: 30,
    graceMs: 5_000,
    now: () => clock,
  });
  gapFill.jobs.subscribe((job) => jobs.push(job));
  gapFill.start();
  await until('a few polls', () => asked.length >= 3);
  t.deepEqual(asked.slice(0, 3), [undefined, '"e1"', '"e1"'], 'conditional after the first');
  t.is(jobs.length, 0, 'within the grace period nothing runs');
  clock += 5_000;
  await until('a job', () => jobs.length === 1);
  t.like(jobs[0]!.target, { kind: 'gitPush', repository: REPO, base: A, head: B });
  const [polls, requests] = [gapFill.counters.polls, asked.length];
  await until('more polls', () => gapFill.counters.polls >= polls + 2);
  t.is(jobs.length, 1, 'one job per branch at a time');
  t.is(asked.length, requests, 'a branch with a job running is not even asked');
  await jobs[0]!.settle(sentOutcome(jobs[0]!));
  t.is(marks.get(REPO), B);
  t.true(calls.includes('settled a...b'));
  t.false(
    calls.some((c) => c.startsWith('start')),
    'gap-fill never starts a watermark',
  );
  await sleep(100);
  t.is(jobs.length, 1, 'at the head now: nothing more to do');
  await gapFill.stop(100);
});

test('a poll held by a rate-limit wait holds the next ones; stop does not wait for it', async (t) => {
  const { store, marks } = memoryStore();
  marks.set(REPO, A);
  let asked = 0;
  const gapFill = gitGapFill({
    store,
    // As the client does while a rate limit lasts: the request waits, nothing fails.
    github: { ...NO_COMMIT_READS, branchHead: () => (asked++, new Promise(() => undefined)) },
    pollMs: 20,
  });
  gapFill.start();
  await sleep(200);
  t.is(asked, 1, 'no poll started while the first waits');
  t.is(gapFill.counters.polls, 1);
  await gapFill.stop(50);
  t.pass();
});

test('a branch dropped from GITHUB_BRANCHES keeps its watermark but is not polled', async (t) => {
  const { store, marks } = memoryStore();
  const dropped = 'https://github.com/mozilla-firefox/firefox/tree/esr115';
  marks.set(dropped, A);
  marks.set(REPO, A);
  const asked: string[] = [];
  const jobs: SettlingJob[] = [];
  const gapFill = gitGapFill({
    follows: (repository) => repository !== dropped,
    store,
    github: {
      ...NO_COMMIT_READS,
      branchHead: async (repository) => (asked.push(repository), { sha: B, etag: 'e' }),
    },
  });
  gapFill.jobs.subscribe((job) => jobs.push(job));
  gapFill.start();
  await until('a job', () => jobs.length === 1);
  // Its commits are no landings any more: before, gap-fill sent them after every live
  // message of the branch had been skipped as "not in GITHUB_BRANCHES".
  t.deepEqual(asked, [REPO]);
  t.like(jobs[0]!.target, { kind: 'gitPush', repository: REPO });
  t.is(marks.get(dropped), A);
  await gapFill.stop(100);
});

for (const [moved, baseKnown, why] of [
  [
    false,
    false,
    'the base is gone, the head is still the branch head: the watermark restarts there',
  ],
  [
    true,
    false,
    'the branch moved meanwhile (the head may be the missing end): the watermark stays',
  ],
  // GitHub's API lagging the push: before, one such 404 skipped every commit in between.
  [false, true, 'GitHub still knows the base (its compare lagged): the watermark stays'],
] as const) {
  test(`compare 404: ${why}`, async (t) => {
    const { store, marks, calls } = memoryStore();
    marks.set(REPO, A);
    const jobs: SettlingJob[] = [];
    let heads = 0;
    const commitsRead: string[] = [];
    const gapFill = gitGapFill({
      store,
      github: {
        branchHead: async () =>
          heads++ === 0 || !moved ? { sha: B, etag: undefined } : { sha: C, etag: undefined },
        changeset: async (repository, sha) => {
          commitsRead.push(sha);
          if (!baseKnown) throw new NoSuchChangeset(sha, repository);
          return knownCommit(sha);
        },
      },
    });
    gapFill.jobs.subscribe((job) => jobs.push(job));
    gapFill.start();
    await until('a job', () => jobs.length === 1);
    const job = jobs[0]!;
    await job.settle({
      job,
      outcomes: [{ status: 'failed', error: new NotOnGitHubYet(`${A}...${B}`, REPO) }],
    });
    const restarted = !moved && !baseKnown;
    t.is(marks.get(REPO), restarted ? B : A);
    t.is(calls.includes('settled a...b'), restarted);
    t.deepEqual(commitsRead, moved ? [] : [A], 'the base asked about only for the branch head');
    await gapFill.stop(100);
  });
}

test('compares from a watermark GitHub knows, answering 404 for LAG_LIMIT_MS while heads move: the watermark restarts', async (t) => {
  // A branch deleted and made again from other history: no common commit, a 404 for ever.
  let now = 1_000_000;
  let branchHead = B;
  const lost = new LostWatermarks(
    {
      branchHead: async () => ({ sha: branchHead, etag: undefined }),
      changeset: async (_repository, sha) => knownCommit(sha),
    },
    () => now,
  );
  /** A gap-fill job from A to `head`, its compare answered 404, or answered. */
  const notFound = (head: string, answered = false) => {
    const target = { kind: 'gitPush', repository: REPO, base: A, head } as const;
    const job: SettlingJob = {
      label: 'gap-fill',
      target,
      receivedAt: now,
      settle: async () => undefined,
    };
    const error = new NotOnGitHubYet(`${A}...${head}`, REPO);
    const outcomes: JobOutcome['outcomes'] = answered ? [] : [{ status: 'failed', error }];
    return lost.gone(target, { job, outcomes });
  };
  t.false(await notFound(B), 'the first 404: GitHub may be lagging');
  now += LAG_LIMIT_MS - 1;
  branchHead = C;
  t.false(
    await notFound(C),
    'the branch moved on, from the same watermark: still within the limit',
  );
  now += 1;
  t.true(await notFound(C), 'past the limit: the watermark restarts at the head');
  t.false(await notFound(C), 'and the count starts again after a restart');
  t.false(await notFound(C, true), 'a compare that answered ends the count');
  now += 2 * LAG_LIMIT_MS;
  // It restarted at once, skipping what lay between, on one 404 long after the first.
  t.false(await notFound(C), 'a 404 long after a compare that answered counts from scratch');
});

test('the poller lease is renewed between polls, which come minutes apart', async (t) => {
  const { store } = memoryStore();
  const leases: string[] = [];
  const gapFill = gitGapFill({
    store: { ...store, takeLease: async (name) => (leases.push(name), true) },
    github: { ...NO_COMMIT_READS, branchHead: async () => 'unchanged' },
    pollMs: 600_000,
    leaseMs: 300,
  });
  gapFill.start();
  // Taken by the first poll, then renewed every third of the lease: before, it ran out until
  // the next poll, ten minutes on, and another worker of the fleet took it and polled too.
  await until('renewed', () => leases.length >= 3);
  t.deepEqual([...new Set(leases)], ['git-poller']);
  await gapFill.stop(100);
});
