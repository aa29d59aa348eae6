/**
 * Hostile and unlucky message bodies against the real worker on the local RabbitMQ (a user
 * limited as Pulse limits them) and the fixture servers: whatever a body holds, it is settled
 * once (parked with its reason, or skipped) and the pushes behind it still flow.
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { pulseNames } from '../../../streams/pulse/connection/names.js';
import { configureLog } from '../../../src/log.js';
import { Admin, createPulseUser, type PulseUser, removeTestBroker } from '../../support/broker.js';
import { startFixtures, type Fixtures } from '../../support/standIns/fixtureServer.js';
import { hostileBody, oversizedBody } from '../../support/data/hostileBodies.js';
import { changegroupMessage } from '../../support/data/messages.js';
import { syntheticFixtures } from '../../support/data/syntheticFixtures.js';
import { until } from '../../support/wait.js';
import { startWorker, type TestWorker } from '../../support/worker.js';

configureLog({ level: process.env.TEST_LOG === '1' ? 'debug' : 'silent' });

interface Context {
  fx: Fixtures;
  user: PulseUser;
  admin: Admin;
}
const test = anyTest as TestFn<Context>;
const REPO = 'integration/autoland';
const PUSHES = 6;

test.before(async (t) => {
  t.context.fx = await startFixtures({ data: syntheticFixtures({ pushes: PUSHES }) });
  t.context.user = await createPulseUser();
  t.context.admin = await Admin.connect();
});

test.after.always(async (t) => {
  await removeTestBroker(t.context.admin, t.context.user);
  await t.context.fx?.close();
});

const worker = async (
  t: ExecutionContext<Context>,
  name: string,
  testHooks?: Parameters<typeof startWorker>[0]['testHooks'],
) => {
  const queueName = `${name}-${randomBytes(3).toString('hex')}`;
  const routingKey = `test/${queueName}`;
  const started = await startWorker({
    user: t.context.user,
    queueName,
    routingKey,
    fx: t.context.fx,
    ...(testHooks === undefined ? {} : { testHooks }),
  });
  t.teardown(() => started.stop());
  const names = pulseNames(t.context.user.username, queueName);
  const publish = (body: string | Buffer) => t.context.admin.publish(routingKey, body);
  return { worker: started, names, publish };
};

const push = (t: ExecutionContext<Context>, pushId: number) =>
  changegroupMessage(t.context.fx.repo(REPO), pushId);

/** Deeply nested arrays as the value of `data`: 8 KB on the wire at 4,100 levels. */
const nestedData = (depth: number): string =>
  `{"payload":{"type":"changegroup.1","data":${'['.repeat(depth)}${']'.repeat(depth)}}}`;

const parkedHeaders = async (t: ExecutionContext<Context>, queue: string) =>
  (await t.context.admin.drain(queue)).map((m) => m.properties.headers as Record<string, unknown>);

const acked = (w: TestWorker) => w.source.counters.acked;

test('messages nested 4,100 and 100,000 deep are parked once with their reason, and the pushes behind them are sent', async (t) => {
  const { worker: w, names, publish } = await worker(t, 'deep');
  await publish(nestedData(4_100));
  await publish(nestedData(100_000));
  await publish(push(t, 1));
  await publish(push(t, 2));
  await until('all four settled', () => w.settled.length === 4, 8_000);
  t.is(acked(w), 2, 'both pushes behind them acked');
  t.true(w.source.consuming(), 'still consuming');
  t.is(w.source.counters.received, 4, 'nothing came back');
  t.is(w.source.counters.parked, 2);
  const parked = await parkedHeaders(t, names.failedQueue);
  t.is(parked.length, 2);
  for (const headers of parked) {
    t.is(headers['x-park-reason'], 'undecodable');
    t.regex(String(headers['x-error']), /\(root\): nested deeper than \d+ levels/);
  }
});

test('a body over the size limit is parked with its reason, never parsed', async (t) => {
  const { worker: w, names, publish } = await worker(t, 'big');
  // Past any limit a Pulse message needs (they are a few KB), far below the broker's.
  await publish(oversizedBody(2 * 1024 * 1024));
  await publish(push(t, 2));
  await until('both settled', () => w.settled.length === 2, 8_000);
  t.is(acked(w), 1, 'the push behind it acked');
  const [parked, ...others] = await parkedHeaders(t, names.failedQueue);
  t.deepEqual(others, []);
  t.regex(String(parked?.['x-error']), /\(root\): larger than \d+ bytes/);
});

test('a throw anywhere in the consume callback parks the message with its reason; the queue flows on', async (t) => {
  let throws = 1;
  const {
    worker: w,
    names,
    publish,
  } = await worker(t, 'throw', {
    beforeRead: () => {
      if (throws > 0) {
        throws -= 1;
        throw new RangeError('Maximum call stack size exceeded');
      }
    },
  });
  await publish(push(t, 1));
  await publish(push(t, 2));
  await until('the push behind it acked', () => acked(w) === 1, 8_000);
  t.is(w.source.counters.received, 2, 'nothing came back');
  t.true(w.source.consuming());
  const [parked, ...others] = await parkedHeaders(t, names.failedQueue);
  t.deepEqual(others, []);
  t.is(parked?.['x-park-reason'], 'undecodable');
  t.regex(String(parked?.['x-error']), /Maximum call stack size exceeded/);
});

test('property: whatever hostile bodies come, each is settled once and the push behind them is sent', async (t) => {
  const { worker: w, names, publish } = await worker(t, 'property');
  let published = 0;
  let pushId = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(hostileBody, { minLength: 1, maxLength: 4 }), async (bodies) => {
      const before = { acked: acked(w), settled: w.settled.length };
      for (const body of bodies) await publish(body);
      pushId = (pushId % PUSHES) + 1;
      await publish(push(t, pushId));
      published += bodies.length + 1;
      await until(
        'every body settled and the push sent',
        () => w.settled.length - before.settled === bodies.length + 1,
        8_000,
      );
      const settled = w.settled.slice(before.settled);
      // Only the push is acked as sent; the hostile ones are skipped or parked, none requeued.
      return (
        settled.every((s) => s.action === 'park' || s.action === 'skip' || s.action === 'ack') &&
        acked(w) > before.acked &&
        w.source.consuming()
      );
    }),
    { numRuns: 12, endOnFailure: true },
  );
  t.is(w.source.counters.received, published, 'no message came back');
  t.is(w.source.counters.requeued + w.source.counters.parkedTwice, 0);
  const parked = await parkedHeaders(t, names.failedQueue);
  t.is(parked.length, w.source.counters.parked, 'each parked once');
  for (const headers of parked) {
    t.true(String(headers['x-error']).length > 0, 'a parked message says why');
    t.true(String(headers['x-error']).length <= 4000);
  }
});
