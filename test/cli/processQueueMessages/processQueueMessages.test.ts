import anyTest, { type TestFn } from 'ava';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pulseNames, type PulseNames } from '../../../streams/pulse/connection/names.js';
import { documentId } from '../../../src/rules/ping.js';
import { Admin, createPulseUser, type PulseUser } from '../../support/broker.js';
import { runCommand, startConsumingWorker } from '../../support/cli.js';
import { startFixtures, type Fixtures } from '../../support/standIns/fixtureServer.js';
import { changegroupMessage } from '../../support/data/messages.js';
import { syntheticFixtures } from '../../support/data/syntheticFixtures.js';
import { until } from '../../support/wait.js';
import { readable } from '../readable.js';

interface Context {
  fx: Fixtures;
  slowFx: Fixtures;
  synthetic: ReturnType<typeof syntheticFixtures>;
  user: PulseUser;
  admin: Admin;
  created: PulseNames[];
}
const test = anyTest as TestFn<Context>;
const REPO = 'integration/autoland';

test.before(async (t) => {
  t.context.synthetic = syntheticFixtures({ pushes: 30 });
  t.context.fx = await startFixtures({ data: t.context.synthetic });
  t.context.slowFx = await startFixtures({ data: t.context.synthetic, latencyMs: 250 });
  t.context.user = await createPulseUser();
  t.context.admin = await Admin.connect();
  t.context.created = [];
});

test.after.always(async (t) => {
  await t.context.admin.removeWorkerObjects(...t.context.created);
  await t.context.admin.close();
  await t.context.user.remove();
  await t.context.fx.close();
  await t.context.slowFx.close();
});

/** A fresh queue and routing key for one test, the environment to use it, and a publisher. */
const setup = (t: { context: Context }, name: string, fx: Fixtures = t.context.fx) => {
  const queueName = `${name}-${randomBytes(3).toString('hex')}`;
  const routingKey = `test/${queueName}`;
  const names = pulseNames(t.context.user.username, queueName);
  t.context.created.push(names);
  const env = { ...t.context.user.env(queueName, routingKey), ...fx.env };
  const publishPushes = async (ids: number[]) => {
    for (const id of ids) {
      await t.context.admin.publish(routingKey, changegroupMessage(fx.repo(REPO), id));
    }
  };
  return { names, env, routingKey, publishPushes };
};

const logLines = (stderr: string) =>
  stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

test('names every missing or bad setting and exits 2 before connecting', async (t) => {
  const result = await runCommand('processQueueMessages', [], {
    PULSE_USERNAME: 'someone',
    PULSE_PORT: 'ninety',
    HTTP_CONCURRENCY: '0',
  });
  t.is(result.code, 2);
  t.is(result.stdout, '');
  for (const variable of [
    'PULSE_PASSWORD',
    'PULSE_QUEUE_NAME',
    'PULSE_QUEUE_ROUTING_KEY',
    'PULSE_PORT',
    'HTTP_CONCURRENCY',
  ]) {
    t.true(result.stderr.includes(`${variable}: expected`), variable);
  }
  t.false(result.stderr.includes('PULSE_USERNAME:'));
});

test('rejects bad options with a usage error', async (t) => {
  const result = await runCommand('processQueueMessages', ['--prefetch', 'many']);
  t.is(result.code, 2);
  t.regex(result.stderr, /--prefetch is an integer from 1 to 10000/);
  // Past a Node timer's longest wait, the idle timer fired at once, again and again.
  const tooLong = await runCommand('processQueueMessages', ['--timeout', '99999999']);
  t.is(tooLong.code, 2);
  t.regex(tooLong.stderr, /--timeout is an integer from 1 to 2147483/);
});

test('--help names the settings of both forges the worker reads, the GitHub binding included', async (t) => {
  const result = await runCommand('processQueueMessages', ['--help']);
  t.is(result.code, 0, result.stderr);
  for (const setting of [
    'PULSE_EXCHANGE',
    'PULSE_QUEUE_ROUTING_KEY',
    'GITHUB_PUSH_EXCHANGE',
    'GITHUB_PUSH_ROUTING_KEY',
    'GITHUB_BRANCHES',
    'GITHUB_TOKEN',
  ]) {
    t.regex(result.stdout, new RegExp(`^  ${setting} `, 'm'), setting);
  }
});

test('--no-send prints every ping, sends nothing and leaves every message in the queue', async (t) => {
  const { env, names, publishPushes } = setup(t, 'nosend');
  const worker = await startConsumingWorker(['--no-send', '--timeout', '3'], env);
  await publishPushes([1, 2, 3]);
  const result = await worker.finished;
  t.is(result.code, 0);
  const pings = result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { changesetID: string; repository: string });
  t.deepEqual(
    pings.map((p) => p.changesetID).sort(),
    [1, 2, 3].flatMap((id) => t.context.synthetic.nodes(id)).sort(),
  );
  const sent = [...t.context.fx.tmo.received.keys()];
  t.false(
    pings.some((p) => sent.some((path) => path.endsWith(documentId(p.repository, p.changesetID)))),
  );
  t.is(await t.context.admin.depth(names.queue), 3);
});

test('--timeout: sends every ping, acks every message, logs one line per message, exits 0 when idle', async (t) => {
  const { env, names, publishPushes } = setup(t, 'timeout');
  const worker = await startConsumingWorker(['--timeout', '3'], env);
  await publishPushes([4, 5]);
  const result = await worker.finished;
  t.is(result.code, 0);
  t.is(result.stdout, '');
  for (const node of [4, 5].flatMap((id) => t.context.synthetic.nodes(id))) {
    t.true(
      [...t.context.fx.tmo.received.keys()].some((path) =>
        path.endsWith(documentId(t.context.fx.repo(REPO), node)),
      ),
      node,
    );
  }
  t.is(await t.context.admin.depth(names.queue), 0);
  const outcomes = logLines(result.stderr).filter((line) => line.action !== undefined);
  t.deepEqual(outcomes.map((line) => [line.push, line.action, line.changesets]).sort(), [
    [4, 'ack', 3],
    [5, 'ack', 3],
  ]);
});

test('SIGTERM lets messages in flight finish, loses none, and exits 0', async (t) => {
  const { env, names, publishPushes } = setup(t, 'sigterm', t.context.slowFx);
  const worker = await startConsumingWorker(['--prefetch', '2'], env);
  await publishPushes([6, 7, 8, 9, 10, 11]);
  await until('a message in flight', () =>
    t.context.slowFx.hg.requests.some((r) => r.includes('startID=5&endID=6')),
  );
  worker.child.kill('SIGTERM');
  const result = await worker.finished;
  t.is(result.code, 0);
  const acked = logLines(result.stderr).filter((line) => line.action === 'ack');
  t.true(acked.length >= 1);
  t.is(acked.length + (await t.context.admin.depth(names.queue)), 6);
  for (const line of acked) {
    for (const node of t.context.synthetic.nodes(line.push as number)) {
      t.true(
        [...t.context.slowFx.tmo.received.keys()].some((path) =>
          path.endsWith(documentId(t.context.slowFx.repo(REPO), node)),
        ),
      );
    }
  }
});

test('never logs the Pulse password nor GITHUB_TOKEN, even with --debug', async (t) => {
  const { env, publishPushes } = setup(t, 'secret');
  const token = 'ghp_w0rker_t0ken_never_logged';
  const worker = await startConsumingWorker(['--debug', '--timeout', '3'], {
    ...env,
    GITHUB_TOKEN: token,
  });
  await publishPushes([12]);
  const result = await worker.finished;
  t.is(result.code, 0);
  t.true(result.stderr.includes('GET '));
  t.false(result.stderr.includes(t.context.user.password));
  t.false(result.stderr.includes(token));
});

test('--replay-failed runs parked messages again, removes those that succeed and exits', async (t) => {
  const { env, names, routingKey, publishPushes } = setup(t, 'replaycli');
  t.context.fx.fail({ match: /startID=12&endID=13/, status: 404, times: 1 });
  const worker = await startConsumingWorker(['--timeout', '3'], env);
  await publishPushes([13]);
  await t.context.admin.publish(routingKey, '{"payload": "broken"}');
  t.is((await worker.finished).code, 0);
  t.is(await t.context.admin.depth(names.failedQueue), 2);

  const replay = await runCommand('processQueueMessages', ['--replay-failed'], env);
  t.is(replay.code, 1, 'one message was parked again');
  t.deepEqual(
    logLines(replay.stderr)
      .filter((line) => line.action !== undefined)
      .map((line) => line.action)
      .sort(),
    ['ack', 'park'],
  );
  const left = await t.context.admin.drain(names.failedQueue);
  t.deepEqual(
    left.map((m) => m.content.toString()),
    ['{"payload": "broken"}'],
  );
});

test('serves metrics and a health check when METRICS_PORT is set', async (t) => {
  const { env, publishPushes } = setup(t, 'metrics');
  const port = 20000 + Math.floor(Math.random() * 20000);
  const worker = await startConsumingWorker([], { ...env, METRICS_PORT: String(port) });
  try {
    await publishPushes([14]);
    await until('the push acked', () => worker.stderr().includes('"action":"ack"'));
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    t.is(health.status, 200);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    t.regex(metrics, /commit_telemetry_messages_total\{event="acked"\} 1/);
    t.regex(metrics, /commit_telemetry_pings_total\{review_system="\w+",outcome="sent"\} \d/);
    // What an alert needs: the parked backlog, a last ack that moves, what runs.
    t.regex(metrics, /^commit_telemetry_parked_queue_depth 0$/m);
    const lastAck = Number(
      /^commit_telemetry_last_ack_timestamp_seconds (\S+)$/m.exec(metrics)?.[1],
    );
    t.true(Math.abs(lastAck - Date.now() / 1000) < 60, `last ack ${lastAck}`);
    t.regex(
      metrics,
      /^commit_telemetry_build_info\{version="\d+\.\d+\.\d+",node="v20\.[\d.]+"\} 1$/m,
    );
  } finally {
    worker.child.kill('SIGTERM');
    t.is((await worker.finished).code, 0);
  }
});

test('exits 1 with the broker’s reason when the queue cannot be set up', async (t) => {
  const { env } = setup(t, 'badexchange');
  const result = await runCommand('processQueueMessages', ['--timeout', '3'], {
    ...env,
    PULSE_EXCHANGE: 'exchange/does-not-exist/v0',
  });
  t.is(result.code, 1);
  t.regex(
    readable(result.stderr),
    /cannot connect to Pulse at 127\.0\.0\.1:5672 or set up queue\/.*: .*NOT_FOUND - no exchange 'exchange\/does-not-exist\/v0'.*; check PULSE_EXCHANGE$/m,
  );
  t.false(result.stderr.includes(t.context.user.password));
});

test('--no-send does not read the telemetry settings', async (t) => {
  const { env } = setup(t, 'nosendsettings');
  const result = await runCommand('processQueueMessages', ['--no-send', '--timeout', '1'], {
    ...env,
    TMO_BASE_URL: 'not a url',
  });
  t.is(result.code, 0, result.stderr);
});

test('a METRICS_PORT in use: exit 1 naming the setting, before any message is taken', async (t) => {
  const { env, names, publishPushes } = setup(t, 'portinuse');
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, resolve));
  t.teardown(() => taken.close());
  const port = (taken.address() as AddressInfo).port;
  await publishPushes([15]);
  const result = await runCommand('processQueueMessages', ['--timeout', '3'], {
    ...env,
    METRICS_PORT: String(port),
  });
  t.is(result.code, 1);
  t.regex(result.stderr, new RegExp(`cannot serve metrics on port ${port} \\(METRICS_PORT\\)`));
  t.regex(result.stderr, /set METRICS_PORT to a free port/);
  t.false(await t.context.admin.queueExists(names.queue));
});
