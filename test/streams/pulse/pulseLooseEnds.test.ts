/**
 * Two loose ends of the Pulse source, against the real broker with a user limited the way
 * Pulse limits users (fresh queue names each, removed after): a delayed retry that expires
 * while the main queue is gone is parked, not dropped; and the idle time the worker's
 * --timeout reads stands still while consuming is paused for an outage.
 */
import anyTest, { type TestFn } from 'ava';
import amqplib from 'amqplib';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClients } from '../../../src/clients/index.js';
import { PulseSettings, UpstreamSettings } from '../../../src/codecs/settings.js';
import { readSettings } from '../../../src/config.js';
import { configureLog } from '../../../src/log.js';
import { dryRun } from '../../../src/pipeline/ledger.js';
import { MemorySink } from '../../../src/sinks/memory.js';
import { WorkerMetrics } from '../../../src/worker/metrics.js';
import { Worker } from '../../../src/worker/worker.js';
import type { PulseNames } from '../../../streams/pulse/connection/names.js';
import { MAIN_QUEUE_GONE, summarizeParked } from '../../../streams/pulse/parked/parkedMessage.js';
import { PulseSource } from '../../../streams/pulse/source.js';
import { Admin, BROKER, createPulseUser, type PulseUser } from '../../support/broker.js';
import { startFixtures, type Fixtures } from '../../support/standIns/fixtureServer.js';
import { syntheticFixtures } from '../../support/data/syntheticFixtures.js';
import { until } from '../../support/wait.js';

configureLog({ level: process.env.TEST_LOG === '1' ? 'debug' : 'silent' });

interface Context {
  user: PulseUser;
  admin: Admin;
  raw: amqplib.ChannelModel;
  created: PulseNames[];
  fx: Fixtures;
}
const test = anyTest as TestFn<Context>;
const DELAY_MS = 200;

test.before(async (t) => {
  t.context.user = await createPulseUser();
  t.context.admin = await Admin.connect();
  t.context.raw = await amqplib.connect(`amqp://guest:guest@${BROKER.host}:${BROKER.port}`);
  t.context.created = [];
  t.context.fx = await startFixtures({ data: syntheticFixtures({ pushes: 1 }) });
});

test.after.always(async (t) => {
  await t.context.admin.removeWorkerObjects(...t.context.created);
  await t.context.raw.close();
  await t.context.admin.close();
  await t.context.user.remove();
  await t.context.fx.close();
});

const envOf = (t: { context: Context }, name: string) => ({
  ...t.context.user.env(`${name}-${randomBytes(3).toString('hex')}`),
  ...t.context.fx.env,
});

const newSource = (t: { context: Context }, name: string, env = envOf(t, name)) => {
  const decoded = readSettings(PulseSettings, env);
  if (!decoded.ok) throw decoded.error;
  const source = new PulseSource({
    settings: decoded.value,
    allowedHosts: ['127.0.0.1'],
    prefetch: 8,
    reconnectSeconds: 0.2,
    retryDelaysMs: [DELAY_MS],
  });
  t.context.created.push(source.names);
  return source;
};

/** A retry as settler.ts sends one: to the delay exchange, its step as routing key. */
const publishRetry = async (t: { context: Context }, names: PulseNames) => {
  const channel = await t.context.raw.createConfirmChannel();
  channel.publish(names.delayExchange, names.retrySteps[0]!.name, Buffer.from('{}'), {
    persistent: true,
    headers: { 'x-attempt': 1, 'x-error': 'telemetry answered 503' },
  });
  await channel.waitForConfirms();
  await channel.close();
};

/** Deletes the main queue, as Pulse does with one that grows too long. */
const deleteMainQueue = async (t: { context: Context }, names: PulseNames) => {
  const channel = await t.context.raw.createChannel();
  await channel.deleteQueue(names.queue);
  await channel.close();
};

const parkedReasons = async (t: { context: Context }, names: PulseNames) =>
  (await t.context.admin.drain(names.failedQueue)).map(
    (message) =>
      summarizeParked({
        content: message.content,
        headers: (message.properties.headers ?? {}) as Record<string, unknown>,
      }).reason,
  );

test('a retry whose main queue is gone when its delay is over is parked, not dropped', async (t) => {
  const source = newSource(t, 'gone');
  await source.ready();
  await source.stop(0);
  const { names } = source;
  await deleteMainQueue(t, names);
  await publishRetry(t, names);
  await until(
    'the retry is parked',
    async () => (await t.context.admin.depth(names.failedQueue)) > 0,
  );
  t.deepEqual(await parkedReasons(t, names), [MAIN_QUEUE_GONE]);
});

test('a retry exchange declared by an earlier version gets its alternate; retries still come back', async (t) => {
  const source = newSource(t, 'upgrade');
  const { names } = source;
  const channel = await t.context.raw.createChannel();
  // As the version before declared it: no alternate exchange.
  await channel.assertExchange(names.retryExchange, 'fanout', { durable: true, autoDelete: false });
  await channel.close();
  await source.ready();
  await source.stop(0);
  // With the main queue there, a retry comes back to it.
  await publishRetry(t, names);
  await until('the retry is back', async () => (await t.context.admin.depth(names.queue)) > 0);
  t.is((await t.context.admin.drain(names.queue)).length, 1);
  // Without it, the retry is parked.
  await deleteMainQueue(t, names);
  await publishRetry(t, names);
  await until(
    'the retry is parked',
    async () => (await t.context.admin.depth(names.failedQueue)) > 0,
  );
  t.deepEqual(await parkedReasons(t, names), [MAIN_QUEUE_GONE]);
});

test('idle time for --timeout stands still while paused for an outage, and goes on after', async (t) => {
  const source = newSource(t, 'idle');
  await source.ready();
  const subscription = source.jobs.subscribe();
  t.teardown(async () => {
    subscription.unsubscribe();
    await source.stop(0);
  });
  const idle = () => Date.now() - source.lastDeliveryAt;
  await sleep(100);
  await source.pause();
  const atPause = idle();
  t.true(atPause >= 100);
  await sleep(400);
  // Not a speed bound: both readings take the time the pause began, whatever the machine.
  t.true(Math.abs(idle() - atPause) <= 20, `idle ${idle()} ms, ${atPause} ms at the pause`);
  await source.resume();
  await sleep(300);
  // A timer may fire a millisecond early, and both clocks count whole milliseconds.
  t.true(idle() >= atPause + 290, `idle ${idle()} ms, ${atPause} ms at the pause`);
});

test('the worker with --timeout does not stop while paused for an outage, only once idle after it', async (t) => {
  const env = envOf(t, 'timeout');
  const upstream = readSettings(UpstreamSettings, env);
  if (!upstream.ok) throw upstream.error;
  const source = newSource(t, 'timeout', env);
  const deps = { ...createClients(upstream.value), sink: new MemorySink(), ...dryRun };
  const worker = new Worker({
    source,
    deps,
    metrics: new WorkerMetrics(),
    // Long enough that even a loaded machine pauses before it passes (the test checks that
    // the pause, not the start, holds the worker), short of the time paused below.
    idleTimeoutMs: 2_000,
    graceMs: 1_000,
  });
  let stopped: string | undefined;
  void worker.stopped.then((stop) => (stopped = stop.reason));
  t.teardown(() => worker.stop('test over'));
  await worker.start();
  // A host goes down: consuming pauses for longer than the idle timeout.
  const breaker = deps.health!.breaker('down.example:443');
  breaker.trip(new Error('connection refused'));
  await until('paused', () => source.paused);
  await sleep(3_000);
  t.is(stopped, undefined);
  breaker.close();
  await until('consuming again', () => !source.paused);
  t.regex((await worker.stopped).reason, /no message for 2 s/);
});
