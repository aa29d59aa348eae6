/**
 * Gap-fill from the pushlog, end to end: the real worker on the local RabbitMQ (a user limited
 * as Pulse limits them), a real store (SQLite in a temporary file, PostgreSQL for the lease),
 * and the fixture servers with a synthetic pushlog, whose telemetry stand-in counts the PUTs
 * of each document. Polls every second, with a grace of one second.
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pulseNames } from '../../../streams/pulse/connection/names.js';
import { PulseSource } from '../../../streams/pulse/source.js';
import { createClients, createTelemetryClient } from '../../../src/clients/index.js';
import {
  GapFillSettings,
  PulseSettings,
  TelemetrySettings,
  UpstreamSettings,
} from '../../../src/codecs/settings.js';
import { PushlogPage } from '../../../src/codecs/pushlog.js';
import { readSettings } from '../../../src/config.js';
import { configureLog, log, type LogFields } from '../../../src/log.js';
import { decoded } from '../../support/data/decoded.js';
import { documentId } from '../../../src/rules/ping.js';
import { telemetrySink } from '../../../src/sinks/telemetry.js';
import type { DatabaseTarget } from '../../../src/state/engines/databaseUrl.js';
import { openStore, type Store, type StoreOptions } from '../../../src/state/index.js';
import {
  gapFillConfig,
  GapFillMetrics,
  POLLER_LEASE,
  type GapFillConfig,
  type GapFillStore,
} from '../../../streams/gapFill/config.js';
import { GapFillSource } from '../../../streams/gapFill/source.js';
import { WorkerMetrics } from '../../../src/worker/metrics.js';
import { Worker } from '../../../src/worker/worker.js';
import { Admin, createPulseUser, type PulseUser } from '../../support/broker.js';
import { startFixtures, type Fixtures } from '../../support/standIns/fixtureServer.js';
import { changegroupMessage } from '../../support/data/messages.js';
import { syntheticFixtures } from '../../support/data/syntheticFixtures.js';
import { sleep, until } from '../../support/wait.js';
import { ManualClock, type Harness } from '../../state/support/harness.js';
import { postgresHarness } from '../../state/support/postgresHarness.js';
import { sqliteHarness } from '../../state/support/sqliteHarness.js';

configureLog({ level: process.env.TEST_LOG === '1' ? 'debug' : 'silent' });

interface Context {
  user: PulseUser;
  admin: Admin;
  sqlite: Harness;
  postgres: Harness;
}
const test = anyTest as TestFn<Context>;

const REPO = 'integration/autoland';
const PUSHES = 12;
const synthetic = syntheticFixtures({ pushes: PUSHES });

/** Every warning logged, to find gap-fill's about a push that stays unsettled. */
const warnings: { msg: string; fields: LogFields }[] = [];
const warn = log.warn;
log.warn = (msg, fields = {}) => {
  warnings.push({ msg, fields });
  warn(msg, fields);
};

test.before(async (t) => {
  t.context.user = await createPulseUser();
  t.context.admin = await Admin.connect();
  t.context.sqlite = await sqliteHarness();
  t.context.postgres = await postgresHarness();
});

test.after.always(async (t) => {
  await t.context.admin?.close();
  await t.context.user?.remove();
  await t.context.sqlite?.teardown();
  await t.context.postgres?.teardown();
});

const orThrow = <T>(decoded: { ok: true; value: T } | { ok: false; error: Error }): T => {
  if (!decoded.ok) throw decoded.error;
  return decoded.value;
};

/** Fixture servers of the test's own, so that its PUTs and faults are its alone. */
const fixtures = async (t: ExecutionContext<Context>): Promise<Fixtures> => {
  const fx = await startFixtures({ data: synthetic });
  t.teardown(() => fx.close());
  return fx;
};

/** A queue of the test's own, removed after the test with whatever its worker declared. */
const queue = (t: ExecutionContext<Context>, name: string) => {
  const queueName = `${name}-${randomBytes(3).toString('hex')}`;
  const names = pulseNames(t.context.user.username, queueName);
  t.teardown(() => t.context.admin.removeWorkerObjects(names));
  const routingKey = `test/${queueName}`;
  return { queueName, routingKey, names };
};

const store = async (
  t: ExecutionContext,
  target: DatabaseTarget,
  options: StoreOptions = {},
): Promise<Store> => {
  const opened = await openStore(target, options);
  t.teardown(() => opened.close().catch(() => undefined));
  return opened;
};

interface Running {
  readonly worker: Worker;
  readonly source: PulseSource;
  readonly gapFill: GapFillSource;
  readonly metrics: WorkerMetrics;
  stop(): Promise<void>;
}

/** The worker as process-queue-messages builds it when it sends: telemetry, a store, gap-fill. */
const startWorker = async (
  t: ExecutionContext<Context>,
  options: {
    fx: Fixtures;
    store: Store;
    queue: { queueName: string; routingKey: string };
    gapFill?: Partial<GapFillConfig>;
  },
): Promise<Running> => {
  const env = {
    ...t.context.user.env(options.queue.queueName, options.queue.routingKey),
    ...options.fx.env,
  };
  const upstream = orThrow(readSettings(UpstreamSettings, env));
  const source = new PulseSource({
    settings: orThrow(readSettings(PulseSettings, env)),
    allowedHosts: upstream.ALLOWED_HOSTS,
    prefetch: 8,
    reconnectSeconds: 0.2,
  });
  const clients = createClients(upstream, { backoffMs: 5, attempts: 3 });
  const telemetry = createTelemetryClient(
    clients.limits,
    orThrow(readSettings(TelemetrySettings, env)),
  );
  const metrics = new WorkerMetrics();
  const gapFill = new GapFillSource({
    store: options.store,
    pollMs: 1_000,
    graceMs: 1_000,
    ...options.gapFill,
    hg: clients.hg,
    metrics: { gapFill: new GapFillMetrics(metrics.registry), pings: metrics.pings },
  });
  const worker = new Worker({
    source,
    deps: {
      ...clients,
      sink: telemetrySink(telemetry),
      ledger: options.store,
      policy: { whenHeld: 'defer', startsWatermarks: true },
    },
    metrics,
    graceMs: 5_000,
    polled: [gapFill],
    parked: options.store,
  });
  await worker.start();
  const stop = () => worker.stop('test over');
  t.teardown(stop);
  return { worker, source, gapFill, metrics, stop };
};

const nodesOf = (from: number, to: number): string[] =>
  Array.from({ length: to - from + 1 }, (_, i) => synthetic.nodes(from + i)).flat();

/** How many times telemetry received each node's document. */
const putsOf = (fx: Fixtures): Map<string, number> => {
  const puts = new Map<string, number>();
  for (const request of fx.tmo.requests) {
    if (!request.startsWith('PUT ')) continue;
    const id = request.slice(request.lastIndexOf('/') + 1);
    puts.set(id, (puts.get(id) ?? 0) + 1);
  }
  return puts;
};

const sentOnce = (t: ExecutionContext, fx: Fixtures, nodes: string[]): void => {
  const puts = putsOf(fx);
  t.deepEqual(
    nodes.filter((node) => puts.get(documentId(fx.repo(REPO), node)) !== 1),
    [],
    'every changeset PUT exactly once',
  );
};

const jsonRevRequests = (fx: Fixtures, node: string): number =>
  fx.hg.requests.filter((r) => r.includes(`/json-rev/${node}`)).length;

const metricValue = async (metrics: WorkerMetrics, name: string, repository: string) => {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  return metric?.values.find((v) => v.labels.repository === repository)?.value;
};

test('the queue deleted while the worker is stopped: after a restart every later push is sent once, from the pushlog', async (t) => {
  const fx = await fixtures(t);
  const repository = fx.repo(REPO);
  const q = queue(t, 'restart');
  const target = await t.context.sqlite.fresh();
  const firstStore = await store(t, target);
  const first = await startWorker(t, { fx, store: firstStore, queue: q });
  await t.context.admin.publish(q.routingKey, changegroupMessage(repository, 1));
  await until('push 1 acked', () => first.source.counters.acked === 1);
  await first.stop();
  await firstStore.close();

  // Pulse deletes the queue of a worker stopped too long, and every message with it; the
  // pushlog meanwhile has pushes 2..12, which no message will ever announce.
  await t.context.admin.deleteQueues(q.names.queue);
  t.false(await t.context.admin.queueExists(q.names.queue));

  const secondStore = await store(t, target);
  t.is(await secondStore.watermark(repository), 1);
  const second = await startWorker(t, { fx, store: secondStore, queue: q });
  await until(
    'the watermark reaches the last push',
    async () => (await secondStore.watermark(repository)) === PUSHES,
    20_000,
  );
  sentOnce(t, fx, nodesOf(1, PUSHES));
  t.is(first.gapFill.counters.settled + second.gapFill.counters.settled, PUSHES - 1);
  t.is(second.source.counters.received, 0, 'no message brought them');
  t.true(await t.context.admin.queueExists(q.names.queue), 'the queue is declared again');
  t.true(
    fx.hg.requests
      .filter((r) => r.includes('json-pushes'))
      .every((r) => /startID=\d+&endID=\d+$/.test(r)),
    'every pushlog request is bounded',
  );
});

test('a push that arrives live while gap-fill also runs it is sent once, whichever wins', async (t) => {
  const fx = await fixtures(t);
  const repository = fx.repo(REPO);
  const q = queue(t, 'race');
  const target = await t.context.sqlite.fresh();
  const db = await store(t, target);
  // The first changesets of pushes 2 and 3 trickle in for some 6 s: whoever asks first (live
  // or gap-fill) holds them that long, while the other comes for them too.
  const [slow2, slow3] = [synthetic.nodes(2)[0]!, synthetic.nodes(3)[0]!];
  const size = JSON.stringify(synthetic.changeset(REPO, slow3)).length;
  const trickleMs = Math.ceil(6_000 / size);
  for (const node of [slow2, slow3]) {
    // The body as bytes: the fixture server trickles a stream of Buffers.
    const body = () =>
      Readable.from([Buffer.from(JSON.stringify(synthetic.changeset(REPO, node)))]);
    fx.fail({ match: new RegExp(`json-rev/${node}`), body, trickleMs, times: 1 });
  }
  const w = await startWorker(t, { fx, store: db, queue: q });
  const publish = (pushId: number) =>
    t.context.admin.publish(q.routingKey, changegroupMessage(repository, pushId));

  await publish(1);
  await until('push 1 acked', () => w.source.counters.acked === 1);
  // Live first: push 3's message is being worked on when gap-fill reaches push 3.
  await publish(3);
  // Gap-fill first: push 2 is in gap-fill's hands (its slow changeset asked for) when its
  // message comes.
  await until('gap-fill runs push 2', () => jsonRevRequests(fx, slow2) === 1);
  t.is(w.source.counters.received, 2, 'push 2 came from the pushlog, not from a message');
  await publish(2);

  await until(
    'the watermark reaches the last push',
    async () => (await db.watermark(repository)) === PUSHES,
    25_000,
  );
  await until('every message acked', () => w.source.counters.acked === 3, 15_000);
  sentOnce(t, fx, nodesOf(1, PUSHES));
  t.true(w.source.counters.deferred >= 1, 'the live push 2 waited for gap-fill');
  t.true(w.gapFill.counters.unsettled >= 1, 'gap-fill left push 3 to its live message');
  t.is(w.source.counters.parked, 0);
  t.is(jsonRevRequests(fx, slow3), 1);
  t.is(jsonRevRequests(fx, slow2), 1);
});

test('a push gap-fill cannot settle holds the watermark before it and is tried at every poll until it settles', async (t) => {
  const fx = await fixtures(t);
  const repository = fx.repo(REPO);
  const q = queue(t, 'stuck');
  const db = await store(t, await t.context.sqlite.fresh());
  const STUCK = 4;
  const node = synthetic.nodes(STUCK)[1]!;
  const FAILURES = 4;
  fx.fail({ match: new RegExp(`json-rev/${node}`), status: 404, times: FAILURES });
  const w = await startWorker(t, { fx, store: db, queue: q });
  await t.context.admin.publish(q.routingKey, changegroupMessage(repository, 1));

  const laterSettled = async () =>
    (await db.settledPushes(repository, STUCK, PUSHES)).length === PUSHES - STUCK;
  await until('every push after it settled', laterSettled, 15_000);
  t.is(await db.watermark(repository), STUCK - 1, 'the watermark stops before it');
  await until(
    'pushes behind measured from the watermark',
    async () =>
      (await metricValue(w.metrics, 'commit_telemetry_pushes_behind', repository)) ===
      PUSHES - (STUCK - 1),
  );

  await until(
    'the fault is over and the push settled',
    async () => (await db.watermark(repository)) === PUSHES,
    20_000,
  );
  t.is(jsonRevRequests(fx, node), FAILURES + 1, 'tried once per poll, then sent');
  t.true(w.gapFill.counters.unsettled >= FAILURES);
  sentOnce(t, fx, nodesOf(1, PUSHES));
  t.true(
    warnings.some((w) => /unsettled after/.test(w.msg) && w.fields.repository === repository),
    'a warning names the push that stays unsettled',
  );
  await until(
    'the metrics say so',
    async () =>
      (await metricValue(w.metrics, 'commit_telemetry_gap_filled_pushes_total', repository)) ===
      PUSHES - 1,
  );
});

test('of two workers on one PostgreSQL store, one polls; the other takes over when it stops', async (t) => {
  const fx = await fixtures(t);
  const repository = fx.repo(REPO);
  const target = await t.context.postgres.fresh();
  const [storeA, storeB] = [await store(t, target), await store(t, target)];
  // As if a live message of push 1 had been seen: gap-fill does the rest.
  await storeA.startWatermark(repository, 1);
  const slow = { gapFill: { maxJobs: 1 } };
  const a = await startWorker(t, { fx, store: storeA, queue: queue(t, 'leaseA'), ...slow });
  const b = await startWorker(t, { fx, store: storeB, queue: queue(t, 'leaseB'), ...slow });
  const both = [a, b];
  await until('a first push gap-filled', () => both.some((w) => w.gapFill.counters.settled > 0));
  const leader = both.find((w) => w.gapFill.holdsLease)!;
  const other = both.find((w) => w !== leader)!;
  t.truthy(leader);
  t.is(other.gapFill.counters.polls, 0, 'the other one never polled');
  t.false(other.gapFill.holdsLease);
  const owner = leader === a ? storeA.owner : storeB.owner;
  t.deepEqual(await t.context.postgres.query(target, 'SELECT owner FROM leases'), [{ owner }]);

  await leader.stop();
  await until('the other one polls', () => other.gapFill.counters.polls > 0, 5_000);
  t.true(other.gapFill.holdsLease);
  await until(
    'the watermark reaches the last push',
    async () => (await storeB.watermark(repository)) === PUSHES,
    25_000,
  );
  sentOnce(t, fx, nodesOf(1, PUSHES));
});

test('a worker with no watermark yet polls nothing and backfills no history', async (t) => {
  const fx = await fixtures(t);
  const repository = fx.repo(REPO);
  const q = queue(t, 'fresh');
  const db = await store(t, await t.context.sqlite.fresh());
  const w = await startWorker(t, { fx, store: db, queue: q });
  await until('two polls', () => w.gapFill.counters.polls >= 2, 5_000);
  t.deepEqual(fx.hg.requests, [], 'no pushlog read');
  t.is(putsOf(fx).size, 0);

  // The first push it processes starts the watermark: what came before is not its business.
  const FIRST = 5;
  await t.context.admin.publish(q.routingKey, changegroupMessage(repository, FIRST));
  await until(
    'the watermark reaches the last push',
    async () => (await db.watermark(repository)) === PUSHES,
    15_000,
  );
  sentOnce(t, fx, nodesOf(FIRST, PUSHES));
  const puts = putsOf(fx);
  t.deepEqual(
    nodesOf(1, FIRST - 1).filter((node) => puts.has(documentId(repository, node))),
    [],
    'nothing before the first push',
  );
  t.false(
    fx.hg.requests.some((r) => /startID=[0-3]&/.test(r)),
    'no pushlog read before it either',
  );
});

test('the poller lease: one holder at a time, free again once released or run out', async (t) => {
  for (const harness of [t.context.sqlite, t.context.postgres]) {
    const target = await harness.fresh();
    const clock = new ManualClock();
    const [a, b] = [
      await store(t, target, { now: clock.now }),
      await store(t, target, { now: clock.now }),
    ];
    t.true(await a.takeLease(POLLER_LEASE, 60_000), harness.engine);
    t.false(await b.takeLease(POLLER_LEASE, 60_000));
    clock.advance(59_000);
    t.true(await a.takeLease(POLLER_LEASE, 60_000), 'renewed by its holder');
    clock.advance(59_000);
    t.false(await b.takeLease(POLLER_LEASE, 60_000));
    await b.releaseLease(POLLER_LEASE);
    t.false(await b.takeLease(POLLER_LEASE, 60_000), 'only the holder releases it');
    await a.releaseLease(POLLER_LEASE);
    t.true(await b.takeLease(POLLER_LEASE, 60_000), 'released');
    clock.advance(60_000);
    t.true(await a.takeLease(POLLER_LEASE, 60_000), 'run out');
  }
});

test('GapFillSettings: poll every 300 s after a grace of 120 s by default; 0 turns it off', (t) => {
  const decode = (env: Record<string, string>) => orThrow(readSettings(GapFillSettings, env));
  t.deepEqual(decode({}), { PUSHLOG_POLL_SECONDS: 300, PUSHLOG_GRACE_SECONDS: 120 });
  t.deepEqual(decode({ PUSHLOG_POLL_SECONDS: '0', PUSHLOG_GRACE_SECONDS: '86400' }), {
    PUSHLOG_POLL_SECONDS: 0,
    PUSHLOG_GRACE_SECONDS: 86_400,
  });
  const bad = readSettings(GapFillSettings, {
    PUSHLOG_POLL_SECONDS: '86401',
    PUSHLOG_GRACE_SECONDS: '-1',
  });
  t.false(bad.ok);
  if (!bad.ok) {
    t.deepEqual(
      bad.error.problems.map((p) => p.split(':')[0]),
      ['PUSHLOG_POLL_SECONDS', 'PUSHLOG_GRACE_SECONDS'],
    );
  }
  const on = decode({ PUSHLOG_POLL_SECONDS: '60', PUSHLOG_GRACE_SECONDS: '5' });
  const fake = {} as GapFillStore;
  t.like(gapFillConfig(on, fake, false), { pollMs: 60_000, graceMs: 5_000 });
  t.like(gapFillConfig({ ...on, CLAIM_LEASE_SECONDS: 30 }, fake, false), { leaseMs: 30_000 });
  t.is(gapFillConfig(on, undefined, false), undefined, '--no-send: no store');
  t.is(gapFillConfig(on, fake, true), undefined, '--replay-failed');
  t.is(gapFillConfig(undefined, fake, false), undefined);
  t.is(gapFillConfig({ ...on, PUSHLOG_POLL_SECONDS: 0 }, fake, false), undefined);
});

test('a failed poll is logged and made again at the next interval; none after stop', async (t) => {
  const calls: string[] = [];
  let failures = 2;
  const fake: GapFillStore = {
    takeLease: async () => (calls.push('takeLease'), true),
    releaseLease: async () => void calls.push('releaseLease'),
    repositoriesWithWatermark: async () => {
      calls.push('repositories');
      if (failures-- > 0) throw new Error('the database is down');
      return ['https://hg.example/repo'];
    },
    watermark: async () => 10,
    settledPushes: async () => [],
  };
  const pages: string[] = [];
  const metrics = new WorkerMetrics();
  const gapFill = new GapFillSource({
    store: fake,
    pollMs: 50,
    graceMs: 60_000,
    hg: {
      pushlogPage: async (repository, start, end) => {
        pages.push(`${start}-${end}`);
        return decoded(PushlogPage, {
          lastpushid: 12,
          pushes: { '11': { changesets: [], date: 0, user: 'u' } },
        });
      },
    },
    metrics: { gapFill: new GapFillMetrics(metrics.registry), pings: metrics.pings },
  });
  const before = warnings.length;
  gapFill.start();
  await until('a poll that works', () => pages.length > 0);
  t.true(gapFill.holdsLease);
  const failed = warnings
    .slice(before)
    .filter((w) => (w.fields.error as Error | undefined)?.message === 'the database is down');
  t.is(failed.length, 2, 'each failure logged, none thrown');
  t.regex(failed[0]!.msg, /poll failed; trying again at the next poll/);
  t.is(pages[0], '10-110', 'one bounded page from the watermark');
  await gapFill.stop(1_000);
  t.is(calls.at(-1), 'releaseLease');
  const made = calls.length;
  await sleep(200);
  t.is(calls.length, made, 'no poll after stop');
  t.is(gapFill.counters.queued, 0, 'nothing past its grace yet');
});
