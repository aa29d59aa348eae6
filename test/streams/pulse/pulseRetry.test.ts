/**
 * Delayed retries through the delay queues, against the real broker with a user limited the
 * way Pulse limits users, and short delays (a queue's TTL is fixed when it is declared, so
 * every test uses fresh queue names).
 */
import anyTest, { type TestFn } from 'ava';
import amqplib from 'amqplib';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PulseSource, type PulseOptions, type Settlement } from '../../../streams/pulse/source.js';
import {
  DEFAULT_RETRY_DELAYS_MS,
  pulseNames,
  stepName,
  type PulseNames,
} from '../../../streams/pulse/connection/names.js';
import { retryStateOf, stepFor } from '../../../streams/pulse/retry.js';
import { createClients } from '../../../src/clients/index.js';
import { PulseSettings, UpstreamSettings } from '../../../src/codecs/settings.js';
import type { Ping } from '../../../src/codecs/ping.js';
import { readSettings } from '../../../src/config.js';
import { PipelineError } from '../../../src/errors.js';
import { configureLog } from '../../../src/log.js';
import { dryRun } from '../../../src/pipeline/ledger.js';
import { MemorySink } from '../../../src/sinks/memory.js';
import { openStore, type Store } from '../../../src/state/index.js';
import { WorkerMetrics } from '../../../src/worker/metrics.js';
import { Worker } from '../../../src/worker/worker.js';
import {
  Admin,
  BROKER,
  HGPUSH_EXCHANGE,
  createPulseUser,
  type PulseUser,
} from '../../support/broker.js';
import { startFixtures, type Fixtures } from '../../support/standIns/fixtureServer.js';
import { changegroupMessage } from '../../support/data/messages.js';
import { syntheticFixtures } from '../../support/data/syntheticFixtures.js';
import { until } from '../../support/wait.js';

configureLog({ level: process.env.TEST_LOG === '1' ? 'debug' : 'silent' });

interface Context {
  fx: Fixtures;
  synthetic: ReturnType<typeof syntheticFixtures>;
  user: PulseUser;
  admin: Admin;
  /** The broker's administrator, for what Admin does not do: headers, arguments, clean-up. */
  raw: amqplib.ChannelModel;
  created: PulseNames[];
  workers: Worker[];
}
const test = anyTest as TestFn<Context>;
const REPO = 'integration/autoland';
const DELAYS = [300, 600, 1_000];

test.before(async (t) => {
  t.context.synthetic = syntheticFixtures({ pushes: 20 });
  t.context.fx = await startFixtures({ data: t.context.synthetic });
  t.context.user = await createPulseUser();
  t.context.admin = await Admin.connect();
  t.context.raw = await amqplib.connect(`amqp://guest:guest@${BROKER.host}:${BROKER.port}`);
  t.context.created = [];
  t.context.workers = [];
});

test.after.always(async (t) => {
  await Promise.all(t.context.workers.map((w) => w.stop('test over')));
  await t.context.admin.removeWorkerObjects(...t.context.created);
  await t.context.raw.close();
  await t.context.admin.close();
  await t.context.user.remove();
  await t.context.fx.close();
});

const orThrow = <T>(decoded: { ok: true; value: T } | { ok: false; error: Error }): T => {
  if (!decoded.ok) throw decoded.error;
  return decoded.value;
};

/**
 * A sink that fails transiently while `failing` says so, or for its next `failNext` pings, and
 * can hold its pings at a gate.
 */
class FlakySink extends MemorySink {
  failing = false;
  failNext = 0;
  gate: Promise<void> | undefined;
  calls = 0;
  override async send(ping: Ping): Promise<void> {
    this.calls += 1;
    if (this.gate !== undefined) await this.gate;
    if (this.failing || this.failNext > 0) {
      this.failNext = Math.max(this.failNext - 1, 0);
      throw new PipelineError('telemetry answered 503', 'transient');
    }
    return super.send(ping);
  }
}

/** The real worker on a fresh queue, with short retry delays. */
const startWorker = async (
  t: { context: Context },
  name: string,
  options: {
    user?: PulseUser;
    sink?: MemorySink;
    store?: Store;
  } & Partial<Pick<PulseOptions, 'retryDelaysMs' | 'retryMaxAgeMs' | 'testHooks'>> = {},
) => {
  const user = options.user ?? t.context.user;
  const queueName = `${name}-${randomBytes(3).toString('hex')}`;
  const routingKey = `test/${queueName}`;
  const env = { ...user.env(queueName, routingKey), ...t.context.fx.env };
  const upstream = orThrow(readSettings(UpstreamSettings, env));
  const source = new PulseSource({
    settings: orThrow(readSettings(PulseSettings, env)),
    allowedHosts: upstream.ALLOWED_HOSTS,
    prefetch: 8,
    reconnectSeconds: 0.2,
    deferMs: 100,
    retryDelaysMs: options.retryDelaysMs ?? DELAYS,
    ...(options.retryMaxAgeMs === undefined ? {} : { retryMaxAgeMs: options.retryMaxAgeMs }),
    ...(options.testHooks === undefined ? {} : { testHooks: options.testHooks }),
  });
  const { names } = source;
  t.context.created.push(names);
  const settled: Settlement[] = [];
  source.settlements.subscribe((settlement) => settled.push(settlement));
  const sink = options.sink ?? new MemorySink();
  const metrics = new WorkerMetrics();
  const worker = new Worker({
    source,
    deps: {
      ...createClients(upstream, { backoffMs: 5, attempts: 3 }),
      sink,
      ...(options.store === undefined
        ? dryRun
        : {
            ledger: options.store,
            policy: { whenHeld: 'defer', startsWatermarks: true },
          }),
    },
    metrics,
    graceMs: 5_000,
    ...(options.store === undefined ? {} : { parked: options.store }),
  });
  await worker.start();
  t.context.workers.push(worker);
  const publishPush = (id: number) =>
    t.context.admin.publish(routingKey, changegroupMessage(t.context.fx.repo(REPO), id));
  /** Every queue of the worker's but the failed one is empty, nothing unacked. */
  const allEmpty = async () => {
    for (const queue of [names.queue, ...names.retrySteps.map((s) => s.queue)]) {
      if ((await t.context.admin.depth(queue)) > 0) return false;
    }
    return source.inFlight === 0;
  };
  return { source, names, routingKey, settled, sink, metrics, publishPush, allEmpty };
};

/** A SQLite store of the test's own, removed after it. */
const tempStore = async (t: { teardown: (fn: () => Promise<void>) => void }) => {
  const dir = mkdtempSync(join(tmpdir(), 'cts-retry-'));
  const store = await openStore(`sqlite:${join(dir, 'store.sqlite')}`);
  t.teardown(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return store;
};

const ofPush = (settled: Settlement[], pushId: number) =>
  settled.filter(
    (s) => s.result?.job.target.kind === 'push' && s.result.job.target.pushId === pushId,
  );

const metricLines = async (metrics: WorkerMetrics, name: string) =>
  (await metrics.registry.getSingleMetricAsString(name))
    .split('\n')
    .filter((line) => line.startsWith(name));

test('a flaky changeset waits in the delay queues, comes back, and is then sent', async (t) => {
  const { fx, synthetic } = t.context;
  // Between a retry's confirm and its ack, the copy waits in its delay queue.
  const waiting: number[][] = [];
  const worker: { names?: PulseNames } = {};
  const afterRetry = async () => {
    const steps = worker.names?.retrySteps ?? [];
    waiting.push(await Promise.all(steps.map((s) => t.context.admin.depth(s.queue))));
  };
  // With the store, a retry skips the changesets already sent: every ping is sent once.
  // Delays long enough to look into the delay queues before the copy expires.
  const w = await startWorker(t, 'flaky', {
    store: await tempStore(t),
    testHooks: { afterRetry },
    retryDelaysMs: [2_000, 2_500],
  });
  worker.names = w.names;
  const node = synthetic.nodes(1)[1]!;
  // Each attempt makes three requests (the client's own retries): two attempts fail.
  fx.fail({ match: new RegExp(`json-rev/${node}`), status: 503, times: 6 });
  for (const id of [1, 2, 3]) await w.publishPush(id);
  await until('3 acks', () => w.source.counters.acked === 3, 20_000);
  const flaky = ofPush(w.settled, 1);
  t.deepEqual(
    flaky.map((s) => [s.action, s.retry?.attempt, s.retry?.step]),
    [
      ['retry', 1, '2s'],
      ['retry', 2, '2500ms'],
      ['ack', undefined, undefined],
    ],
  );
  t.deepEqual(waiting, [
    [1, 0],
    [0, 1],
  ]);
  t.regex(flaky[1]!.label, /\(retry 1\)$/);
  t.regex(flaky[2]!.label, /\(retry 2\)$/);
  t.deepEqual(
    [2, 3].map((id) => ofPush(w.settled, id).map((s) => s.action)),
    [['ack'], ['ack']],
  );
  t.deepEqual(
    w.sink.pings.map((p) => p.changesetID).sort(),
    [1, 2, 3].flatMap((id) => synthetic.nodes(id)).sort(),
  );
  t.is(w.source.counters.parked + w.source.counters.requeued, 0);
  t.is(w.source.counters.retried, 2);
  await until('every queue empty', w.allEmpty);
  t.is(await t.context.admin.depth(w.names.failedQueue), 0);
  t.deepEqual(await metricLines(w.metrics, 'commit_telemetry_retries_total'), [
    'commit_telemetry_retries_total{attempt="1"} 1',
    'commit_telemetry_retries_total{attempt="2"} 1',
  ]);
});

test('a permanent failure is parked at once, with its reason, and recorded in the store', async (t) => {
  const store = await tempStore(t);
  const w = await startWorker(t, 'permanent', { store });
  const node = t.context.synthetic.nodes(4)[0]!;
  t.context.fx.fail({ match: new RegExp(`json-rev/${node}`), status: 404 });
  await w.publishPush(4);
  await until('1 parked', () => w.source.counters.parked === 1);
  t.deepEqual(
    w.settled.map((s) => [s.action, s.parkReason]),
    [['park', 'permanent']],
  );
  t.is(w.source.counters.retried, 0);
  const [parked, ...others] = await t.context.admin.drain(w.names.failedQueue);
  t.is(others.length, 0);
  const headers = parked!.properties.headers!;
  t.is(headers['x-park-reason'], 'permanent');
  t.is(headers['x-routing-key'], w.routingKey);
  t.regex(String(headers['x-error']), new RegExp(`^${node}: changeset ${node} was not found`));
  t.is(headers['x-attempt'], undefined);
  // The store has it: parked, so the push counts as settled and the watermark moves over it.
  const repository = t.context.fx.repo(REPO);
  await until(
    'the push parked in the store',
    async () => (await store.watermark(repository)) === 4,
  );
  t.deepEqual(await store.parkedCounts(), { [repository]: 1 });
  t.deepEqual(await metricLines(w.metrics, 'commit_telemetry_parked_total'), [
    'commit_telemetry_parked_total{reason="permanent"} 1',
  ]);
  await until('every queue empty', w.allEmpty);
});

test('a message still failing RETRY_MAX_HOURS after its first failure is parked as too old', async (t) => {
  const { fx, synthetic, raw } = t.context;
  fx.fail({ match: new RegExp(`json-rev/${synthetic.nodes(5)[2]!}`), status: 503 });
  // A limit of 1 ms: retried once (the first failure starts the clock), then too old.
  const w = await startWorker(t, 'tooold', { retryMaxAgeMs: 1 });
  await w.publishPush(5);
  await until('1 parked', () => w.source.counters.parked === 1);
  t.deepEqual(
    w.settled.map((s) => [s.action, s.parkReason]),
    [
      ['retry', undefined],
      ['park', 'too_old'],
    ],
  );
  const [parked] = await t.context.admin.drain(w.names.failedQueue);
  const headers = parked!.properties.headers!;
  t.is(headers['x-park-reason'], 'too_old');
  t.is(headers['x-attempt'], 1);
  t.true(Date.parse(String(headers['x-first-failure'])) <= Date.now());
  // Its origin, not the delay queue's routing key it came back with.
  t.is(headers['x-routing-key'], w.routingKey);
  t.is(headers['x-exchange'], HGPUSH_EXCHANGE);
  t.is(headers['x-death'], undefined);

  // With the default limit (24 h), a message whose first failure is older is parked at once.
  const old = await startWorker(t, 'tooold24h');
  const channel = await raw.createConfirmChannel();
  channel.publish(
    HGPUSH_EXCHANGE,
    old.routingKey,
    Buffer.from(changegroupMessage(fx.repo(REPO), 5)),
    { headers: { 'x-attempt': 30, 'x-first-failure': '2024-01-01T00:00:00.000Z' } },
  );
  await channel.waitForConfirms();
  await channel.close();
  await until('parked', () => old.source.counters.parked === 1);
  t.deepEqual(
    old.settled.map((s) => [s.action, s.parkReason]),
    [['park', 'too_old']],
  );
  t.deepEqual(await metricLines(old.metrics, 'commit_telemetry_parked_total'), [
    'commit_telemetry_parked_total{reason="too_old"} 1',
  ]);
});

test('a redelivery for another reason (a connection lost) is not an attempt', async (t) => {
  const user = await createPulseUser();
  t.teardown(() => user.remove());
  const sink = new FlakySink();
  let open: () => void = () => {};
  sink.gate = new Promise((resolve) => (open = resolve));
  const w = await startWorker(t, 'redelivered', { user, sink });
  await w.publishPush(6);
  // Its three pings wait at the gate; the next three (the redelivery's) fail.
  await until('its pings at the gate', () => sink.calls === 3);
  sink.gate = undefined;
  sink.failNext = 3;
  await user.killConnections();
  await until('a retry', () => w.settled.some((s) => s.action === 'retry'), 15_000);
  open();
  await until('acked', () => w.source.counters.acked === 1, 15_000);
  await until('settled', () => w.source.inFlight === 0);
  // The redelivery failed: its first attempt, not a second one. The first delivery, cut off
  // from its ack, comes back to nothing; the retried copy is sent.
  const settled = ofPush(w.settled, 6);
  t.deepEqual(settled.map((s) => [s.action, s.retry?.attempt]).sort(), [
    ['ack', undefined],
    ['requeue', undefined],
    ['retry', 1],
  ]);
  t.regex(settled.find((s) => s.action === 'retry')!.label, /\(redelivered\)$/);
  t.is(w.source.counters.parked, 0);
  t.deepEqual(
    [...new Set(sink.pings.map((p) => p.changesetID))].sort(),
    [...t.context.synthetic.nodes(6)].sort(),
  );
  await until('every queue empty', w.allEmpty);
});

test('a delay queue deleted under the worker: the retry declares it again, and nothing is lost', async (t) => {
  const { admin, raw, fx, synthetic } = t.context;
  fx.fail({ match: new RegExp(`json-rev/${synthetic.nodes(7)[0]!}`), status: 503, times: 3 });
  const w = await startWorker(t, 'deleted');
  const [step] = w.names.retrySteps;
  await admin.deleteQueues(step!.queue);
  t.false(await admin.queueExists(step!.queue));
  await w.publishPush(7);
  await until('acked', () => w.source.counters.acked === 1);
  t.deepEqual(
    w.settled.map((s) => s.action),
    ['retry', 'ack'],
  );
  t.true(await admin.queueExists(step!.queue));

  // Declared again by someone else, with other arguments and no binding: the worker cannot
  // declare it again, so it requeues the message until the queue is gone.
  const sink = new FlakySink();
  sink.failing = true;
  const v = await startWorker(t, 'conflict', { sink });
  const [conflicting] = v.names.retrySteps;
  await admin.deleteQueues(conflicting!.queue);
  const channel = await raw.createChannel();
  await channel.assertQueue(conflicting!.queue, { durable: true, messageTtl: 60_000 });
  await channel.close();
  await v.publishPush(8);
  await until('requeued', () => v.source.counters.requeued >= 2);
  t.is(v.source.counters.retried, 0);
  await admin.deleteQueues(conflicting!.queue);
  await until('retried', () => v.source.counters.retried >= 1);
  sink.failing = false;
  await until('acked', () => v.source.counters.acked === 1);
  t.is(v.source.counters.parked, 0);
  t.deepEqual([...new Set(v.settled.map((s) => s.action))], ['requeue', 'retry', 'ack']);
  t.deepEqual(sink.pings.map((p) => p.changesetID).sort(), [...synthetic.nodes(8)].sort());
  await until('every queue empty', v.allEmpty);
});

test('the failed queue deleted under the worker: the park declares it again, and keeps its copy', async (t) => {
  const { admin, fx, synthetic } = t.context;
  // Not found: a permanent failure, parked at once.
  fx.fail({ match: new RegExp(`json-rev/${synthetic.nodes(9)[0]!}`), status: 404 });
  const w = await startWorker(t, 'failed-gone');
  // Pulse deletes the queue that grew too long; the exchange, ours, stays.
  await admin.deleteQueues(w.names.failedQueue);
  t.false(await admin.queueExists(w.names.failedQueue));
  // Asked for its depth (a metrics scrape), the missing queue is none; the 404 closed a
  // channel of its own, not the consumer's (whose deliveries would all have come again).
  t.is(await w.source.failedDepth(), 0);
  t.true(w.source.connected());
  await w.publishPush(9);
  await until('parked', () => w.source.counters.parked === 1);
  // Before, the broker confirmed a copy it routed nowhere, and the original was acked: lost.
  t.true(await admin.queueExists(w.names.failedQueue));
  await until(
    'the copy in the failed queue',
    async () => (await admin.depth(w.names.failedQueue)) === 1,
  );
  t.is(await admin.depth(w.names.queue), 0);
});

/**
 * Pulse's rules: configure and write `queue/<user>/...` and `exchange/<user>/...`; read those
 * and any `exchange/...`. What each operation needs, as RabbitMQ checks it.
 */
const may = (user: string) => {
  const own = new RegExp(`^(queue/${user}/.*|exchange/${user}/.*)`);
  const readable = new RegExp(`^(queue/${user}/.*|exchange/.*)`);
  return {
    configure: (name: string) => own.test(name),
    write: (name: string) => own.test(name),
    read: (name: string) => readable.test(name),
  };
};

test('every name follows Pulse permission rules, for each thing the worker does with it', (t) => {
  const names = pulseNames('bob', 'hgpush');
  t.deepEqual(names, {
    queue: 'queue/bob/hgpush',
    failedQueue: 'queue/bob/hgpush.failed',
    failedExchange: 'exchange/bob/hgpush.failed',
    delayExchange: 'exchange/bob/hgpush.delay',
    retryExchange: 'exchange/bob/hgpush.retry',
    retrySteps: [
      { name: '30s', delayMs: 30_000, queue: 'queue/bob/hgpush.delay-30s' },
      { name: '2m', delayMs: 120_000, queue: 'queue/bob/hgpush.delay-2m' },
      { name: '10m', delayMs: 600_000, queue: 'queue/bob/hgpush.delay-10m' },
      { name: '30m', delayMs: 1_800_000, queue: 'queue/bob/hgpush.delay-30m' },
      { name: '1h', delayMs: 3_600_000, queue: 'queue/bob/hgpush.delay-1h' },
    ],
  });
  const bob = may('bob');
  const queues = [names.queue, names.failedQueue, ...names.retrySteps.map((s) => s.queue)];
  const exchanges = [names.failedExchange, names.delayExchange, names.retryExchange];
  // queue.declare and exchange.declare: configure.
  for (const name of [...queues, ...exchanges]) t.true(bob.configure(name), `declare ${name}`);
  // queue.bind: write on the queue, read on the exchange (Pulse's own included).
  const bindings = [
    [names.queue, 'exchange/hgpushes/v2'],
    [names.queue, names.retryExchange],
    [names.failedQueue, names.failedExchange],
    ...names.retrySteps.map((s) => [s.queue, names.delayExchange]),
  ] as const;
  for (const [queue, exchange] of bindings) {
    t.true(bob.write(queue) && bob.read(exchange), `bind ${queue} to ${exchange}`);
  }
  // A dead-letter exchange: read on the queue declared with it, write on the exchange.
  for (const step of names.retrySteps) {
    t.true(bob.read(step.queue) && bob.write(names.retryExchange), `dead-letter ${step.queue}`);
  }
  // basic.publish: write on the exchange; basic.consume: read on the queue.
  for (const name of [names.failedExchange, names.delayExchange]) t.true(bob.write(name), name);
  for (const name of [names.queue, names.failedQueue]) t.true(bob.read(name), name);
  // Another user's names, or the default exchange, would not do.
  t.false(may('alice').write(names.delayExchange));
  t.false(bob.write(''));
});

test('retry steps: named from their delays, the last one repeating; bad delays refused', (t) => {
  t.deepEqual(DEFAULT_RETRY_DELAYS_MS.map(stepName), ['30s', '2m', '10m', '30m', '1h']);
  t.deepEqual([300, 1_500, 90_000, 7_200_000].map(stepName), ['300ms', '1500ms', '90s', '2h']);
  const { retrySteps } = pulseNames('bob', 'hgpush');
  t.deepEqual(
    [1, 2, 3, 4, 5, 6, 30].map((attempt) => stepFor(retrySteps, attempt).name),
    ['30s', '2m', '10m', '30m', '1h', '1h', '1h'],
  );
  t.throws(() => pulseNames('bob', 'q', []), { instanceOf: RangeError });
  t.throws(() => pulseNames('bob', 'q', [0]), { instanceOf: RangeError });
  t.throws(() => pulseNames('bob', 'q', [1.5]), { instanceOf: RangeError });
  t.throws(() => pulseNames('bob', 'q', [60_000, 60_000]), { instanceOf: RangeError });
});

test('retry state: read from the headers; anything unreadable is no earlier attempt', (t) => {
  const message = (headers: Record<string, unknown> | undefined) => ({ properties: { headers } });
  t.deepEqual(retryStateOf(message(undefined)), { attempts: 0, firstFailureAt: undefined });
  t.deepEqual(
    retryStateOf(message({ 'x-attempt': 3, 'x-first-failure': '2024-01-01T00:00:00.000Z' })),
    { attempts: 3, firstFailureAt: Date.UTC(2024, 0, 1) },
  );
  t.deepEqual(retryStateOf(message({ 'x-attempt': 'two', 'x-first-failure': 'yesterday' })), {
    attempts: 0,
    firstFailureAt: undefined,
  });
  t.deepEqual(retryStateOf(message({ 'x-attempt': -1, 'x-first-failure': 1_000 })), {
    attempts: 0,
    firstFailureAt: 1_000,
  });
});

test('RETRY_MAX_HOURS: 24 by default, 1 to 720', (t) => {
  const env = t.context.user.env('settings');
  const read = (value: string | undefined) =>
    readSettings(PulseSettings, { ...env, RETRY_MAX_HOURS: value });
  const hours = (value: string | undefined) => {
    const decoded = read(value);
    return decoded.ok ? decoded.value.RETRY_MAX_HOURS : decoded.error.message;
  };
  t.is(hours(undefined), 24);
  t.is(hours(''), 24);
  t.is(hours('720'), 720);
  t.is(hours('0'), 'invalid settings: RETRY_MAX_HOURS: expected an integer from 1 to 720, got "0"');
  t.regex(String(hours('721')), /RETRY_MAX_HOURS: expected an integer from 1 to 720/);
});
