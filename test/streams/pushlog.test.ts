import test, { type ExecutionContext } from 'ava';
import { lastValueFrom, tap, toArray } from 'rxjs';
import { createClients, type Clients } from '../../src/clients/index.js';
import { PushlogPage } from '../../src/codecs/pushlog.js';
import type { UpstreamSettings } from '../../src/codecs/settings.js';
import { configureLog } from '../../src/log.js';
import { pipeline } from '../../src/pipeline/index.js';
import { dryRun } from '../../src/pipeline/ledger.js';
import type { Job } from '../../src/pipeline/job.js';
import { mergePulled } from '../../src/pipeline/operators/mergePulled.js';
import { MemorySink } from '../../src/sinks/memory.js';
import { PushlogSource } from '../../streams/pushlog.js';
import { startFixtures, type Fixtures } from '../support/standIns/fixtureServer.js';
import { syntheticFixtures } from '../support/data/syntheticFixtures.js';
import { sleep, until } from '../support/wait.js';

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

const pushIdOf = (job: Job): number => {
  if (job.target.kind !== 'push') throw new Error(`unexpected job ${job.label}`);
  return job.target.pushId;
};

/** Takes every job, as a quick pipeline would. */
const drain = async (source: PushlogSource): Promise<Job[]> => {
  const jobs: Job[] = [];
  for await (const job of source.jobs()) jobs.push(job);
  return jobs;
};

const range = (from: number, to: number): number[] =>
  Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

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
      c.pageSize,
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
      t.like(job.target, {
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
  const source = new PushlogSource(clients.hg, { repository, start: 25, end: 60 }, 10);
  const jobs = await drain(source);
  t.deepEqual(jobs, []);
  t.is(source.failure, undefined);
  // One bounded request to learn that there is nothing past push 25; nothing after it.
  t.deepEqual(pageRequests(fx), [{ start: 25, end: 35 }]);
  assertBoundedPages(t, fx, 10);
});

test('paging: the default page size of the command (100) over 250 pushes', async (t) => {
  const { fx, clients, repository } = await setup(t, 300);
  const source = new PushlogSource(clients.hg, { repository, start: 0, end: 250 }, 100);
  const jobs = await drain(source);
  t.deepEqual(jobs.map(pushIdOf), range(1, 250));
  t.deepEqual(pageRequests(fx), [
    { start: 0, end: 100 },
    { start: 100, end: 200 },
    { start: 200, end: 250 },
  ]);
  assertBoundedPages(t, fx, 100);
});

test('firstPage(): asked for once, and the pushes begin with it', async (t) => {
  const { fx, clients, repository } = await setup(t, 30);
  const source = new PushlogSource(clients.hg, { repository, start: 0, end: 25 }, 10);
  const first = await source.firstPage();
  t.is(Number(first.lastpushid), 30);
  t.is(source.firstPage(), source.firstPage(), 'the same request every time');
  t.deepEqual(pageRequests(fx), [{ start: 0, end: 10 }]);
  const jobs = await drain(source);
  t.deepEqual(jobs.map(pushIdOf), range(1, 25));
  t.deepEqual(pageRequests(fx), [
    { start: 0, end: 10 },
    { start: 10, end: 20 },
    { start: 20, end: 25 },
  ]);
});

test('pull: a page is read only when its pushes are asked for, with one page ahead', async (t) => {
  const { fx, clients, repository } = await setup(t, 200);
  const source = new PushlogSource(clients.hg, { repository, start: 0, end: 200 }, 10);
  const jobs = source.jobs();
  const take = async (count: number) => {
    const ids: number[] = [];
    for (let i = 0; i < count; i += 1) {
      const next = await jobs.next();
      if (next.done === true) break;
      ids.push(pushIdOf(next.value));
    }
    return ids;
  };
  t.deepEqual(await take(1), [1]);
  await until('the page ahead is asked for', () => pageRequests(fx).length >= 2);
  t.deepEqual(pageRequests(fx), [
    { start: 0, end: 10 },
    { start: 10, end: 20 },
  ]);
  t.deepEqual(await take(9), range(2, 10));
  await sleep(100);
  t.is(pageRequests(fx).length, 2, 'nothing more while the first page is handed out');
  t.deepEqual(await take(1), [11]);
  await until('the page after the next one', () => pageRequests(fx).length >= 3);
  await sleep(100);
  t.is(pageRequests(fx).length, 3, 'the page after the next one, once the next one is reached');
  await jobs.return(undefined);
  assertBoundedPages(t, fx, 10);
});

test('pull: a slow pipeline over a long range never holds more than its bound of pushes', async (t) => {
  const { fx, clients, repository } = await setup(t, 300);
  const source = new PushlogSource(clients.hg, { repository, start: 0, end: 300 }, 20);
  let inFlight = 0;
  let peak = 0;
  const jobs = await lastValueFrom(
    mergePulled(source.jobs(), 5, (job) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      return new Promise<Job>((resolve) =>
        setTimeout(
          () => {
            inFlight -= 1;
            resolve(job);
          },
          1 + (pushIdOf(job) % 7),
        ),
      );
    }).pipe(toArray()),
  );
  t.deepEqual(
    jobs.map(pushIdOf).sort((a, b) => a - b),
    range(1, 300),
  );
  t.is(peak, 5);
  t.is(pageRequests(fx).length, 15);
  assertBoundedPages(t, fx, 20);
});

test('stop(): no push is handed out afterwards, and no page is asked for', async (t) => {
  const { fx, clients, repository } = await setup(t, 100);
  const source = new PushlogSource(clients.hg, { repository, start: 0, end: 100 }, 10);
  const jobs = source.jobs();
  for (let i = 0; i < 12; i += 1) await jobs.next();
  source.stop();
  t.true((await jobs.next()).done);
  await sleep(100);
  t.deepEqual(pageRequests(fx), [
    { start: 0, end: 10 },
    { start: 10, end: 20 },
    { start: 20, end: 30 },
  ]);
  t.is(source.failure, undefined);
});

test('stop() in the middle of a pipeline run: every job handed out is still processed', async (t) => {
  const { clients, repository, nodes } = await setup(t, 100, { latencyMs: 5 });
  const sink = new MemorySink();
  const source = new PushlogSource(clients.hg, { repository, start: 0, end: 100 }, 10);
  const handedOut: number[] = [];
  async function* noted(jobs: AsyncIterable<Job>) {
    for await (const job of jobs) {
      handedOut.push(pushIdOf(job));
      yield job;
    }
  }
  const outcomes = await lastValueFrom(
    pipeline({ hg: clients.hg, bugzilla: clients.bugzilla, sink, ...dryRun })(
      noted(source.jobs()),
    ).pipe(
      tap(() => source.stop()),
      toArray(),
    ),
  );
  t.true(handedOut.length <= 16 + 1, `stopped at once (${handedOut.length} pushes handed out)`);
  t.deepEqual(
    outcomes.map((o) => pushIdOf(o.job)).sort((a, b) => a - b),
    [...handedOut].sort((a, b) => a - b),
    'one outcome per push handed out',
  );
  t.true(outcomes.every((o) => o.outcomes.every((x) => x.status === 'sent')));
  t.deepEqual(sink.pings.map((p) => p.changesetID).sort(), handedOut.flatMap(nodes).sort());
});

test('stop() before subscribing: nothing is asked for', async (t) => {
  const { fx, clients, repository } = await setup(t, 30);
  const source = new PushlogSource(clients.hg, { repository, start: 0, end: 30 }, 10);
  source.stop();
  const jobs = await drain(source);
  t.deepEqual(jobs, []);
  // Long enough for a stray request to reach the server, had one been sent.
  await sleep(200);
  t.is(fx.hg.requests.length, 0);
});

test('a failing first page sets `failure` and completes without jobs', async (t) => {
  const { fx, clients, repository } = await setup(t, 30);
  fx.fail({ match: /json-pushes/, status: 404 });
  const source = new PushlogSource(clients.hg, { repository, start: 0, end: 30 }, 10);
  const jobs = await drain(source);
  t.deepEqual(jobs, []);
  t.truthy(source.failure);
  t.regex(String((source.failure as Error).message), /json-pushes.*answered 404/);
  t.is(pageRequests(fx).length, 1, 'a 404 is not retried, and paging stops');
});

test('a failing later page: the pages before it are handed out, then it completes', async (t) => {
  const { fx, clients, repository } = await setup(t, 50);
  fx.fail({ match: /json-pushes\?.*startID=20&/, status: 404 });
  const source = new PushlogSource(clients.hg, { repository, start: 0, end: 50 }, 10);
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
  const source = new PushlogSource(hg, { repository, start: 0, end: 30 }, 10);
  const jobs = await drain(source);
  t.is(source.failure, undefined);
  t.deepEqual(jobs.map(pushIdOf), range(1, 30));
  t.is(pageRequests(fx).length, 5, 'three pages, one of them asked three times');
});

test('a repository host that is not allowed ends the source without a request', async (t) => {
  const { fx, clients } = await setup(t, 30);
  const source = new PushlogSource(
    clients.hg,
    { repository: 'https://hg.mozilla.org/integration/autoland', start: 0, end: 30 },
    10,
  );
  t.deepEqual(await drain(source), []);
  t.regex(String((source.failure as Error).message), /ALLOWED_HOSTS/);
  t.is(fx.hg.requests.length, 0);
});

/**
 * hg.mozilla.org's json-pushes comes from mirrors that copy pushes to one another with a lag:
 * a later page may name an older newest push. Pushes 1..30 exist; the mirror that answers the
 * second page (10, 20] is at `lagging`.
 */
const laggingPushlog = (lagging: number) => ({
  pushlogPage: async (_repository: string, from: number, to: number) => {
    const lastpushid = from === 10 ? lagging : 30;
    const pushes = Object.fromEntries(
      range(from + 1, Math.min(to, lastpushid)).map((id) => [
        String(id),
        { changesets: [id.toString(16).padStart(40, '0')], date: 1, user: 'u' },
      ]),
    );
    const page = PushlogPage.decode({ lastpushid, pushes });
    if (page._tag === 'Left') throw new Error('bad page');
    return page.right;
  },
});

test('a mirror behind whose page is whole: its pushes are read, and the range goes on', async (t) => {
  const source = new PushlogSource(
    laggingPushlog(25),
    { repository: 'https://hg.mozilla.org/x', start: 0, end: 30 },
    10,
  );
  t.deepEqual((await drain(source)).map(pushIdOf), range(1, 30));
  t.is(source.failure, undefined);
  t.is(source.lastPushId, 30);
});

test('a mirror behind whose page lacks pushes an earlier page named: the source stops there, failed', async (t) => {
  const source = new PushlogSource(
    laggingPushlog(15),
    { repository: 'https://hg.mozilla.org/x', start: 0, end: 30 },
    10,
  );
  t.deepEqual((await drain(source)).map(pushIdOf), range(1, 10));
  t.regex(String(source.failure), /named 15 as its newest push after 30/);
});
