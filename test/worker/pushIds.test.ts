/**
 * Push ids at the boundary, end to end: the real worker on the local RabbitMQ (a user limited
 * as Pulse limits them), a real store (SQLite in a temporary file, and PostgreSQL), and the
 * fixture servers with a synthetic pushlog of six pushes. A push id no pushlog can have is
 * parked and starts no watermark; one past the pushlog's head is retried later; a watermark
 * starts only from a push the pushlog confirmed; and the store refuses to write a push id
 * that is not one.
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { randomBytes } from 'node:crypto';
import { configureLog } from '../../src/log.js';
import { openStore } from '../../src/state/index.js';
import { Admin, createPulseUser, type PulseUser, removeTestBroker } from '../support/broker.js';
import { startFixtures, type Fixtures } from '../support/standIns/fixtureServer.js';
import { changegroupMessage } from '../support/data/messages.js';
import { syntheticFixtures } from '../support/data/syntheticFixtures.js';
import { until } from '../support/wait.js';
import { startWorker } from '../support/worker.js';
import type { Harness } from '../state/support/harness.js';
import { postgresHarness } from '../state/support/postgresHarness.js';
import { sqliteHarness } from '../state/support/sqliteHarness.js';

configureLog({ level: process.env.TEST_LOG === '1' ? 'debug' : 'silent' });

interface Context {
  fx: Fixtures;
  user: PulseUser;
  admin: Admin;
  sqlite: Harness;
  postgres: Harness;
}
const test = anyTest as TestFn<Context>;
const REPO = 'integration/autoland';
const PUSHES = 6;

test.before(async (t) => {
  t.context.fx = await startFixtures({ data: syntheticFixtures({ pushes: PUSHES }) });
  t.context.user = await createPulseUser();
  t.context.admin = await Admin.connect();
  t.context.sqlite = await sqliteHarness();
  t.context.postgres = await postgresHarness();
});

test.after.always(async (t) => {
  await removeTestBroker(t.context.admin, t.context.user);
  await t.context.fx?.close();
  await t.context.sqlite?.teardown();
  await t.context.postgres?.teardown();
});

const freshStore = async (t: ExecutionContext<Context>, engine: 'sqlite' | 'postgres') => {
  const harness = t.context[engine];
  const target = await harness.fresh();
  const store = await openStore(target);
  t.teardown(() => store.close().catch(() => undefined));
  return { store, query: (sql: string) => harness.query(target, sql) };
};

const ENGINES = ['sqlite', 'postgres'] as const;

for (const engine of ENGINES) {
  test(`${engine}: push ids -1, 0 and 1e20 are parked and start no watermark; one past the pushlog's head is retried; a confirmed push starts it`, async (t) => {
    const { store } = await freshStore(t, engine);
    const queueName = `pushids-${randomBytes(3).toString('hex')}`;
    const routingKey = `test/${queueName}`;
    const w = await startWorker({
      user: t.context.user,
      queueName,
      routingKey,
      fx: t.context.fx,
      store,
    });
    t.teardown(() => w.stop());
    const repository = t.context.fx.repo(REPO);
    const publish = (pushId: number) =>
      t.context.admin.publish(routingKey, changegroupMessage(repository, pushId));

    for (const pushId of [-1, 0, 1e20]) await publish(pushId);
    // The pushlog's head is push 6: a mirror that lags may not have push 9 yet.
    await publish(PUSHES + 3);
    await until('four messages settled', () => w.settled.length === 4, 8_000);
    const actions = w.settled.map((s) => [s.action, s.parkReason ?? s.retry?.step]);
    t.deepEqual(actions, [
      ['park', 'undecodable'],
      ['park', 'undecodable'],
      ['park', 'undecodable'],
      ['retry', '30s'],
    ]);
    t.regex(w.settled[0]?.reason ?? '', /pushid: expected a push id \(a whole number from 1/);
    t.regex(
      w.settled[3]?.result?.outcomes.map((o) =>
        o.status === 'failed' ? o.error.message : '',
      )[0] ?? '',
      /push 9 is newer than the newest push of .* \(6\)/,
    );
    t.is(await store.watermark(repository), undefined, 'no watermark from any of them');
    t.deepEqual(await store.repositoriesWithWatermark(), []);

    await publish(3);
    await until('push 3 acked', () => w.source.counters.acked === 1, 8_000);
    t.is(await store.watermark(repository), 3, 'started at the confirmed push, and settled it');
  });

  test(`${engine}: the store refuses to write a push id that is not one, and writes nothing`, async (t) => {
    const { store, query } = await freshStore(t, engine);
    const repository = 'https://hg.mozilla.org/integration/autoland';
    const refused =
      /push id (1e\+20|100000000000000000000|-1|1\.5) is not a push id \(a whole number from 1 to 9007199254740991\)/;
    for (const bad of [1e20, -1, 1.5]) {
      await t.throwsAsync(store.startWatermark(repository, bad), { message: refused });
      await t.throwsAsync(store.pushSettled(repository, bad), { message: refused });
      await t.throwsAsync(store.park({ repository, pushId: bad, reason: 'test' }), {
        message: refused,
      });
    }
    await t.throwsAsync(
      store.recordSent({
        node: 'a'.repeat(40),
        repository,
        pushId: 1e20,
        reviewSystem: 'unknown',
      }),
      { message: refused },
    );
    t.deepEqual(await store.repositoriesWithWatermark(), []);
    for (const table of ['watermarks', 'pushes', 'parked', 'ledger']) {
      const rows = await query(`SELECT COUNT(*) AS n FROM ${table}`);
      t.is(Number(rows[0]?.n), 0, `nothing in ${table}`);
    }
  });
}
