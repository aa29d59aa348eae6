/**
 * The parked count is read from the parked queue, not remembered: telemetry-status (with the
 * Pulse settings) and the worker's commit_telemetry_parked_queue_depth say the same, from
 * the worker's start on, and follow the queue within seconds.
 */
import anyTest, { type TestFn } from 'ava';
import amqplib from 'amqplib';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StatusDocument } from '../../../src/cli/telemetryStatus/statusReport.js';
import { openStore } from '../../../src/state/index.js';
import { pulseNames } from '../../../streams/pulse/connection/names.js';
import {
  Admin,
  BROKER,
  createPulseUser,
  type PulseUser,
  removeTestBroker,
} from '../../support/broker.js';
import { runCommand, startConsumingWorker } from '../../support/cli.js';
import { until } from '../../support/wait.js';

interface Context {
  user: PulseUser;
  admin: Admin;
  amqp: amqplib.ChannelModel;
  channel: amqplib.ConfirmChannel;
  dir: string;
}
const test = anyTest as TestFn<Context>;

test.before(async (t) => {
  t.context.user = await createPulseUser();
  t.context.admin = await Admin.connect();
  t.context.amqp = await amqplib.connect(`amqp://guest:guest@${BROKER.host}:${BROKER.port}`);
  t.context.channel = await t.context.amqp.createConfirmChannel();
  t.context.dir = mkdtempSync(join(tmpdir(), 'cts-parked-count-'));
});

test.after.always(async (t) => {
  await t.context.amqp.close();
  await removeTestBroker(t.context.admin, t.context.user);
  rmSync(t.context.dir, { recursive: true, force: true });
});

/** A queue name of the test's own, its parked queue, and a migrated store of its own. */
const setup = async (t: { context: Context }, name: string) => {
  const queueName = `${name}-${randomBytes(3).toString('hex')}`;
  const { failedQueue } = pulseNames(t.context.user.username, queueName);
  const url = `sqlite:${join(t.context.dir, `${queueName}.sqlite`)}`;
  await (await openStore(url)).close();
  return { failedQueue, env: { ...t.context.user.env(queueName), DATABASE_URL: url } };
};

/** Parks `count` messages as the worker's park() does (durable queue, persistent messages). */
const park = async (t: { context: Context }, queue: string, count: number) => {
  const { channel } = t.context;
  await channel.assertQueue(queue, { durable: true, exclusive: false, autoDelete: false });
  for (let i = 0; i < count; i += 1) {
    channel.sendToQueue(queue, Buffer.from('{"payload": "broken"}'), {
      persistent: true,
      headers: { 'x-park-reason': 'undecodable', 'x-error': 'test' },
    });
  }
  await channel.waitForConfirms();
};

/** A port nothing listens on now: the system's pick, let go. */
const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

const statusOf = async (env: Record<string, string>) => {
  const result = await runCommand('telemetryStatus', ['--json'], env);
  if (result.code !== 0)
    throw new Error(`telemetry-status exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as StatusDocument;
};

test('telemetry-status reads the parked queue with the Pulse settings; unknown without them', async (t) => {
  const { failedQueue, env } = await setup(t, 'status');
  await park(t, failedQueue, 3);
  t.deepEqual((await statusOf(env)).parkedMessages, { queue: failedQueue, count: 3 });

  const table = await runCommand('telemetryStatus', [], env);
  t.regex(
    table.stdout,
    new RegExp(`^parked messages +3 in ${failedQueue.replace(/\./g, '\\.')}`, 'm'),
  );

  const { DATABASE_URL } = env;
  const without = await statusOf({ DATABASE_URL });
  t.is(without.parkedMessages.count, null);
  t.regex((without.parkedMessages as { why: string }).why, /^unknown: PULSE_USERNAME/);

  // Asked and not answered: said in its place, the rest of the status is printed all the same.
  const unreachable = await statusOf({ ...env, PULSE_PORT: '1' });
  t.is(unreachable.parkedMessages.count, null);
  t.regex(
    (unreachable.parkedMessages as { why: string }).why,
    /^cannot read it at 127\.0\.0\.1:1: .*ECONNREFUSED.*; check PULSE_HOST, PULSE_PORT, PULSE_SSL$/,
  );
});

test('the metric reads the parked queue from the start and agrees with telemetry-status within seconds', async (t) => {
  const { failedQueue, env } = await setup(t, 'metric');
  await park(t, failedQueue, 3);
  const port = await freePort();
  // The default depth check (every 60 s): agreeing must not wait for it.
  const worker = await startConsumingWorker(['--no-send'], { ...env, METRICS_PORT: String(port) });
  const parkedMetric = async () => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return Number(/^commit_telemetry_parked_queue_depth (\S+)$/m.exec(text)?.[1]);
  };
  try {
    await until('the metric to read 3 at start', async () => (await parkedMetric()) === 3, 5_000);
    t.is((await statusOf(env)).parkedMessages.count, 3);

    // The queue changes behind the worker's back (another worker parks, an operator drops).
    await park(t, failedQueue, 2);
    t.is((await statusOf(env)).parkedMessages.count, 5);
    await until('the metric to follow the queue', async () => (await parkedMetric()) === 5, 5_000);
    await t.context.admin.drain(failedQueue);
    await until('the metric to see it emptied', async () => (await parkedMetric()) === 0, 5_000);
    t.is((await statusOf(env)).parkedMessages.count, 0);
  } finally {
    worker.child.kill('SIGTERM');
    t.is((await worker.finished).code, 0);
  }
});
