/**
 * The real worker (the built command) pushing its metrics to a stand-in Pushgateway on
 * loopback, with a Pulse user and exchange of this run's own; everything is removed after.
 */
import anyTest, { type TestFn } from 'ava';
import { randomBytes } from 'node:crypto';
import { pulseNames } from '../../../streams/pulse/connection/names.js';
import { Admin, createPulseUser, type PulseUser, removeTestBroker } from '../../support/broker.js';
import { runCommand, startConsumingWorker } from '../../support/cli.js';
import { startFixtures, type Fixtures } from '../../support/standIns/fixtureServer.js';
import { changegroupMessage } from '../../support/data/messages.js';
import { closedPort, startGateway, type Gateway } from '../../support/standIns/pushgateway.js';
import { syntheticFixtures } from '../../support/data/syntheticFixtures.js';

interface Context {
  fx: Fixtures;
  user: PulseUser;
  admin: Admin;
  gateway: Gateway;
}
const test = anyTest as TestFn<Context>;
const REPO = 'integration/autoland';
const GROUP = '/metrics/job/commit-telemetry/instance/queueworker.7';

test.before(async (t) => {
  t.context.fx = await startFixtures({ data: syntheticFixtures({ pushes: 3 }) });
  t.context.user = await createPulseUser();
  t.context.admin = await Admin.connect();
  t.context.gateway = await startGateway();
});

test.after.always(async (t) => {
  // Every queue and exchange the workers declared (main, failed, delay queues).
  await removeTestBroker(t.context.admin, t.context.user);
  await t.context.fx.close();
  await t.context.gateway.close();
});

/** The environment of a worker on a fresh queue, and a publisher of pushes to it. */
const setup = (t: { context: Context }, name: string) => {
  const queueName = `${name}-${randomBytes(3).toString('hex')}`;
  const routingKey = `test/${queueName}`;
  const env = {
    ...t.context.user.env(queueName, routingKey),
    ...t.context.fx.env,
    DYNO: 'queueworker.7',
    PROMETHEUS_PUSH_SECONDS: '1',
  };
  const publish = (id: number) =>
    t.context.admin.publish(routingKey, changegroupMessage(t.context.fx.repo(REPO), id));
  return { env, names: pulseNames(t.context.user.username, queueName), publish };
};

test.serial(
  'the worker pushes its metrics by PUT every interval and deletes them at stop',
  async (t) => {
    const { gateway } = t.context;
    const { env, publish } = setup(t, 'push');
    // Credentials in the URL are basic auth; they must never reach the log.
    const url = gateway.url.replace('//', '//pusher:hunter2-secret@');
    const worker = await startConsumingWorker(['--timeout', '4'], {
      ...env,
      PROMETHEUS_PUSHGATEWAY_URL: url,
    });
    await publish(1);
    const result = await worker.finished;
    t.is(result.code, 0, result.stderr);
    const requests = gateway.requests.splice(0);
    t.true(requests.length >= 3, `${requests.length} requests`);
    t.true(requests.every((r) => r.path === GROUP));
    t.true(requests.slice(0, -1).every((r) => r.method === 'PUT'));
    t.is(requests.at(-1)!.method, 'DELETE', 'the group is deleted at stop, last');
    const auth = `Basic ${Buffer.from('pusher:hunter2-secret').toString('base64')}`;
    t.true(requests.every((r) => r.headers.authorization === auth));
    // A push after the ack carries it, in Prometheus' text format.
    const last = requests.at(-2)!.body;
    t.regex(last, /^commit_telemetry_messages_total\{event="acked"\} 1$/m);
    t.regex(last, /^commit_telemetry_pings_total\{review_system="\w+",outcome="sent"\} \d+$/m);
    t.regex(last, /^commit_telemetry_build_info\{version="[^"]+",node="v[\d.]+"\} 1$/m);
    t.regex(result.stderr, /pushing metrics to the Pushgateway/);
    t.regex(result.stderr, /deleted this worker's metrics from the Pushgateway/);
    t.true(result.stderr.includes(`//***@127.0.0.1`));
    t.false(result.stderr.includes('hunter2-secret'));
  },
);

test.serial(
  'an unreachable Pushgateway is a warning: the worker goes on and exits 0',
  async (t) => {
    const { env, publish } = setup(t, 'unreachable');
    const url = `http://127.0.0.1:${await closedPort()}`;
    const worker = await startConsumingWorker(['--timeout', '3'], {
      ...env,
      PROMETHEUS_PUSHGATEWAY_URL: url,
    });
    await publish(2);
    const result = await worker.finished;
    t.is(result.code, 0, result.stderr);
    t.regex(result.stderr, /"action":"ack"/, 'the message was processed all the same');
    const lines = result.stderr.split('\n');
    const failed = lines.filter((line) => line.includes('could not push metrics'));
    // Pushes went on failing each second; only the first of a run of failures is a warning.
    t.is(failed.length, 1);
    t.regex(failed[0]!, /"level":"warn".*ECONNREFUSED/);
    t.regex(result.stderr, /could not delete this worker's metrics from the Pushgateway/);
  },
);

test('a bad PROMETHEUS_PUSHGATEWAY_URL exits 2 naming it, credentials masked', async (t) => {
  const { env } = setup(t, 'badurl');
  const result = await runCommand('processQueueMessages', ['--timeout', '1'], {
    ...env,
    PROMETHEUS_PUSHGATEWAY_URL: 'ftp://pusher:hunter2-secret@gw.example',
    PROMETHEUS_PUSH_SECONDS: '0',
  });
  t.is(result.code, 2);
  t.regex(result.stderr, /PROMETHEUS_PUSHGATEWAY_URL: expected an http\(s\) URL/);
  t.regex(result.stderr, /PROMETHEUS_PUSH_SECONDS: expected an integer from 1 to 3600/);
  t.false(result.stderr.includes('hunter2-secret'));
});
