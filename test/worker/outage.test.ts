/**
 * The worker during an upstream outage, against the real broker (a user limited the way
 * Pulse limits users) and the fixture servers: it pauses consuming while a host is down and
 * resumes once it answers its probe again, with nothing parked and every ping sent once.
 */
import anyTest, { type TestFn } from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PulseSource, type Settlement } from '../../streams/pulse/source.js';
import { pulseNames, type PulseNames } from '../../streams/pulse/connection/names.js';
import { createClients } from '../../src/clients/index.js';
import type { HostTransition } from '../../src/clients/health.js';
import { PulseSettings, UpstreamSettings } from '../../src/codecs/settings.js';
import { readSettings } from '../../src/config.js';
import { configureLog } from '../../src/log.js';
import { MemorySink } from '../../src/sinks/memory.js';
import { openStore } from '../../src/state/index.js';
import { WorkerMetrics } from '../../src/worker/metrics.js';
import { hostsUpCheck } from '../../src/worker/pause.js';
import { Worker } from '../../src/worker/worker.js';
import { Admin, createPulseUser, type PulseUser } from '../support/broker.js';
import { startFixtures, type Fixtures } from '../support/standIns/fixtureServer.js';
import { changegroupMessage } from '../support/data/messages.js';
import { Switch } from '../support/outage.js';
import { syntheticFixtures } from '../support/data/syntheticFixtures.js';
import { sleep, until } from '../support/wait.js';

configureLog({ level: process.env.TEST_LOG === '1' ? 'debug' : 'silent' });

interface Context {
  fx: Fixtures;
  synthetic: ReturnType<typeof syntheticFixtures>;
  user: PulseUser;
  admin: Admin;
  created: PulseNames[];
  workers: Worker[];
  dirs: string[];
}
// Serial: the outage of one test would be the other's too (they share the fixture servers).
const test = anyTest as TestFn<Context>;
const REPO = 'integration/autoland';
/** Short retry delays, on queues of each test's own (a queue's TTL is fixed once declared). */
const DELAYS = [300, 600, 1_000];

test.before(async (t) => {
  // One bug per changeset, so that a failing bug is one changeset's.
  t.context.synthetic = syntheticFixtures({ pushes: 60, changesetsPerBug: 1 });
  t.context.fx = await startFixtures({ data: t.context.synthetic });
  t.context.user = await createPulseUser();
  t.context.admin = await Admin.connect();
  t.context.created = [];
  t.context.workers = [];
  t.context.dirs = [];
});

test.after.always(async (t) => {
  await Promise.all(t.context.workers.map((w) => w.stop('test over')));
  await t.context.admin.removeWorkerObjects(...t.context.created);
  await t.context.admin.close();
  await t.context.user.remove();
  await t.context.fx.close();
  for (const dir of t.context.dirs) rmSync(dir, { recursive: true, force: true });
});

const orThrow = <T>(decoded: { ok: true; value: T } | { ok: false; error: Error }): T => {
  if (!decoded.ok) throw decoded.error;
  return decoded.value;
};

/**
 * The real worker on a fresh queue, with a SQLite store (so that a message run twice sends
 * each ping once), breakers that open after `failures` and probe every second, quick client
 * retries, and PulseSource told which jobs failed during an outage.
 */
const startWorker = async (t: { context: Context }, name: string, failures: number) => {
  const queueName = `${name}-${randomBytes(3).toString('hex')}`;
  const routingKey = `test/${queueName}`;
  const env = {
    ...t.context.user.env(queueName, routingKey),
    ...t.context.fx.env,
    BREAKER_FAILURES: String(failures),
    BREAKER_PROBE_SECONDS: '1',
  };
  const upstream = orThrow(readSettings(UpstreamSettings, env));
  const clients = createClients(upstream, { backoffMs: 5, attempts: 3 });
  const transitions: HostTransition[] = [];
  clients.health!.transitions.subscribe((transition) => transitions.push(transition));
  const source = new PulseSource({
    settings: orThrow(readSettings(PulseSettings, env)),
    allowedHosts: upstream.ALLOWED_HOSTS,
    prefetch: 8,
    reconnectSeconds: 0.2,
    deferMs: 100,
    retryDelaysMs: DELAYS,
    retryMaxAgeMs: 4_000,
    hostsUp: hostsUpCheck(clients.health!),
  });
  t.context.created.push(pulseNames(t.context.user.username, queueName, DELAYS));
  const settled: Settlement[] = [];
  source.settlements.subscribe((settlement) => settled.push(settlement));
  const dir = mkdtempSync(join(tmpdir(), 'cts-outage-'));
  t.context.dirs.push(dir);
  const store = await openStore(`sqlite:${join(dir, 'store.sqlite')}`);
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
  });
  await worker.start();
  t.context.workers.push(worker);
  const originalStop = worker.stop.bind(worker);
  worker.stop = async (reason: string, failed?: boolean) => {
    await originalStop(reason, failed);
    await store.close().catch(() => undefined);
  };
  const publishPushes = async (ids: number[]) => {
    for (const id of ids) {
      await t.context.admin.publish(routingKey, changegroupMessage(t.context.fx.repo(REPO), id));
    }
  };
  const consuming = async () =>
    (await metrics.registry.getSingleMetricAsString('commit_telemetry_consuming')).includes(
      'commit_telemetry_consuming 1',
    );
  return { worker, source, sink, settled, metrics, transitions, publishPushes, consuming };
};

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

const pushOf = (settlement: Settlement) =>
  settlement.result?.job.target.kind === 'push' ? settlement.result.job.target.pushId : undefined;

test.serial(
  'Bugzilla down while pushes arrive: the worker pauses, then every ping is sent once',
  async (t) => {
    const { fx, synthetic, admin } = t.context;
    const w = await startWorker(t, 'outage', 3);
    const names = w.source.names;
    const outage = new Switch('/rest/');
    fx.fail({ match: outage, status: 503 });
    const started = Date.now();
    await w.publishPushes(range(1, 10));
    await until('paused', () => w.source.paused, 15_000);
    t.false(await w.consuming());
    // Still healthy, and says why it is paused.
    t.true(w.worker.healthy());
    t.regex(w.metrics.healthNote?.() ?? '', /^paused: 127\.0\.0\.1:\d+ down since \d{4}-/);
    // More pushes arrive during the outage: they wait in the queue.
    await w.publishPushes(range(11, 20));
    await until('10 waiting', async () => (await admin.depth(names.queue)) >= 10, 15_000);
    await sleep(Math.max(0, 10_000 - (Date.now() - started)));
    t.true(w.source.paused, 'still paused while Bugzilla is down');
    t.true(fx.bmo.requests.filter((r) => r === 'GET /rest/version').length >= 5, 'probed');
    outage.on = false;
    const endedAt = Date.now();
    await until('20 acks', () => w.source.counters.acked === 20, 30_000);
    t.true(await w.consuming());
    t.is(w.metrics.healthNote?.(), undefined);
    t.deepEqual(
      w.sink.pings.map((p) => p.changesetID).sort(),
      range(1, 20)
        .flatMap((id) => synthetic.nodes(id))
        .sort(),
      'every ping once',
    );
    t.is(w.source.counters.parked, 0);
    t.false(w.settled.some((s) => s.action === 'park'));
    t.true(
      w.settled.some((s) => s.action === 'requeue'),
      'failed for the outage: back, no attempt',
    );
    t.is(await admin.depth(names.queue), 0);
    t.is(await admin.depth(names.failedQueue), 0);
    t.deepEqual(
      w.transitions.map(({ host, up }) => `${host} ${up ? 'up' : 'down'}`),
      [`${fx.bmo.host} down`, `${fx.bmo.host} up`],
    );
    // Back only by a probe after the outage ended (probes come 1 to 1.5 s apart).
    t.true(w.transitions[1]!.since.getTime() >= endedAt);
    t.true(w.transitions[1]!.downForMs! >= 8_000, `down for ${w.transitions[1]!.downForMs} ms`);
    const upLines = (
      await w.metrics.registry.getSingleMetricAsString('commit_telemetry_upstream_up')
    )
      .split('\n')
      .filter((line) => line.startsWith('commit_telemetry_upstream_up{'));
    t.true(upLines.includes(`commit_telemetry_upstream_up{host="${fx.bmo.host}"} 1`));
    t.true(upLines.includes('commit_telemetry_upstream_up{host="store"} 1'));
  },
);

test.serial(
  'a host whose probe answers while one changeset keeps failing does not pause the worker for good',
  async (t) => {
    const { fx, synthetic } = t.context;
    const w = await startWorker(t, 'partial', 2);
    // The second changeset of push 21 needs its bug: the bug's requests keep failing
    // (two requests a lookup: two failures), while Bugzilla's probe answers.
    const node = synthetic.nodes(21)[1]!;
    t.is(synthetic.kindOf(node), 'bmo');
    const desc = (synthetic.changeset(REPO, node) as { desc: string }).desc;
    const bug = /^Bug (\d+)/.exec(desc)![1]!;
    fx.fail({ match: new RegExp(`/rest/bug/${bug}/`), status: 503 });
    await w.publishPushes(range(21, 30));
    const others = range(22, 30);
    await until(
      'the others acked',
      () => others.every((id) => w.settled.some((s) => pushOf(s) === id && s.action === 'ack')),
      20_000,
    );
    // Its message takes the retry path, and ends parked once too old; never stuck.
    await until(
      'parked',
      () => w.settled.some((s) => pushOf(s) === 21 && s.action === 'park'),
      20_000,
    );
    const its = w.settled.filter((s) => pushOf(s) === 21).map((s) => s.action);
    t.log(
      `push 21: ${its.join(', ')}; host down for ${w.transitions
        .filter((x) => x.up)
        .map((x) => x.downForMs)
        .join(', ')} ms`,
    );
    t.true(its.includes('retry'), its.join(' '));
    t.is(its.at(-1), 'park');
    t.false(w.source.paused);
    t.true(await w.consuming());
    t.true(w.source.consuming());
    // Down (by its failures) and back (by its probe) a few times at most, never for long: a
    // host that flaps waits twice as long each time (1 to 1.5 probe intervals, then 2 to 3, ...),
    // so the n-th outage is bounded by 1.5 s × 2^n, plus a little for the probe's own request.
    t.true(w.transitions.length >= 2 && w.transitions.length <= 2 * its.length);
    const downFor = w.transitions.filter((x) => x.up).map((x) => x.downForMs!);
    t.true(
      downFor.every((ms, n) => ms < 1_500 * 2 ** n + 500),
      String(downFor),
    );
    t.deepEqual(
      w.sink.pings
        .map((p) => p.changesetID)
        .filter((n) => n !== node)
        .sort(),
      range(21, 30)
        .flatMap((id) => synthetic.nodes(id))
        .filter((n) => n !== node)
        .sort(),
    );
  },
);

test.serial(
  'Bugzilla answering an HTML page with 200 for a while: retried, not parked, every ping sent once',
  async (t) => {
    const { fx, synthetic, admin } = t.context;
    const w = await startWorker(t, 'html200', 3);
    const page = '<!DOCTYPE html><html><body>Bugzilla is down for maintenance</body></html>';
    const outage = new Switch('/rest/bug/');
    fx.fail({ match: outage, body: () => page });
    const pushes = range(41, 46);
    await w.publishPushes(pushes);
    await until('a failed try', () => w.settled.some((s) => s.action !== 'ack'), 15_000);
    await sleep(1_500);
    outage.on = false;
    const done = (id: number) =>
      w.settled.some((s) => pushOf(s) === id && (s.action === 'ack' || s.action === 'park'));
    await until('each acked or parked', () => pushes.every(done), 30_000);
    t.is(w.source.counters.acked, pushes.length);
    t.is(w.source.counters.parked, 0, 'nothing parked: a 200 with a bad body may pass');
    t.true(w.settled.some((s) => s.action === 'retry' || s.action === 'requeue'));
    t.deepEqual(
      w.sink.pings.map((p) => p.changesetID).sort(),
      pushes.flatMap((id) => synthetic.nodes(id)).sort(),
      'every ping once',
    );
    t.is(await admin.depth(w.source.names.failedQueue), 0);
  },
);

test.serial(
  'a bug answered with JSON cut short for good: retried until RETRY_MAX_HOURS, then parked saying so',
  async (t) => {
    const { fx, synthetic, admin } = t.context;
    const w = await startWorker(t, 'truncated', 3);
    // A changeset whose review system needs its bug's history (bmo and phabricator do).
    const node = synthetic.nodes(47).find((n) => synthetic.kindOf(n) === 'phabricator')!;
    const desc = (synthetic.changeset(REPO, node) as { desc: string }).desc;
    const bug = /^Bug (\d+)/.exec(desc)![1]!;
    fx.fail({ match: new RegExp(`/rest/bug/${bug}/history`), body: () => '{"bugs": [{"id": ' });
    const started = Date.now();
    await w.publishPushes([47]);
    await until('parked', () => w.settled.some((s) => s.action === 'park'), 20_000);
    const actions = w.settled.map((s) => s.action);
    t.true(actions.includes('retry'), actions.join(' '));
    t.like(w.settled.at(-1), { action: 'park', parkReason: 'too_old' });
    // retryMaxAgeMs is 4 s here: parked only once the message is that old.
    t.true(Date.now() - started >= 4_000);
    const [parked] = await admin.drain(w.source.names.failedQueue);
    const error = String(parked?.properties.headers?.['x-error']);
    t.regex(
      error,
      /^still failing 4 s after its first failure \(RETRY_MAX_HOURS\); the last try:\n/,
    );
    t.regex(
      error,
      new RegExp(
        `${node}: GET ${fx.env.BMO_API_URL}/bug/${bug}/history answered 200 with a body ` +
          'that is not the expected Bugzilla history answer \\(\\(root\\): not JSON',
      ),
    );
    t.is(parked?.properties.headers?.['x-park-reason'], 'too_old');
  },
);

test.serial(
  'resuming declares the queues again first: Pulse may have deleted them meanwhile',
  async (t) => {
    const { admin } = t.context;
    const w = await startWorker(t, 'redeclare', 3);
    const { names } = w.source;
    await w.source.pause();
    t.false(w.source.consuming());
    await admin.deleteQueues(names.queue);
    t.false(await admin.queueExists(names.queue));
    await w.source.resume();
    t.true(await admin.queueExists(names.queue));
    t.true(w.source.consuming());
    // Bound again too: a push published now is consumed.
    await w.publishPushes([31]);
    await until('1 ack', () => w.source.counters.acked === 1, 10_000);
  },
);
