/**
 * Each operator alone, fed by `of(...)` with fake clients (pure code: no I/O here), and the
 * bounds of the composed pipeline over a merge push of 2,000 changesets.
 */
import test from 'ava';
import { from, lastValueFrom, of, toArray } from 'rxjs';
import type { BugRecord } from '../../src/rules/reviewSystem.js';
import type { Changeset } from '../../src/codecs/changeset.js';
import type { Diffstat, Ping } from '../../src/codecs/ping.js';
import { PushlogPage } from '../../src/codecs/pushlog.js';
import { NoSuchChangeset, NotOnGitHubYet, PipelineError, StoreClosed } from '../../src/errors.js';
import { configureLog } from '../../src/log.js';
import { decoded } from '../support/data/decoded.js';
import { claim } from '../../src/pipeline/operators/claim.js';
import { classify } from '../../src/pipeline/operators/classify.js';
import { encodePing } from '../../src/pipeline/operators/encodePing.js';
import { fetchChangesets } from '../../src/pipeline/operators/fetchChangesets.js';
import { pipeline, type PipelineDeps } from '../../src/pipeline/index.js';
import {
  pingCounts,
  type ClassifiedChangeset,
  type FetchedChangeset,
  type Job,
  type Outcome,
} from '../../src/pipeline/job.js';
import { listChangesets } from '../../src/pipeline/operators/listChangesets.js';
import { mergePulled } from '../../src/pipeline/operators/mergePulled.js';
import { dryRun, dryRunLedger } from '../../src/pipeline/ledger.js';
import { send } from '../../src/pipeline/operators/send.js';
import { settle } from '../../src/pipeline/operators/settle.js';

configureLog({ level: 'silent' });

const REPO = 'https://hg.example/integration/autoland';
const node = (i: number) => i.toString(16).padStart(40, 'a');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const changesetOf = (n: string, desc = 'Bug 1 - fix, r=me'): Changeset =>
  ({
    node: n,
    desc,
    user: 'A <a@example.com>',
    parents: [node(0)],
    pushdate: [1_700_000_000, 0],
    landingsystem: 'lando',
  }) as Changeset;

const pushJob = (pushId: number, nodes?: string[]): Job => ({
  label: `push ${pushId}`,
  target: { kind: 'push', repository: REPO, pushId, ...(nodes ? { nodes } : {}) },
  receivedAt: 0,
});

const noPushlog = {
  pushlogPage: (): Promise<PushlogPage> => Promise.reject(new Error('no pushlog here')),
};

test('listChangesets: a push with its nodes lists them in order, without a request', async (t) => {
  const refs = await lastValueFrom(
    of(pushJob(7, [node(1), node(2)])).pipe(listChangesets({ hg: noPushlog }), toArray()),
  );
  t.deepEqual(
    refs.map((r) => [r.node, r.repository, r.job.label]),
    [
      [node(1), REPO, 'push 7'],
      [node(2), REPO, 'push 7'],
    ],
  );
});

test('listChangesets: a push without nodes asks for exactly that push', async (t) => {
  const asked: [string, number, number][] = [];
  const hg = {
    pushlogPage: async (repository: string, start: number, end: number) => {
      asked.push([repository, start, end]);
      return decoded(PushlogPage, {
        lastpushid: 9,
        pushes: { '7': { changesets: [node(3)], date: 0, user: 'u' } },
      });
    },
  };
  const refs = await lastValueFrom(of(pushJob(7)).pipe(listChangesets({ hg }), toArray()));
  t.deepEqual(asked, [[REPO, 6, 7]]);
  t.deepEqual(
    refs.map((r) => r.node),
    [node(3)],
  );
});

test('listChangesets: a changeset job is that one changeset', async (t) => {
  const job: Job = {
    label: 'c',
    target: { kind: 'changeset', repository: REPO, node: 'abcdef012345' },
    receivedAt: 0,
  };
  const refs = await lastValueFrom(of(job).pipe(listChangesets({ hg: noPushlog }), toArray()));
  t.deepEqual(
    refs.map((r) => r.node),
    ['abcdef012345'],
  );
});

test('fetchChangesets: adds the json-rev of each changeset', async (t) => {
  const hg = { changeset: async (_repository: string, n: string) => changesetOf(n) };
  const [fetched] = await lastValueFrom(
    of({ job: pushJob(1), repository: REPO, node: node(5) }).pipe(
      fetchChangesets({ hg }),
      toArray(),
    ),
  );
  t.is(fetched?.changeset.node as string | undefined, node(5));
});

const fetched = (desc: string): FetchedChangeset => ({
  job: pushJob(1),
  repository: REPO,
  node: node(5),
  changeset: changesetOf(node(5), desc),
});

test('classify: decides from the changeset when it can, asking Bugzilla nothing', async (t) => {
  const bugzilla = { bug: (): Promise<BugRecord> => Promise.reject(new Error('not asked')) };
  const result = await lastValueFrom(
    of(fetched('Backed out changeset 0123456789ab')).pipe(classify({ bugzilla })),
  );
  t.is(result.reviewSystem, 'review_unneeded');
});

test('classify: asks Bugzilla about the first bug of the summary', async (t) => {
  const asked: number[] = [];
  const bugzilla = {
    bug: async (bug: number): Promise<BugRecord> => {
      asked.push(bug);
      return {
        attachments: [{ content_type: 'text/x-phabricator-request', is_patch: 0, is_obsolete: 0 }],
        history: [],
      };
    },
  };
  const result = await lastValueFrom(
    of(fetched('Bug 42 - x (bug 43)')).pipe(classify({ bugzilla })),
  );
  t.deepEqual(asked, [42]);
  t.is(result.reviewSystem, 'phabricator');
});

const classified = (reviewSystem: ClassifiedChangeset['reviewSystem']): ClassifiedChangeset => ({
  ...fetched('Bug 1 - x'),
  reviewSystem,
});
const DIFFSTAT = { changedFiles: 1, additions: 2, deletions: 3 } as Diffstat;

test('encodePing: a diffstat for phabricator and bmo only, and a schema-checked ping', async (t) => {
  const asked: string[] = [];
  const hg = {
    diffstat: async (_repository: string, n: string) => {
      asked.push(n);
      return DIFFSTAT;
    },
  };
  const pings = await lastValueFrom(
    from([classified('phabricator'), classified('no_bug')]).pipe(encodePing({ hg }), toArray()),
  );
  t.deepEqual(asked, [node(5)]);
  t.deepEqual(
    pings.map((p) => p.ping.diffstat),
    [DIFFSTAT, null],
  );
  t.deepEqual(pings[0]?.ping, {
    changesetID: node(5),
    reviewSystemUsed: 'phabricator',
    repository: REPO,
    diffstat: DIFFSTAT,
    landingSystem: 'lando',
    pushDate: 1_700_000_000,
  } as Ping);
});

test('encodePing: a ping that fails the schema is a permanent failure', async (t) => {
  const hg = {
    diffstat: async () => ({ changedFiles: -1, additions: 0, deletions: 0 }) as Diffstat,
  };
  const error = await t.throwsAsync(lastValueFrom(of(classified('bmo')).pipe(encodePing({ hg }))));
  t.true(error instanceof PipelineError && error.kind === 'permanent');
  t.regex(error?.message ?? '', /diffstat/);
});

test('encodePing: a commit GitHub answers 404 for is tried again later; an hg changeset is not', async (t) => {
  const notFound = async (repository: string, n: string): Promise<Diffstat> => {
    throw new NoSuchChangeset(n, repository);
  };
  const git = { diffstat: notFound, owns: (repository: string) => repository !== REPO };
  const gitRepo = 'https://github.com/mozilla-firefox/firefox/tree/autoland';
  const onGit = { ...classified('phabricator'), repository: gitRepo };
  const lagging = await t.throwsAsync(
    lastValueFrom(of(onGit).pipe(encodePing({ hg: { diffstat: notFound }, git }))),
  );
  // GitHub's API may lag the push that listed the commit: before, this parked the push.
  t.true(lagging instanceof NotOnGitHubYet, String(lagging));
  t.like(lagging, { kind: 'transient', what: node(5), repository: gitRepo });
  const onHg = await t.throwsAsync(
    lastValueFrom(
      of(classified('phabricator')).pipe(encodePing({ hg: { diffstat: notFound }, git })),
    ),
  );
  t.true(onHg instanceof NoSuchChangeset && onHg.kind === 'permanent');
});

test('send: hands the ping to the sink, then says it was sent', async (t) => {
  const sent: Ping[] = [];
  const sink = { send: async (ping: Ping) => void sent.push(ping) };
  const ping = { changesetID: node(5), reviewSystemUsed: 'no_bug', repository: REPO } as Ping;
  const outcome = await lastValueFrom(
    of({ ...classified('no_bug'), ping }).pipe(send({ sink, ledger: dryRunLedger })),
  );
  t.deepEqual(sent, [ping]);
  t.deepEqual(outcome, { status: 'sent', node: node(5), reviewSystem: 'no_bug', ping });
});

test('send: an accepted ping whose ledger write fails is written again, waits doubling up to a cap, until it is in', async (t) => {
  const tries: number[] = [];
  const ledger = {
    ...dryRunLedger,
    recordSent: async () => {
      tries.push(Date.now());
      if (tries.length < 6) throw new Error('database is locked');
    },
  };
  const sink = { send: async () => undefined };
  const ping = { changesetID: node(5), reviewSystemUsed: 'no_bug', repository: REPO } as Ping;
  const outcome = await lastValueFrom(
    of({ ...classified('no_bug'), ping }).pipe(
      send({ sink, ledger, ledgerRetryMs: 20, ledgerRetryMaxMs: 40 }),
    ),
  );
  t.is(outcome.status, 'sent');
  t.is(tries.length, 6);
  const waits = tries.slice(1).map((at, i) => at - (tries[i] ?? at));
  // 20, 40, 40, 40, 40 ms, each at least its wait (timers never fire early). Uncapped, the last
  // would have been 320 ms: the claim cannot be renewed while the store is down, so the
  // write must land soon after it is back.
  const planned = [20, 40, 40, 40, 40];
  t.true(
    waits.every((wait, i) => wait >= planned[i]! - 2),
    `waits ${waits.join(', ')}`,
  );
  t.true(waits[4]! < 320, `the last wait, ${waits[4]} ms, was capped`);
});

test('send: a closed store ends the ledger writes of an accepted ping at once', async (t) => {
  let tries = 0;
  const ledger = {
    ...dryRunLedger,
    recordSent: async () => {
      tries += 1;
      throw new StoreClosed('the store is closed');
    },
  };
  const sink = { send: async () => undefined };
  const ping = { changesetID: node(5), reviewSystemUsed: 'no_bug', repository: REPO } as Ping;
  const error = await t.throwsAsync(
    lastValueFrom(
      of({ ...classified('no_bug'), ping }).pipe(send({ sink, ledger, ledgerRetryMs: 5 })),
    ),
  );
  t.true(error instanceof StoreClosed);
  t.is(tries, 1);
});

test('claim: awaiting, a claim another process holds is asked for again until it is free', async (t) => {
  const answers = ['held', 'held', 'claimed'] as const;
  let asked = 0;
  const ledger = { ...dryRunLedger, claim: async () => answers[asked++] ?? 'claimed' };
  const ref = { job: pushJob(1), repository: REPO, node: node(1) };
  const policy = { whenHeld: 'await', startsWatermarks: false } as const;
  const claimed = await lastValueFrom(of(ref).pipe(claim({ ledger, policy, claimRetryMs: 5 })));
  t.deepEqual(claimed, { ref });
  t.is(asked, 3);
});

test('claim: deferring, a held claim is the outcome at once; a failing ledger is not asked again', async (t) => {
  let asked = 0;
  const held = { ...dryRunLedger, claim: async () => (asked++, 'held' as const) };
  const ref = { job: pushJob(1), repository: REPO, node: node(1) };
  const defer = { whenHeld: 'defer', startsWatermarks: false } as const;
  const claimed = await lastValueFrom(of(ref).pipe(claim({ ledger: held, policy: defer })));
  t.deepEqual(claimed, { ref, outcome: { status: 'held', node: node(1) } });
  t.is(asked, 1);
  let failed = 0;
  const failing = {
    ...dryRunLedger,
    claim: async (): Promise<'held'> => {
      failed += 1;
      throw new Error('database is locked');
    },
  };
  const wait = { ...defer, whenHeld: 'await' } as const;
  await t.throwsAsync(lastValueFrom(of(ref).pipe(claim({ ledger: failing, policy: wait }))), {
    message: 'database is locked',
  });
  t.is(failed, 1);
});

test('settle: one outcome for the job once all its changesets are in; none for no changeset', async (t) => {
  const job = pushJob(3);
  const outcomes: Outcome[] = [
    { status: 'skipped', node: node(1), reason: 'r' },
    { status: 'failed', node: node(2), error: new PipelineError('x', 'permanent') },
  ];
  t.deepEqual(await lastValueFrom(from(outcomes).pipe(settle(job))), { job, outcomes });
  t.deepEqual(await lastValueFrom(from([] as Outcome[]).pipe(settle(job))), { job, outcomes: [] });
});

test('mergePulled: pulls the next item only when a slot is free, and completes after all', async (t) => {
  let pulled = 0;
  let running = 0;
  let peak = 0;
  async function* items() {
    for (let i = 0; i < 20; i += 1) {
      pulled += 1;
      t.true(pulled - done <= 3 + 1, `pulled ${pulled}, done ${done}`);
      yield i;
    }
  }
  let done = 0;
  const results = await lastValueFrom(
    mergePulled(items(), 3, async (i) => {
      running += 1;
      peak = Math.max(peak, running);
      await sleep(2 + (i % 3));
      running -= 1;
      done += 1;
      return i;
    }).pipe(toArray()),
  );
  t.deepEqual(
    [...results].sort((a, b) => a - b),
    Array.from({ length: 20 }, (_, i) => i),
  );
  t.is(peak, 3);
});

/** Fake upstreams that count the changesets between their json-rev and their ping. */
const countingDeps = (delayMs: number) => {
  const state = { inFlight: 0, peak: 0, sent: 0 };
  const deps: PipelineDeps = {
    hg: {
      pushlogPage: noPushlog.pushlogPage,
      changeset: async (_repository, n) => {
        state.inFlight += 1;
        state.peak = Math.max(state.peak, state.inFlight);
        await sleep(delayMs);
        return changesetOf(n, 'No bug - x');
      },
      diffstat: async () => DIFFSTAT,
    },
    bugzilla: { bug: () => Promise.reject(new Error('not asked')) },
    ...dryRun,
    sink: {
      send: async () => {
        await sleep(delayMs);
        state.inFlight -= 1;
        state.sent += 1;
      },
    },
  };
  return { state, deps };
};

test('a merge push of 2,000 changesets has at most changesetsPerJob of them in flight', async (t) => {
  const { state, deps } = countingDeps(1);
  const nodes = Array.from({ length: 2000 }, (_, i) => node(i + 1));
  const [result] = await lastValueFrom(
    pipeline(deps, { jobs: 4, changesetsPerJob: 8 })(of(pushJob(1, nodes))).pipe(toArray()),
  );
  t.is(result?.outcomes.length, 2000);
  t.true(result?.outcomes.every((o) => o.status === 'sent'));
  t.is(state.sent, 2000);
  t.is(state.peak, 8);
});

test('several large pushes: at most jobs x changesetsPerJob changesets in flight in all', async (t) => {
  const { state, deps } = countingDeps(1);
  const jobs = Array.from({ length: 10 }, (_, p) =>
    pushJob(
      p + 1,
      Array.from({ length: 200 }, (_, i) => node(p * 1000 + i + 1)),
    ),
  );
  const results = await lastValueFrom(
    pipeline(deps, { jobs: 3, changesetsPerJob: 5 })(from(jobs)).pipe(toArray()),
  );
  t.is(results.length, 10);
  t.is(state.sent, 2000);
  t.is(state.peak, 15);
});

test('pingCounts: sent by review system, the rest unclassified by outcome, no zero counts', (t) => {
  const ping = { changesetID: node(1), reviewSystemUsed: 'bmo', repository: REPO } as Ping;
  const outcomes: Outcome[] = [
    { status: 'sent', node: node(1), reviewSystem: 'bmo', ping },
    { status: 'sent', node: node(2), reviewSystem: 'bmo', ping },
    { status: 'sent', node: node(3), reviewSystem: 'no_bug', ping },
    { status: 'skipped', node: node(4), reason: 'sent before' },
    { status: 'failed', node: node(5), error: new PipelineError('no', 'transient') },
  ];
  t.deepEqual(pingCounts(outcomes), [
    { reviewSystem: 'bmo', outcome: 'sent', count: 2 },
    { reviewSystem: 'no_bug', outcome: 'sent', count: 1 },
    { reviewSystem: 'unclassified', outcome: 'failed', count: 1 },
    { reviewSystem: 'unclassified', outcome: 'already_sent', count: 1 },
  ]);
  t.deepEqual(pingCounts([]), []);
});
