/**
 * One repository spelled several ways is one repository: the real worker on the local
 * RabbitMQ, a real SQLite store and the fixture servers. Pushes announced as
 * `http://127.1:port/x/` and `http://127.0.0.1:port/x` (both on the allowed host, the first
 * a loopback address written short, with a trailing slash) land in one ledger and one
 * watermark, and a push announced again under the other spelling sends nothing twice.
 * Each ack's log line says how many changesets were sent now and how many before.
 * A message whose repository is on a host not allowed is parked as `host_not_allowed`.
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { randomBytes } from 'node:crypto';
import { configureLog } from '../../../src/log.js';
import { openStore } from '../../../src/state/index.js';
import type { MemorySink } from '../../../src/sinks/memory.js';
import { Admin, createPulseUser, type PulseUser, removeTestBroker } from '../../support/broker.js';
import { startFixtures, type Fixtures } from '../../support/standIns/fixtureServer.js';
import { changegroupMessage } from '../../support/data/messages.js';
import { syntheticFixtures } from '../../support/data/syntheticFixtures.js';
import { until } from '../../support/wait.js';
import { startWorker } from '../../support/worker.js';
import { sqliteHarness } from '../../state/support/sqliteHarness.js';
import type { Harness } from '../../state/support/harness.js';

configureLog({ level: process.env.TEST_LOG === '1' ? 'debug' : 'silent' });

/** The JSON log lines written from now until the test ends (the worker runs in this process). */
const captureLog = (t: ExecutionContext): Record<string, unknown>[] => {
  const lines: Record<string, unknown>[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    for (const line of chunk.toString().split('\n')) {
      if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    return true;
  }) as typeof process.stderr.write;
  configureLog({ level: 'info' });
  t.teardown(() => {
    process.stderr.write = original;
    configureLog({ level: 'silent' });
  });
  return lines;
};

interface Context {
  fx: Fixtures;
  user: PulseUser;
  admin: Admin;
  sqlite: Harness;
}
const test = anyTest as TestFn<Context>;
const REPO = 'integration/autoland';

test.before(async (t) => {
  t.context.fx = await startFixtures({ data: syntheticFixtures({ pushes: 3 }) });
  t.context.user = await createPulseUser();
  t.context.admin = await Admin.connect();
  t.context.sqlite = await sqliteHarness();
});

test.after.always(async (t) => {
  await removeTestBroker(t.context.admin, t.context.user);
  await t.context.fx?.close();
  await t.context.sqlite?.teardown();
});

test('two spellings of one repository land in one ledger and one watermark; other hosts are parked as host_not_allowed', async (t) => {
  const target = await t.context.sqlite.fresh();
  const store = await openStore(target);
  t.teardown(() => store.close().catch(() => undefined));
  const queueName = `spellings-${randomBytes(3).toString('hex')}`;
  const routingKey = `test/${queueName}`;
  const w = await startWorker({
    user: t.context.user,
    queueName,
    routingKey,
    fx: t.context.fx,
    store,
  });
  t.teardown(() => w.stop());
  const canonical = t.context.fx.repo(REPO);
  if (!canonical.startsWith('http://127.0.0.1:')) throw new Error(`unexpected ${canonical}`);
  const short = `${canonical.replace('127.0.0.1', '127.1')}/`;
  const publish = (repoUrl: string, pushId: number) =>
    t.context.admin.publish(routingKey, changegroupMessage(repoUrl, pushId));

  const lines = captureLog(t);
  const announced: [string, number][] = [
    [short, 1],
    [canonical, 2],
    [short, 2],
    [canonical, 1],
  ];
  for (const [acked, [repoUrl, pushId]] of announced.entries()) {
    await publish(repoUrl, pushId);
    await until(`message ${acked + 1} acked`, () => w.source.counters.acked === acked + 1, 8_000);
  }
  const acks = lines.filter((line) => line.action === 'ack');
  t.deepEqual(
    acks.map(({ repository, push, sent, sentBefore }) => [repository, push, sent, sentBefore]),
    [
      [canonical, 1, 3, 0],
      [canonical, 2, 3, 0],
      [canonical, 2, 0, 3],
      [canonical, 1, 0, 3],
    ],
    'each ack line says how many changesets were sent now and how many before',
  );

  const sink = w.sink as MemorySink;
  t.is(sink.pings.length, 6, 'three changesets in each of two pushes, each sent once');
  t.deepEqual(new Set(sink.pings.map((ping) => ping.repository)), new Set([canonical]));
  const ledger = await t.context.sqlite.query(target, 'SELECT DISTINCT repository FROM ledger');
  t.deepEqual(ledger, [{ repository: canonical }], 'one ledger');
  t.deepEqual(await store.repositoriesWithWatermark(), [canonical], 'one watermark');
  t.is(await store.watermark(canonical), 2);

  await publish('https://elsewhere.example/x', 1);
  await until('one message parked', () => w.settled.some((s) => s.action === 'park'), 8_000);
  const parked = w.settled.find((s) => s.action === 'park');
  t.is(parked?.parkReason, 'host_not_allowed');
  t.regex(parked?.reason ?? '', /host is not in ALLOWED_HOSTS/);
});
