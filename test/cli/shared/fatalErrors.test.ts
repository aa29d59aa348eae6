/**
 * Fatal errors of the built commands, stderr piped: every line is JSON (the fatal one and
 * the command-line parser's included), and a fatal line names the setting to check and the
 * underlying cause. Against the local RabbitMQ: a wrong Pulse password (the broker's 403, at
 * once rather than after the connect timeout), TLS spoken to a plain port (the real cause,
 * `wrong version number`), a port nobody listens on (ECONNREFUSED).
 */
import anyTest, { type TestFn } from 'ava';
import { randomBytes } from 'node:crypto';
import { configureLog } from '../../../src/log.js';
import { createPulseUser, type PulseUser } from '../../support/broker.js';
import { runCommand } from '../../support/cli.js';

configureLog({ level: 'silent' });

const test = anyTest as TestFn<{ user: PulseUser }>;

test.before(async (t) => {
  t.context.user = await createPulseUser();
});
test.after.always(async (t) => {
  await t.context.user?.remove();
});

type Line = Record<string, unknown>;

/** Every line of stderr parsed as JSON; a line that is not fails the test. */
const linesOf = (stderr: string): Line[] =>
  stderr
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Line);

const fatalOf = (stderr: string): Line | undefined =>
  linesOf(stderr).find((line) => line.level === 'error' && typeof line.command === 'string');

const worker = (t: { context: { user: PulseUser } }, env: Record<string, string>) =>
  runCommand('processQueueMessages', [], {
    ...t.context.user.env(`fatal-${randomBytes(3).toString('hex')}`, 'test/fatal'),
    ...env,
  });

test('a wrong Pulse password: exit 1 at once, the broker 403 and PULSE_USERNAME, PULSE_PASSWORD', async (t) => {
  const done = await worker(t, { PULSE_PASSWORD: 'not-the-password' });
  t.is(done.code, 1, done.stderr);
  const fatal = fatalOf(done.stderr);
  t.is(fatal?.command, 'process-queue-messages');
  t.regex(String(fatal?.msg), /403 \(ACCESS-REFUSED\).*; check PULSE_USERNAME, PULSE_PASSWORD$/);
  t.notRegex(String(fatal?.msg), /no connection within/);
  const told = linesOf(done.stderr).filter((line) => JSON.stringify(line).includes('403'));
  t.is(told.length, 1, 'the refusal is said once, in the fatal line');
  t.false(done.stderr.includes('not-the-password'), 'the password is not printed');
});

test('TLS to a plain port: the fatal line keeps the cause (wrong version number) and names PULSE_SSL', async (t) => {
  const done = await worker(t, { PULSE_SSL: 'true' });
  t.is(done.code, 1, done.stderr);
  t.regex(
    String(fatalOf(done.stderr)?.msg),
    /no connection within \d+ s; last attempt: .*wrong version number.*; check PULSE_HOST, PULSE_PORT, PULSE_SSL$/,
  );
});

test('a port nobody listens on: the fatal line keeps ECONNREFUSED; each retry warning once', async (t) => {
  const done = await worker(t, { PULSE_PORT: '1' });
  t.is(done.code, 1, done.stderr);
  const lines = linesOf(done.stderr);
  t.regex(
    String(fatalOf(done.stderr)?.msg),
    /last attempt: connect ECONNREFUSED 127\.0\.0\.1:1; check PULSE_HOST, PULSE_PORT, PULSE_SSL$/,
  );
  const retries = lines.filter((line) => line.msg === 'cannot connect to Pulse; retrying');
  t.true(retries.length > 0);
  const times = retries.map((line) => line.time);
  t.is(new Set(times).size, times.length, 'no retry warning logged twice');
});

test("the command-line parser's errors are JSON lines like ours, exit 2", async (t) => {
  const done = await runCommand('backfillPushlog', ['--bogus']);
  t.is(done.code, 2);
  t.deepEqual(
    linesOf(done.stderr).map(({ level, msg, command }) => ({ level, msg, command })),
    [
      {
        level: 'error',
        msg: "unknown option '--bogus' (run with --help for usage)",
        command: 'backfill-pushlog',
      },
    ],
  );
});
