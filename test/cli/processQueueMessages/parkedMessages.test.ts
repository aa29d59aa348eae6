import anyTest, { type TestFn } from 'ava';
import amqplib from 'amqplib';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { pulseNames } from '../../../streams/pulse/connection/names.js';
import {
  Admin,
  BROKER,
  createPulseUser,
  queueCounts,
  type PulseUser,
  removeTestBroker,
} from '../../support/broker.js';
import { commandPath, runCommand, startConsumingWorker, type Finished } from '../../support/cli.js';
import { startFixtures, type Fixtures } from '../../support/standIns/fixtureServer.js';
import { changegroupMessage } from '../../support/data/messages.js';
import { syntheticFixtures } from '../../support/data/syntheticFixtures.js';
import { until } from '../../support/wait.js';
import { readable } from '../readable.js';

interface Context {
  fx: Fixtures;
  user: PulseUser;
  admin: Admin;
  /** The tests' own connection, to park messages as the worker's park() does. */
  amqp: amqplib.ChannelModel;
  channel: amqplib.ConfirmChannel;
}
const test = anyTest as TestFn<Context>;
const REPO = 'integration/autoland';
const BROKEN = '{"payload": "broken"}';

test.before(async (t) => {
  t.context.fx = await startFixtures({ data: syntheticFixtures({ pushes: 20 }) });
  t.context.user = await createPulseUser();
  t.context.admin = await Admin.connect();
  t.context.amqp = await amqplib.connect(`amqp://guest:guest@${BROKER.host}:${BROKER.port}`);
  t.context.channel = await t.context.amqp.createConfirmChannel();
});

// Leaves no trace: every queue and exchange of the test's user, then the user.
test.after.always(async (t) => {
  await t.context.amqp.close();
  await removeTestBroker(t.context.admin, t.context.user);
  await t.context.fx.close();
});

/** A fresh queue name for one test, and its environment (Pulse settings only). */
const setup = (t: { context: Context }, name: string) => {
  const queueName = `${name}-${randomBytes(3).toString('hex')}`;
  const names = pulseNames(t.context.user.username, queueName);
  return { names, queueName, env: t.context.user.env(queueName, `test/${queueName}`) };
};

interface Parking {
  readonly body: string;
  readonly reason: string;
  readonly error: string;
  readonly parkedAt: string;
}

/** Puts messages in the failed queue with the headers the worker's park() writes. */
const park = async (t: { context: Context }, queue: string, parkings: readonly Parking[]) => {
  const { channel } = t.context;
  await channel.assertQueue(queue, { durable: true, exclusive: false, autoDelete: false });
  for (const { body, reason, error, parkedAt } of parkings) {
    channel.sendToQueue(queue, Buffer.from(body), {
      persistent: true,
      headers: { 'x-error': error, 'x-park-reason': reason, 'x-parked-at': parkedAt },
    });
  }
  await channel.waitForConfirms();
};

const parking = (t: { context: Context }, pushId: number): Parking => ({
  body: changegroupMessage(t.context.fx.repo(REPO), pushId),
  reason: 'permanent',
  error: `push ${pushId}: 404\nsecond line`,
  parkedAt: `2024-05-${String(pushId).padStart(2, '0')}T12:00:00.000Z`,
});

/** What the broker holds: ready and unacked (an errand must leave nothing unacked). */
const counts = (queue: string) => queueCounts(queue);

/** A few commands at a time: each costs a second or two of CPU, dozens at once would crawl. */
const slots = pLimit(3);

const run = (args: string[], env: Record<string, string>, stdin?: string) =>
  slots(() => runCommand('processQueueMessages', args, env, stdin));

// --- Options --------------------------------------------------------------------------------

for (const args of [
  ['--list-failed', '--drop-failed'],
  ['--list-failed', '--replay-failed'],
  ['--drop-failed', '--replay-failed'],
  ['--list-failed', '--no-send'],
  ['--no-send', '--drop-failed'],
]) {
  test(`${args.join(' ')}: a usage error, exit 2`, async (t) => {
    const result = await run(args, {});
    t.is(result.code, 2, result.stderr);
    t.regex(result.stderr, /cannot be used with option/);
  });
}

test('--yes without --drop-failed: a usage error, exit 2', async (t) => {
  const result = await run(['--yes'], setup(t, 'yesalone').env);
  t.is(result.code, 2);
  t.regex(result.stderr, /--yes goes with --drop-failed only/);
});

test('--help describes the options and their exit status', async (t) => {
  const result = await run(['--help'], {});
  t.is(result.code, 0);
  for (const option of ['--list-failed', '--drop-failed', '-y, --yes', '--replay-failed']) {
    t.true(result.stdout.includes(option), option);
  }
  t.regex(result.stdout, /--drop-failed not confirmed/);
});

// --- --list-failed --------------------------------------------------------------------------

test('--list-failed lists what the worker parked, in order, and leaves every message', async (t) => {
  const { fx } = t.context;
  const { env, names } = setup(t, 'listreal');
  const routingKey = env.PULSE_QUEUE_ROUTING_KEY!;
  fx.fail({ match: /startID=6&endID=7/, status: 404, times: 1 });
  const worker = await startConsumingWorker(['--timeout', '2'], { ...env, ...fx.env });
  const before = Date.now();
  await t.context.admin.publish(routingKey, changegroupMessage(fx.repo(REPO), 7));
  await t.context.admin.publish(routingKey, BROKEN);
  t.is((await worker.finished).code, 0);
  t.is(await t.context.admin.depth(names.failedQueue), 2);

  const result = await run(['--list-failed'], env);
  t.is(result.code, 0, result.stderr);
  const rows = result.stdout
    .trimEnd()
    .split('\n')
    .map((line) => line.split('\t'));
  t.is(rows.length, 2, result.stdout);
  const byPush = new Map(rows.map((row) => [row[1], row]));
  const [parkedAt, , repository, reason, error] = byPush.get('7')!;
  t.true(Date.parse(parkedAt!) >= before - 1000 && Date.parse(parkedAt!) <= Date.now());
  t.is(repository, fx.repo(REPO));
  t.is(reason, 'permanent');
  t.regex(error!, /404/);
  const broken = byPush.get('?')!;
  t.deepEqual(broken.slice(2, 4), ['?', 'undecodable'], 'listed though it does not decode');
  t.regex(broken[4]!, /invalid/);
  t.regex(result.stderr, /"msg":"parked messages".*"count":2/);
  t.deepEqual(await counts(names.failedQueue), { ready: 2, unacked: 0 });
  // The same again: nothing was removed or reordered.
  const again = await run(['--list-failed'], env);
  t.is(again.stdout, result.stdout);
});

test('--list-failed reads only the Pulse settings: no store, no metrics, no telemetry', async (t) => {
  const { env, names } = setup(t, 'listonly');
  await park(t, names.failedQueue, [parking(t, 3)]);
  const result = await run(['--list-failed'], {
    ...env,
    TMO_BASE_URL: 'not a url',
    DATABASE_URL: 'postgres://nobody@127.0.0.1:1/nothing',
    HTTP_CONCURRENCY: '0',
    METRICS_PORT: 'none',
  });
  t.is(result.code, 0, result.stderr);
  t.is(result.stdout.split('\n')[0]!.split('\t')[1], '3');
  t.false(result.stderr.includes('"msg":"consuming"'));
});

test('--list-failed: no failed queue yet is no parked message, and creates none', async (t) => {
  const { env, names } = setup(t, 'listnone');
  const result = await run(['--list-failed'], env);
  t.is(result.code, 0, result.stderr);
  t.is(result.stdout, '');
  t.regex(result.stderr, /"msg":"parked messages".*"count":0/);
  t.false(await t.context.admin.queueExists(names.failedQueue));
});

test('--list-failed: a broker not there, exit 1 naming the settings', async (t) => {
  const { env } = setup(t, 'listdown');
  const result = await run(['--list-failed'], { ...env, PULSE_PORT: '1' });
  t.is(result.code, 1);
  t.regex(
    readable(result.stderr),
    /^process-queue-messages: cannot read queue\/\S+\.failed at 127\.0\.0\.1:1: .*ECONNREFUSED.*; check PULSE_HOST, PULSE_PORT, PULSE_SSL$/m,
  );
});

test('--list-failed: a refused login, exit 1 naming the credentials, no password shown', async (t) => {
  const { env } = setup(t, 'listlogin');
  const password = `wrong-${randomBytes(8).toString('hex')}`;
  const result = await run(['--list-failed', '--debug'], { ...env, PULSE_PASSWORD: password });
  t.is(result.code, 1);
  t.regex(readable(result.stderr), /ACCESS.REFUSED.*; check PULSE_USERNAME, PULSE_PASSWORD$/m);
  t.false(result.stderr.includes(password));
  t.false(result.stdout.includes(password));
});

test('--list-failed: a vhost the broker refuses, exit 1 naming PULSE_VHOST', async (t) => {
  const { env } = setup(t, 'listvhost');
  const result = await run(['--list-failed'], { ...env, PULSE_VHOST: '/does-not-exist' });
  t.is(result.code, 1);
  t.regex(readable(result.stderr), /; check PULSE_VHOST, PULSE_USERNAME$/m);
});

// --- --drop-failed --------------------------------------------------------------------------

test('--drop-failed off a terminal without --yes refuses, exit 2, and drops nothing', async (t) => {
  const { env, names } = setup(t, 'dropnotty');
  await park(t, names.failedQueue, [parking(t, 4)]);
  const result = await run(['--drop-failed'], env, 'y\n');
  t.is(result.code, 2);
  t.regex(result.stderr, /stdin is not a terminal: pass --yes to proceed without a prompt/);
  t.is(await t.context.admin.depth(names.failedQueue), 1);
});

test('--drop-failed --yes lists what it drops on stdout and drops them, exit 0', async (t) => {
  const { env, names } = setup(t, 'dropyes');
  await park(t, names.failedQueue, [parking(t, 5), parking(t, 6)]);
  const result = await run(['--drop-failed', '--yes'], env);
  t.is(result.code, 0, result.stderr);
  t.deepEqual(
    result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => line.split('\t')[1]),
    ['5', '6'],
  );
  t.regex(result.stderr, /"msg":"dropped".*"dropped":2/);
  t.deepEqual(await counts(names.failedQueue), { ready: 0, unacked: 0 });
});

test('--drop-failed --yes with nothing parked: nothing to do, exit 0', async (t) => {
  const { env } = setup(t, 'dropnone');
  const result = await run(['--drop-failed', '--yes'], env);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stderr, /"msg":"nothing to drop"/);
});

// --- On a terminal, through a pseudo-terminal (util-linux `script`), as backfill's tests do ---

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const ptyTest = hasScript ? test : test.skip;
const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

/** Runs the command on a pty; `type` is called with a function that types on its terminal. */
const onTerminal = (
  args: readonly string[],
  env: Record<string, string>,
  type: (typed: (text: string) => void, output: () => string) => Promise<void>,
): Promise<Finished> =>
  slots(() => {
    const cwd = mkdtempSync(join(tmpdir(), 'cts-parked-'));
    const command = [process.execPath, commandPath('processQueueMessages'), ...args];
    const child = spawn('script', ['-qec', command.map(quote).join(' '), '/dev/null'], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, SHELL: '/bin/sh' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const finished = new Promise<Finished>((resolve) =>
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        rmSync(cwd, { recursive: true, force: true });
        resolve({ code, signal, stdout: stdout.replace(/\r\n/g, '\n'), stderr });
      }),
    );
    void type(
      (text) => child.stdin.write(text),
      () => stdout,
    )
      .catch(() => undefined)
      .finally(() => child.stdin.end());
    return finished;
  });

ptyTest('on a terminal: --list-failed prints a table and a summary', async (t) => {
  const { env, names } = setup(t, 'listtty');
  await park(t, names.failedQueue, [
    parking(t, 7),
    { body: BROKEN, reason: 'undecodable', error: 'invalid', parkedAt: '2024-05-01T00:00:00Z' },
  ]);
  const result = await onTerminal(['--list-failed'], env, async () => {});
  t.is(result.code, 0, result.stdout);
  t.regex(result.stdout, /^# +PARKED AT +PUSH +REPOSITORY +REASON +ERROR$/m);
  t.regex(
    result.stdout,
    /^1 +2024-05-07T12:00:00Z \(\d+ d ago\) +7 +\S+autoland +permanent +push 7: 404; second line$/m,
  );
  t.regex(result.stdout, /^2 +2024-05-01T00:00:00Z \(\d+ d ago\) +\? +\? +undecodable +invalid$/m);
  t.true(result.stdout.includes(`2 parked messages in ${names.failedQueue}; none removed.`));
  t.is(await t.context.admin.depth(names.failedQueue), 2);
});

ptyTest('on a terminal: --drop-failed asks; n drops nothing, exit 1', async (t) => {
  const { env, names } = setup(t, 'dropno');
  await park(t, names.failedQueue, [parking(t, 8), parking(t, 1)]);
  const result = await onTerminal(['--drop-failed'], env, async (typed) => typed('n\n'));
  t.is(result.code, 1, result.stdout);
  t.true(result.stdout.includes(`2 parked messages in ${names.failedQueue} will be dropped`));
  t.true(result.stdout.includes('Drop them? [y/N]'), result.stdout);
  t.regex(result.stdout, /not confirmed; nothing dropped/);
  t.deepEqual(await counts(names.failedQueue), { ready: 2, unacked: 0 });
  // Still in their order.
  const listed = await run(['--list-failed'], env);
  t.deepEqual(
    listed.stdout
      .trimEnd()
      .split('\n')
      .map((line) => line.split('\t')[1]),
    ['8', '1'],
  );
});

ptyTest(
  'on a terminal: --drop-failed, y drops those counted, not one parked meanwhile',
  async (t) => {
    const { env, names } = setup(t, 'dropyesty');
    await park(t, names.failedQueue, [parking(t, 2), parking(t, 3)]);
    const result = await onTerminal(['--drop-failed'], env, async (typed, output) => {
      await until('the prompt', () => output().includes('Drop them? [y/N]'), 30_000);
      await park(t, names.failedQueue, [parking(t, 9)]);
      typed('y\n');
    });
    t.is(result.code, 0, result.stdout);
    t.regex(result.stdout, /^dropped 2 parked messages\.$/m);
    const left = await run(['--list-failed'], env);
    t.deepEqual(
      left.stdout
        .trimEnd()
        .split('\n')
        .map((line) => line.split('\t')[1]),
      ['9'],
    );
  },
);
