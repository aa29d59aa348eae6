import test, { type ExecutionContext } from 'ava';
import { lastValueFrom, tap, toArray, type Subscription } from 'rxjs';
import { createClients, type Clients } from '../../src/clients/index.js';
import type { UpstreamSettings } from '../../src/codecs/settings.js';
import { configureLog } from '../../src/log.js';
import { pipeline } from '../../src/pipeline/index.js';
import type { Job, JobOutcome } from '../../src/pipeline/job.js';
import { MemorySink } from '../../src/sinks/memory.js';
import { PushlogSource } from '../../streams/pushlog.js';
import { startFixtures, type Fixtures } from '../support/fixtureServer.js';
import { syntheticFixtures } from '../support/syntheticFixtures.js';

configureLog({ level: 'silent' });

const REPO_PATH = 'integration/autoland';

interface Setup {
  readonly fx: Fixtures;
  readonly clients: Clients;
  readonly repository: string;
  readonly nodes: (pushId: number) => string[];
}

/** A fixture server with `pushes` synthetic pushes, and the real clients pointed at it. */
const setup = async (
  t: ExecutionContext,
  pushes: number,
  options: { latencyMs?: number } = {},
): Promise<Setup> => {
  const data = syntheticFixtures({ pushes, changesetsPerPush: 2, repoPath: REPO_PATH });
  const fx = await startFixtures({ data, latencyMs: options.latencyMs ?? 0 });
  t.teardown(() => fx.close());
  const settings: UpstreamSettings = {
    BMO_API_URL: `${fx.bmo.url}/rest`,
    ALLOWED_HOSTS: [fx.hg.host],
    HTTP_CONCURRENCY: 8,
    DEBUG: false,
  };
  return {
    fx,
    clients: createClients(settings),
    repository: fx.repo(REPO_PATH),
    nodes: data.nodes,
  };
};

interface PageRequest {
  readonly start: number;
  readonly end: number;
}

/** The json-pushes requests the fixture hg server saw; throws on one without both bounds. */
const pageRequests = (fx: Fixtures): PageRequest[] =>
  fx.hg.requests
    .filter((line) => line.includes('/json-pushes'))
    .map((line) => {
      const query = new URL(line.split(' ')[1]!, 'http://x').searchParams;
      const start = query.get('startID');
      const end = query.get('endID');
      if (start === null || end === null) throw new Error(`unbounded pushlog request: ${line}`);
      return { start: Number(start), end: Number(end) };
    });

/** Every pushlog request is bounded and spans at most a page; only json-pushes was asked. */
const assertBoundedPages = (t: ExecutionContext, fx: Fixtures, pageSize: number): void => {
  t.true(
    fx.hg.requests.every((line) => /^GET \/integration\/autoland\/json-pushes\?/.test(line)),
    'the source alone asks for nothing but pushlog pages',
  );
  for (const { start, end } of pageRequests(fx)) {
    t.true(start <= end, `startID ${start} <= endID ${end}`);
    t.true(end - start <= pageSize, `page ${start}..${end} spans at most ${pageSize} pushes`);
  }
  t.is(fx.bmo.requests.length + fx.tmo.requests.length, 0);
};

const outcomeOf = (job: Job): JobOutcome => {
  const input = job.input;
  if (input.kind !== 'push') throw new Error(`unexpected job ${job.label}`);
  return { job, outcomes: [], push: { repository: input.repository, pushId: input.pushId } };
};

const pushIdOf = (job: Job): number => {
  if (job.input.kind !== 'push') throw new Error(`unexpected job ${job.label}`);
  return job.input.pushId;
};

/** Subscribes and settles every job on the next turn, as a quick pipeline would. */
const drain = (source: PushlogSource): Promise<Job[]> =>
  new Promise((resolve, reject) => {
    const jobs: Job[] = [];
    source.jobs.subscribe({
      next: (job) => {
        jobs.push(job);
        setImmediate(() => void job.settle(outcomeOf(job)));
      },
      error: reject,
      complete: () => resolve(jobs),
    });
  });

const range = (from: number, to: number): number[] =>
  Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `condition` holds, or fails the test after `timeoutMs`. */
const until = async (condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
};

interface PagingCase {
  readonly title: string;
  readonly pushes: number;
  readonly start: number;
  readonly end: number;
  readonly pageSize: number;
  readonly expectedPages: readonly (readonly [number, number])[];
  readonly expectedPushes: readonly number[];
}

const pagingCases: readonly PagingCase[] = [
  {
    title: 'a range smaller than a page is one request',
    pushes: 40,
    start: 3,
    end: 8,
    pageSize: 10,
    expectedPages: [[3, 8]],
    expectedPushes: range(4, 8),
  },
  {
    title: 'a range of exactly one page is one request',
    pushes: 40,
    start: 0,
    end: 10,
    pageSize: 10,
    expectedPages: [[0, 10]],
    expectedPushes: range(1, 10),
  },
  {
    title: 'a range larger than a page is read page by page, the last one short',
    pushes: 40,
    start: 5,
    end: 30,
    pageSize: 10,
    expectedPages: [
      [5, 15],
      [15, 25],
      [25, 30],
    ],
    expectedPushes: range(6, 30),
  },
  {
    title: 'a range of a single push',
    pushes: 40,
    start: 39,
    end: 40,
    pageSize: 10,
    expectedPages: [[39, 40]],
    expectedPushes: [40],
  },
  {
    title: 'a page size of 1 asks for each push on its own',
    pushes: 40,
    start: 0,
    end: 4,
    pageSize: 1,
    expectedPages: [
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 4],
    ],
    expectedPushes: range(1, 4),
  },
  {
    title: 'a range past lastpushid stops at lastpushid (page ends on it)',
    pushes: 25,
    start: 5,
    end: 1000,
    pageSize: 10,
    expectedPages: [
      [5, 15],
      [15, 25],
    ],
    expectedPushes: range(6, 25),
  },
  {
    title: 'a range past lastpushid stops at lastpushid (page ends past it)',
    pushes: 25,
    start: 0,
    end: 1000,
    pageSize: 10,
    expectedPages: [
      [0, 10],
      [10, 20],
      [20, 30],
    ],
    expectedPushes: range(1, 25),
  },
];

for (const c of pagingCases) {
  test(`paging: ${c.title}`, async (t) => {
    const { fx, clients, repository, nodes } = await setup(t, c.pushes);
    const source = new PushlogSource(
      clients.hg,
      { repository, start: c.start, end: c.end },
      { pageSize: c.pageSize },
    );
    const jobs = await drain(source);
    t.is(source.failure, undefined);
    t.deepEqual(jobs.map(pushIdOf), [...c.expectedPushes]);
    t.deepEqual(
      pageRequests(fx).map(({ start, end }) => [start, end]),
      c.expectedPages.map(([start, end]) => [start, end]),
    );
    assertBoundedPages(t, fx, c.pageSize);
    const lastPushId = c.pushes;
    t.false(
      pageRequests(fx).some(({ start }) => start >= lastPushId),
      'no request starts at or beyond lastpushid',
    );
    // The changesets come from the page itself: no other request per push.
    for (const job of jobs) {
      t.like(job.input, {
        kind: 'push',
        repository,
        pushId: pushIdOf(job),
        nodes: nodes(pushIdOf(job)),
      });
      t.is(job.label, `push ${pushIdOf(job)}`);
    }
  });
}

test('paging: an empty range (start == lastpushid) hands out nothing and completes', async (t) => {
  const { fx, clients, repository } = await setup(t, 25);
  const source = new PushlogSource(
    clients.hg,
    { repository, start: 25, end: 60 },
    { pageSize: 10 },
  );
  const jobs = await drain(source);
  t.deepEqual(jobs, []);
  t.is(source.failure, undefined);
  // One bounded request to learn that there is nothing past push 25; nothing after it.
  t.deepEqual(pageRequests(fx), [{ start: 25, end: 35 }]);
  assertBoundedPages(t, fx, 10);
});

test('paging: the default page size of the command (100) over 250 pushes', async (t) => {
  const { fx, clients, repository } = await setup(t, 300);
  const source = new PushlogSource(
    clients.hg,
    { repository, start: 0, end: 250 },
    { pageSize: 100 },
  );
  const jobs = await drain(source);
  t.deepEqual(jobs.map(pushIdOf), range(1, 250));
  t.deepEqual(pageRequests(fx), [
    { start: 0, end: 100 },
    { start: 100, end: 200 },
    { start: 200, end: 250 },
  ]);
  assertBoundedPages(t, fx, 100);
});

test('onSettle sees every outcome, once', async (t) => {
  const { clients, repository } = await setup(t, 30);
  const settled: number[] = [];
  const source = new PushlogSource(
    clients.hg,
    { repository, start: 0, end: 30 },
    { pageSize: 7, onSettle: (result) => settled.push(result.push!.pushId) },
  );
  const jobs = await drain(source);
  await until(() => settled.length === jobs.length, 'every settle');
  t.deepEqual(
    [...settled].sort((a, b) => a - b),
    range(1, 30),
  );
});

/** Subscribes and keeps every job unsettled; `settle(n)` settles the n oldest still pending. */
const hold = (t: ExecutionContext, source: PushlogSource) => {
  const state = { jobs: [] as Job[], completed: false };
  const settled = new Set<Job>();
  const subscription: Subscription = source.jobs.subscribe({
    next: (job) => state.jobs.push(job),
    error: (error: unknown) => t.fail(`unexpected error ${String(error)}`),
    complete: () => {
      state.completed = true;
    },
  });
  t.teardown(() => subscription.unsubscribe());
  const settle = async (count: number) => {
    const next = state.jobs.filter((job) => !settled.has(job)).slice(0, count);
    if (next.length < count) throw new Error(`only ${next.length} jobs to settle`);
    for (const job of next) {
      settled.add(job);
      await job.settle(outcomeOf(job));
    }
  };
  return { state, settle };
};

interface BackPressureCase {
  readonly pageSize: number;
  readonly maxInFlight?: number;
  readonly pagesAhead: number;
}

const backPressureCases: readonly BackPressureCase[] = [
  { pageSize: 5, pagesAhead: 2 }, // the default: two pages
  { pageSize: 5, maxInFlight: 10, pagesAhead: 2 },
  { pageSize: 4, maxInFlight: 12, pagesAhead: 3 },
  { pageSize: 10, maxInFlight: 10, pagesAhead: 1 },
  { pageSize: 5, maxInFlight: 13, pagesAhead: 2 },
];

for (const c of backPressureCases) {
  const maxInFlight = c.maxInFlight ?? c.pageSize * 2;
  test(`back-pressure: page size ${c.pageSize}, maxInFlight ${c.maxInFlight ?? 'default'}: ${c.pagesAhead} page(s) ahead, then one more per page settled`, async (t) => {
    const { fx, clients, repository } = await setup(t, 200);
    const source = new PushlogSource(
      clients.hg,
      { repository, start: 0, end: 200 },
      { pageSize: c.pageSize, ...(c.maxInFlight === undefined ? {} : { maxInFlight }) },
    );
    const { state, settle } = hold(t, source);
    const handedOut = c.pagesAhead * c.pageSize;
    await until(() => state.jobs.length >= handedOut, `${handedOut} jobs`);
    await sleep(150);
    t.is(pageRequests(fx).length, c.pagesAhead, 'no page fetched ahead while jobs are unsettled');
    t.is(state.jobs.length, handedOut);
    t.false(state.completed);

    // Room for a page opens once inFlight + pageSize <= maxInFlight, not before.
    const toFree = handedOut + c.pageSize - maxInFlight;
    if (toFree > 1) {
      await settle(toFree - 1);
      await sleep(100);
      t.is(pageRequests(fx).length, c.pagesAhead, 'still no room for a whole page');
    }
    await settle(1);
    await until(() => pageRequests(fx).length === c.pagesAhead + 1, 'the next page');
    await until(() => state.jobs.length === handedOut + c.pageSize, 'its jobs');
    await sleep(100);
    t.is(pageRequests(fx).length, c.pagesAhead + 1, 'and only that one');
    assertBoundedPages(t, fx, c.pageSize);
  });
}

test('back-pressure: a slow consumer of a long range never has more than maxInFlight pushes', async (t) => {
  const { fx, clients, repository } = await setup(t, 300);
  let inFlight = 0;
  let peak = 0;
  const source = new PushlogSource(
    clients.hg,
    { repository, start: 0, end: 300 },
    { pageSize: 20, maxInFlight: 50 },
  );
  const jobs = await new Promise<Job[]>((resolve, reject) => {
    const seen: Job[] = [];
    source.jobs.subscribe({
      next: (job) => {
        seen.push(job);
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        setTimeout(
          () => {
            inFlight -= 1;
            void job.settle(outcomeOf(job));
          },
          1 + (pushIdOf(job) % 7),
        );
      },
      error: reject,
      complete: () => resolve(seen),
    });
  });
  t.deepEqual(jobs.map(pushIdOf), range(1, 300));
  t.true(peak <= 50, `peak ${peak} pushes in flight`);
  t.is(pageRequests(fx).length, 15);
  assertBoundedPages(t, fx, 20);
});

test('stop(): no page is asked for afterwards, and jobs handed out can still be settled', async (t) => {
  const { fx, clients, repository } = await setup(t, 100);
  const settled: number[] = [];
  const source = new PushlogSource(
    clients.hg,
    { repository, start: 0, end: 100 },
    { pageSize: 10, onSettle: (result) => settled.push(result.push!.pushId) },
  );
  const { state } = hold(t, source);
  await until(() => state.jobs.length === 20, 'two pages of jobs');
  await sleep(50);
  source.stop();
  await until(() => state.completed, 'completion after stop()');
  // Settling the jobs handed out is still fine, and does not wake the paging up again.
  for (const job of state.jobs) await job.settle(outcomeOf(job));
  await sleep(100);
  t.deepEqual(settled, range(1, 20));
  t.is(state.jobs.length, 20);
  t.deepEqual(pageRequests(fx), [
    { start: 0, end: 10 },
    { start: 10, end: 20 },
  ]);
  t.is(source.failure, undefined);
});

test('stop() in the middle of a pipeline run: every job handed out is still processed', async (t) => {
  const { clients, repository, nodes } = await setup(t, 100, { latencyMs: 5 });
  const sink = new MemorySink();
  const source = new PushlogSource(
    clients.hg,
    { repository, start: 0, end: 100 },
    { pageSize: 10 },
  );
  const handedOut: number[] = [];
  const jobs = source.jobs.pipe(tap((job) => handedOut.push(pushIdOf(job))));
  const outcomes = await lastValueFrom(
    pipeline({ hg: clients.hg, bugzilla: clients.bugzilla, sink })(jobs).pipe(
      tap(() => source.stop()),
      toArray(),
    ),
  );
  t.true(handedOut.length < 100, `stopped early (${handedOut.length} pushes handed out)`);
  t.deepEqual(
    outcomes.map((o) => o.push!.pushId).sort((a, b) => a - b),
    handedOut,
    'one outcome per push handed out',
  );
  t.true(outcomes.every((o) => o.outcomes.every((x) => x.status === 'sent')));
  t.deepEqual(sink.pings.map((p) => p.changesetID).sort(), handedOut.flatMap(nodes).sort());
});

test('stop() before subscribing: nothing is asked for', async (t) => {
  const { fx, clients, repository } = await setup(t, 30);
  const source = new PushlogSource(clients.hg, { repository, start: 0, end: 30 }, { pageSize: 10 });
  source.stop();
  const jobs = await drain(source);
  t.deepEqual(jobs, []);
  t.is(fx.hg.requests.length, 0);
});

// The issue: on Ctrl-C "stop taking new pushes, finish those in flight": a page whose request
// is on its way when stop() is called is not handed out. (It used to be.)
test('stop() while a page is being fetched hands out none of its pushes', async (t) => {
  const { fx, clients, repository } = await setup(t, 100, { latencyMs: 150 });
  const source = new PushlogSource(
    clients.hg,
    { repository, start: 0, end: 100 },
    { pageSize: 10 },
  );
  const { state } = hold(t, source);
  await until(() => pageRequests(fx).length === 1, 'the first request');
  source.stop();
  await until(() => state.completed, 'completion');
  t.is(state.jobs.length, 0, 'no push handed out after stop()');
});

test('a failing first page sets `failure` and completes without jobs', async (t) => {
  const { fx, clients, repository } = await setup(t, 30);
  fx.fail({ match: /json-pushes/, status: 404 });
  const source = new PushlogSource(clients.hg, { repository, start: 0, end: 30 }, { pageSize: 10 });
  const jobs = await drain(source);
  t.deepEqual(jobs, []);
  t.truthy(source.failure);
  t.regex(String((source.failure as Error).message), /json-pushes.*answered 404/);
  t.is(pageRequests(fx).length, 1, 'a 404 is not retried, and paging stops');
});

test('a failing later page: the pages before it are handed out, then it completes', async (t) => {
  const { fx, clients, repository } = await setup(t, 50);
  fx.fail({ match: /json-pushes\?.*startID=20&/, status: 404 });
  const source = new PushlogSource(clients.hg, { repository, start: 0, end: 50 }, { pageSize: 10 });
  const jobs = await drain(source);
  t.deepEqual(jobs.map(pushIdOf), range(1, 20));
  t.truthy(source.failure);
  t.deepEqual(pageRequests(fx), [
    { start: 0, end: 10 },
    { start: 10, end: 20 },
    { start: 20, end: 30 },
  ]);
});

test('a transient failure of a page is retried by the client, and paging goes on', async (t) => {
  const { fx, repository } = await setup(t, 30);
  const settings: UpstreamSettings = {
    BMO_API_URL: `${fx.bmo.url}/rest`,
    ALLOWED_HOSTS: [fx.hg.host],
    HTTP_CONCURRENCY: 8,
    DEBUG: false,
  };
  const { hg } = createClients(settings, { backoffMs: 1 });
  fx.fail({ match: /json-pushes\?.*startID=10&/, status: 503, times: 2 });
  const source = new PushlogSource(hg, { repository, start: 0, end: 30 }, { pageSize: 10 });
  const jobs = await drain(source);
  t.is(source.failure, undefined);
  t.deepEqual(jobs.map(pushIdOf), range(1, 30));
  t.is(pageRequests(fx).length, 5, 'three pages, one of them asked three times');
});

// HgClient.pushlogPage throws synchronously for a host that is not allowed, so the observable
// errors (rather than completing with `failure`); either way, it ends without a request.
test('a repository host that is not allowed ends the source without a request', async (t) => {
  const { fx, clients } = await setup(t, 30);
  const source = new PushlogSource(
    clients.hg,
    { repository: 'https://hg.mozilla.org/integration/autoland', start: 0, end: 30 },
    { pageSize: 10 },
  );
  const why = await drain(source).then(
    (jobs) => {
      t.deepEqual(jobs, []);
      return source.failure;
    },
    (error: unknown) => error,
  );
  t.regex(String((why as Error).message), /ALLOWED_HOSTS/);
  t.is(fx.hg.requests.length, 0);
});

// A maxInFlight below the page size: with nothing in flight a page is still asked for. (The
// source used to wait forever for room for a whole page.)
test('a maxInFlight smaller than the page size still reads the range', async (t) => {
  const { clients, repository } = await setup(t, 30);
  const source = new PushlogSource(
    clients.hg,
    { repository, start: 0, end: 30 },
    { pageSize: 10, maxInFlight: 5 },
  );
  const jobs = await Promise.race([drain(source), sleep(1000).then(() => 'hung' as const)]);
  t.not(jobs, 'hung');
  t.is((jobs as Job[]).length, 30);
});
