/**
 * The worker on GitHub pushes, end to end: the local RabbitMQ (taskcluster-github's exchange
 * stood in by one of this test's own), the GitHub stand-in over loopback HTTP, Bugzilla and
 * telemetry stand-ins, and a real SQLite store. A push message gives one correct ping per
 * commit; the same message again sends nothing; a push lost while the worker was down is
 * filled by git gap-fill from the branch head, each commit once, after a rate-limit window
 * waited out with nothing failed or parked.
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import amqplib from 'amqplib';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClients, createTelemetryClient } from '../../src/clients/index.js';
import { PulseSettings, TelemetrySettings } from '../../src/codecs/settings.js';
import type { Ping } from '../../src/codecs/ping.js';
import type { Settlement } from '../../src/pipeline/job.js';
import { readSettings } from '../../src/config.js';
import { configureLog } from '../../src/log.js';
import { documentId } from '../../src/rules/ping.js';
import { telemetrySink } from '../../src/sinks/telemetry.js';
import { openStore, type Store } from '../../src/state/index.js';
import { WorkerMetrics } from '../../src/worker/metrics.js';
import { Worker } from '../../src/worker/worker.js';
import { GapFillMetrics } from '../../streams/gapFill/config.js';
import { GitGapFillSource } from '../../streams/gapFill/git.js';
import { PulseSource } from '../../streams/pulse/source.js';
import {
  Admin,
  BROKER,
  createPulseUser,
  type PulseUser,
  removeTestBroker,
} from '../support/broker.js';
import { FIXTURES_DIR } from '../support/data/fixtureData.js';
import { startFixtures, type Fixtures } from '../support/standIns/fixtureServer.js';
import {
  recordedGitHub,
  startGitHub,
  type GitHubStandIn,
} from '../support/standIns/githubStandIn.js';
import { until } from '../support/wait.js';
import { sqliteHarness } from '../state/support/sqliteHarness.js';
import type { Harness } from '../state/support/harness.js';

configureLog({ level: process.env.TEST_LOG === '1' ? 'debug' : 'silent' });

interface Context {
  user: PulseUser;
  admin: Admin;
  exchange: string;
  sqlite: Harness;
}
const test = anyTest as TestFn<Context>;
/** taskcluster-github's key for the repository; a suffix per test keeps their queues apart. */
const keyOf = (test: string) => `primary.mozilla-firefox.firefox.${test}`;

test.before(async (t) => {
  t.context.user = await createPulseUser();
  t.context.admin = await Admin.connect();
  t.context.sqlite = await sqliteHarness();
  t.context.exchange = `exchange/ctstest-${randomBytes(4).toString('hex')}/github-push`;
  const owner = await amqplib.connect(`amqp://guest:guest@${BROKER.host}:${BROKER.port}`);
  await (await owner.createChannel()).assertExchange(t.context.exchange, 'topic');
  await owner.close();
});

test.after.always(async (t) => {
  await removeTestBroker(t.context.admin, t.context.user, {
    exchanges: [t.context.exchange],
  });
  await t.context.sqlite.teardown();
});

const orThrow = <T>(decoded: { ok: true; value: T } | { ok: false; error: Error }): T => {
  if (!decoded.ok) throw decoded.error;
  return decoded.value;
};

/** A taskcluster-github push message for the recorded repository, as the fixture's first. */
const pushMessage = (branch: string, before: string, after: string): string => {
  const recorded = readFileSync(join(FIXTURES_DIR, 'pulse', 'github-push.ndjson'), 'utf8');
  const message = JSON.parse(recorded.split('\n')[1]!);
  Object.assign(message.body, { ref: `refs/heads/${branch}`, before, after, commits: [] });
  return JSON.stringify({ ...message, branch });
};

/** The worker as process-queue-messages builds it, with git gap-fill polling every 300 ms. */
const startWorker = async (t: { context: Context }, env: Record<string, string>, store: Store) => {
  const upstream = {
    BMO_API_URL: env.BMO_API_URL!,
    ALLOWED_HOSTS: ['github.com'],
    HTTP_CONCURRENCY: 8,
    DEBUG: false,
    GITHUB_API_URL: env.GITHUB_API_URL!,
    GITHUB_WEB_URL: env.GITHUB_WEB_URL!,
  };
  const source = new PulseSource({
    settings: orThrow(readSettings(PulseSettings, env)),
    allowedHosts: upstream.ALLOWED_HOSTS,
    prefetch: 8,
    reconnectSeconds: 0.2,
    github: { webUrl: env.GITHUB_WEB_URL!, branches: ['main', 'autoland'] },
  });
  const clients = createClients(upstream, { backoffMs: 5, attempts: 3 });
  const telemetry = createTelemetryClient(
    clients.limits,
    orThrow(readSettings(TelemetrySettings, env)),
  );
  const metrics = new WorkerMetrics();
  const gapFill = new GitGapFillSource({
    store,
    github: clients.github,
    follows: () => true,
    pollMs: 300,
    graceMs: 300,
    metrics: { gapFill: new GapFillMetrics(metrics.registry), pings: metrics.pings },
  });
  const worker = new Worker({
    source,
    deps: {
      ...clients,
      git: clients.github,
      sink: telemetrySink(telemetry),
      ledger: store,
      policy: { whenHeld: 'defer', startsWatermarks: true },
    },
    metrics,
    graceMs: 5_000,
    polled: [gapFill],
    parked: store,
  });
  await worker.start();
  return { worker, source, gapFill };
};

/** How many times telemetry received each document. */
const putsOf = (fx: Fixtures): Map<string, number> => {
  const puts = new Map<string, number>();
  for (const request of fx.tmo.requests) {
    if (!request.startsWith('PUT ')) continue;
    const id = request.slice(request.lastIndexOf('/') + 1);
    puts.set(id, (puts.get(id) ?? 0) + 1);
  }
  return puts;
};

const expected = JSON.parse(
  readFileSync(join(FIXTURES_DIR, 'expected', 'github-autoland-pings.json'), 'utf8'),
) as Record<string, Ping>;

test('a GitHub push gives one ping per commit, once; a push lost while down is gap-filled, past a rate limit', async (t) => {
  const fx = await startFixtures();
  const gh: GitHubStandIn = await startGitHub();
  t.teardown(async () => {
    await fx.close();
    await gh.close();
  });
  const store = await openStore(await t.context.sqlite.fresh());
  t.teardown(() => store.close().catch(() => undefined));
  const queueName = `gh-worker-${randomBytes(3).toString('hex')}`;
  const env = {
    ...t.context.user.env(queueName, 'integration/autoland'),
    ...fx.env,
    ...gh.env,
    GITHUB_PUSH_EXCHANGE: t.context.exchange,
    GITHUB_PUSH_ROUTING_KEY: keyOf('lost'),
  };
  const repository = gh.repository('autoland');
  const recorded = recordedGitHub();
  const head = recorded.head('autoland');
  // autoland's commits oldest first: the root, then the eight the expected pings name.
  const order = Object.keys(expected);
  const root = '33b063b6219f32e324c8057f4202819c5f8c07b9';
  t.true(recorded.commits.has(root));
  const middle = order[3]!; // the first push lands four commits
  const publish = (before: string, after: string) =>
    t.context.admin.publish(
      keyOf('lost'),
      pushMessage('autoland', before, after),
      t.context.exchange,
    );

  // First run: one push, root...middle, while the branch head is there.
  gh.moveBranch('autoland', middle);
  const first = await startWorker(t, env, store);
  await publish(root, middle);
  await until('the push acked', () => first.source.counters.acked === 1, 15_000);
  // The same message again: acked, nothing sent.
  await publish(root, middle);
  await until('the copy acked', () => first.source.counters.acked === 2, 15_000);
  t.is(await store.gitWatermark(repository), middle, 'the watermark started and moved');
  await first.worker.stop('test: the worker goes down');

  // While it is down, middle...head lands, and its message is lost; and when it comes back,
  // GitHub refuses every request for a while (a secondary rate limit, with retry-after).
  gh.moveBranch('autoland', head);
  gh.rateLimit('secondary', 1_500);
  const second = await startWorker(t, env, store);
  t.teardown(() => second.worker.stop('test over'));
  await until(
    'gap-fill settled the lost push',
    () => second.gapFill.counters.settled === 1,
    20_000,
  );
  t.is(await store.gitWatermark(repository), head);
  t.is(second.source.counters.received, 0, 'no message brought it');
  t.true(gh.limited > 0, 'the rate limit was met, and waited out');
  t.is(second.gapFill.counters.unsettled, 0, 'nothing failed for it');
  t.is(second.source.counters.parked, 0, 'nothing parked');

  const puts = putsOf(fx);
  for (const node of order) {
    const id = documentId(repository, node);
    t.is(puts.get(id), 1, `${node} sent once`);
    const path = [...fx.tmo.received.keys()].find((k) => k.endsWith(id));
    t.deepEqual(fx.tmo.received.get(path ?? ''), expected[node], `${node}: the expected ping`);
  }
  t.is(puts.size, order.length, 'nothing else was sent');
});

/**
 * The stand-ins, a fresh store and a worker of their own, on a queue bound to the test's
 * exchange with `keyOf(name)`; all of it closed when the test ends.
 */
const startedOnItsOwn = async (t: ExecutionContext<Context>, name: string) => {
  const fx = await startFixtures();
  const gh = await startGitHub();
  t.teardown(async () => {
    await fx.close();
    await gh.close();
  });
  const store = await openStore(await t.context.sqlite.fresh());
  t.teardown(() => store.close().catch(() => undefined));
  const queueName = `gh-${name}-${randomBytes(3).toString('hex')}`;
  const env = {
    ...t.context.user.env(queueName, 'integration/autoland'),
    ...fx.env,
    ...gh.env,
    GITHUB_PUSH_EXCHANGE: t.context.exchange,
    GITHUB_PUSH_ROUTING_KEY: keyOf(name),
  };
  const w = await startWorker(t, env, store);
  t.teardown(() => w.worker.stop('test over'));
  return { fx, gh, store, w };
};

test('a push naming a sha GitHub does not know (yet) is retried later, not parked; the queue flows on', async (t) => {
  const { fx, w } = await startedOnItsOwn(t, 'unknown');
  const settled: Settlement[] = [];
  w.source.settlements.subscribe((s) => settled.push(s));
  const [known, unknown] = [
    recordedGitHub().head('autoland'),
    '0123456789abcdef'.repeat(2) + '01234567',
  ];
  const order = Object.keys(expected);
  await t.context.admin.publish(
    keyOf('unknown'),
    pushMessage('autoland', order[6]!, unknown),
    t.context.exchange,
  );
  await t.context.admin.publish(
    keyOf('unknown'),
    pushMessage('autoland', order[6]!, known),
    t.context.exchange,
  );
  await until('both settled', () => settled.length === 2, 15_000);
  // GitHub's API may not have caught up with the push: parked at once, as it was before, its
  // commits waited for an operator, and the watermark had moved past them for gap-fill too.
  const retried = settled.find((s) => s.action === 'retry');
  t.truthy(retried, JSON.stringify(settled.map((s) => s.action)));
  t.regex(
    JSON.stringify(retried?.result?.outcomes),
    new RegExp(
      `"kind":"transient","name":"NotOnGitHubYet","what":"[0-9a-f]{40}\\.\\.\\.${unknown}"`,
    ),
  );

  t.like(settled.find((s) => s.action === 'ack')?.result?.outcomes[0], { status: 'sent' });
  t.is(putsOf(fx).size, 1, 'the known push: its one commit sent');
});

test('a push that creates a followed branch sends nothing and starts its git watermark at its head', async (t) => {
  const { fx, gh, store, w } = await startedOnItsOwn(t, 'created');
  const head = recordedGitHub().head('autoland');
  await t.context.admin.publish(
    keyOf('created'),
    pushMessage('autoland', '0'.repeat(40), head),
    t.context.exchange,
  );
  await until('the creation acked', () => w.source.counters.acked === 1, 15_000);
  // Before, it was skipped and no watermark started: a lost message of the branch's next
  // push was never gap-filled.
  await until(
    'the watermark started',
    async () => (await store.gitWatermark(gh.repository('autoland'))) === head,
  );
  t.is(putsOf(fx).size, 0, 'nothing sent: the branch was made from commits landed elsewhere');
});
