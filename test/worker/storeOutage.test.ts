/**
 * The worker while its PostgreSQL store is away, against the real broker, the real PostgreSQL
 * and the fixture servers: a TCP proxy between the worker and PostgreSQL black-holes the
 * connections (no bytes, no reset) or cuts them, while the server itself stays up.
 */
import anyTest, { type TestFn } from 'ava';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PulseSource, type Settlement } from '../../streams/pulse/source.js';
import { pulseNames } from '../../streams/pulse/connection/names.js';
import { createClients } from '../../src/clients/index.js';
import { PulseSettings, UpstreamSettings } from '../../src/codecs/settings.js';
import { readSettings } from '../../src/config.js';
import { configureLog } from '../../src/log.js';
import { MemorySink } from '../../src/sinks/memory.js';
import { openStore } from '../../src/state/index.js';
import { WorkerMetrics } from '../../src/worker/metrics.js';
import { hostsUpCheck } from '../../src/worker/pause.js';
import { Worker } from '../../src/worker/worker.js';
import type { Harness } from '../state/support/harness.js';
import { postgresHarness } from '../state/support/postgresHarness.js';
import { Admin, createPulseUser, type PulseUser, removeTestBroker } from '../support/broker.js';
import { startFixtures, type Fixtures } from '../support/standIns/fixtureServer.js';
import { changegroupMessage } from '../support/data/messages.js';
import { syntheticFixtures } from '../support/data/syntheticFixtures.js';
import { startTcpProxy, type TcpProxy } from '../support/standIns/tcpProxy.js';
import { sleep, until } from '../support/wait.js';

configureLog({ level: process.env.TEST_LOG === '1' ? 'debug' : 'silent' });

interface Context {
  fx: Fixtures;
  synthetic: ReturnType<typeof syntheticFixtures>;
  harness: Harness;
  user: PulseUser;
  admin: Admin;
}
// Serial: both load the one machine, and a store outage is timing.
const test = anyTest as TestFn<Context>;
const REPO = 'integration/autoland';
const PUSHES = 100;
/** Short retry delays, on queues of each test's own (a queue's TTL is fixed once declared). */
const DELAYS = [300, 600, 1_000];

test.before(async (t) => {
  t.context.synthetic = syntheticFixtures({ pushes: PUSHES });
  t.context.fx = await startFixtures({ data: t.context.synthetic });
  t.context.harness = await postgresHarness();
  t.context.user = await createPulseUser();
  t.context.admin = await Admin.connect();
});

test.after.always(async (t) => {
  await removeTestBroker(t.context.admin, t.context.user);
  await t.context.fx.close();
  await t.context.harness.teardown();
});

const orThrow = <T>(decoded: { ok: true; value: T } | { ok: false; error: Error }): T => {
  if (!decoded.ok) throw decoded.error;
  return decoded.value;
};

/** GET /healthz: status and body. */
const healthz = (port: number): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/healthz' }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });

/**
 * The real worker on a fresh queue and a fresh PostgreSQL database reached through a proxy,
 * with short deadlines (statements 1.5 s, the liveness read every 300 ms within 1 s), breakers
 * that probe every second, and /healthz served on a port of its own.
 */
const startWorker = async (t: { context: Context; teardown(fn: () => unknown): void }) => {
  const { fx, user, admin, harness } = t.context;
  const queueName = `store-${randomBytes(3).toString('hex')}`;
  const routingKey = `test/${queueName}`;
  const env = { ...user.env(queueName, routingKey), ...fx.env, BREAKER_PROBE_SECONDS: '1' };
  const target = await harness.fresh();
  if (target.engine !== 'postgres') throw new Error('expected PostgreSQL');
  const proxy: TcpProxy = await startTcpProxy(5432);
  const url = new URL(target.url);
  url.port = String(proxy.port);
  const store = await openStore(url.toString(), {
    statementTimeoutMs: 1_500,
    connectTimeoutMs: 1_500,
  });
  const upstream = orThrow(readSettings(UpstreamSettings, env));
  const clients = createClients(upstream, { backoffMs: 5, attempts: 3 });
  const source = new PulseSource({
    settings: orThrow(readSettings(PulseSettings, env)),
    allowedHosts: upstream.ALLOWED_HOSTS,
    prefetch: 16,
    reconnectSeconds: 0.2,
    deferMs: 100,
    retryDelaysMs: DELAYS,
    retryMaxAgeMs: 60_000,
    hostsUp: hostsUpCheck(clients.health!),
  });
  const names = pulseNames(user.username, queueName, DELAYS);
  const settled: Settlement[] = [];
  source.settlements.subscribe((settlement) => settled.push(settlement));
  const sink = new MemorySink();
  const metrics = new WorkerMetrics();
  const worker = new Worker({
    source,
    deps: {
      ...clients,
      sink,
      ledger: store,
      policy: { whenHeld: 'defer', startsWatermarks: true },
    },
    metrics,
    graceMs: 5_000,
    parked: store,
    storeLiveness: { everyMs: 300, deadlineMs: 1_000 },
  });
  const server = await metrics.serve(0, () => worker.healthy());
  await worker.start();
  t.teardown(async () => {
    proxy.restore();
    await worker.stop('test over');
    await store.close().catch(() => undefined);
    server.close();
    await proxy.close();
    await harness.destroy(target);
  });
  return {
    worker,
    source,
    names,
    settled,
    sink,
    proxy,
    health: clients.health!,
    healthz: () => healthz((server.address() as AddressInfo).port),
    publish: async (ids: number[]) => {
      for (const id of ids) await admin.publish(routingKey, changegroupMessage(fx.repo(REPO), id));
    },
  };
};

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

test.serial(
  'a black-holed store is found within seconds: /healthz says 503 naming it, the worker pauses without hanging, then every ping is sent',
  async (t) => {
    const { synthetic } = t.context;
    const w = await startWorker(t);
    await w.publish(range(1, 30));
    await until('5 acks', () => w.source.counters.acked >= 5, 20_000);
    t.is((await w.healthz()).status, 200);

    // Messages are in flight: their statements get no answer, ever.
    const holedAt = Date.now();
    w.proxy.blackHole();
    await until('the store taken for down', () => !w.health.isUp('store'), 10_000);
    const foundMs = Date.now() - holedAt;
    t.true(foundMs < 5_000, `found in ${foundMs} ms`);
    const health = await w.healthz();
    t.is(health.status, 503);
    t.regex(health.body, /^paused: store down since \d{4}-/);
    await until('paused', () => w.source.paused, 5_000);
    // What was in flight fails by the driver's deadline and goes back: nothing hangs.
    await until('nothing in flight', () => w.source.inFlight === 0, 15_000);
    const settledAt = Date.now() - holedAt;
    const acked = w.source.counters.acked;
    t.log(`black hole found in ${foundMs} ms; in-flight messages back in ${settledAt} ms`);

    // Pushes arriving meanwhile wait in the queue; nothing is acked.
    await w.publish(range(31, 40));
    await sleep(2_000);
    t.is(w.source.counters.acked, acked);
    t.true(w.source.paused);

    w.proxy.restore();
    await until('40 acks', () => w.source.counters.acked === 40, 30_000);
    t.is((await w.healthz()).status, 200);
    t.deepEqual(
      w.settled.filter((s) => s.action === 'retry' || s.action === 'park').map((s) => s.label),
      [],
      'no attempt counted, nothing parked',
    );
    t.deepEqual(
      [...new Set(w.sink.pings.map((p) => p.changesetID))].sort(),
      range(1, 40)
        .flatMap((id) => synthetic.nodes(id))
        .sort(),
      'every ping sent',
    );
    // A ping telemetry took just before the black hole, whose ledger row could not be
    // written, is sent again: the window the README owns up to. Counted, not judged.
    t.log(
      `sent twice: ${w.sink.pings.length - new Set(w.sink.pings.map((p) => p.changesetID)).size}`,
    );
  },
);

test.serial(
  'the store cut while 100 messages flow: none counts an attempt, and all are acked once it is back',
  async (t) => {
    const { synthetic, admin } = t.context;
    const w = await startWorker(t);
    await w.publish(range(1, PUSHES));
    await until('some acks', () => w.source.counters.acked >= 10, 30_000);
    w.proxy.cut();
    await until('paused', () => w.source.paused, 10_000);
    // What was in flight settles (back to the queue) before the store returns. Now and then
    // a job or a few stay in flight until it is back (then they are acked, and counted no
    // attempt either): logged, so that a run shows it.
    const stillInFlight = await until('nothing in flight', () => w.source.inFlight === 0, 15_000)
      .then(() => 0)
      .catch(() => w.source.inFlight);
    const ackedWhileAway = w.source.counters.acked;
    await sleep(1_000);
    t.is(w.source.counters.acked, ackedWhileAway, 'nothing acked while the store is away');
    w.proxy.restore();
    await until(`${PUSHES} acks`, () => w.source.counters.acked === PUSHES, 60_000);
    const retried = w.settled.filter((s) => s.action === 'retry');
    t.log(
      `acked before the cut ${ackedWhileAway}; requeued ${w.source.counters.requeued}; ` +
        `in flight when it came back: ${stillInFlight}; counted an attempt: ${retried.length}`,
    );
    t.true(w.source.counters.requeued > 0, 'some failed during the outage');
    t.deepEqual(
      retried.map((s) => s.label),
      [],
      'no message counted an attempt',
    );
    t.is(w.source.counters.parked, 0);
    for (const step of w.names.retrySteps) t.is(await admin.depth(step.queue), 0, step.queue);
    t.deepEqual(
      [...new Set(w.sink.pings.map((p) => p.changesetID))].sort(),
      range(1, PUSHES)
        .flatMap((id) => synthetic.nodes(id))
        .sort(),
      'every ping sent',
    );
    // A ping telemetry took just before the cut, whose ledger row could not be written, is
    // sent again: the window the README owns up to. Counted, not judged.
    t.log(
      `sent twice: ${w.sink.pings.length - new Set(w.sink.pings.map((p) => p.changesetID)).size}`,
    );
  },
);
