/**
 * A password in a URL-shaped setting is never printed, however the setting is wrong: an
 * unencoded `/`, `?`, `#` or `@` in it (so the value is not the URL it seems, or no URL at
 * all), a mistyped scheme, no host. Each case runs the built command with the bad setting
 * and nothing else wrong; it must stop with exit 2, name the setting, and print no part of
 * the password. No request or connection is made: every host here is unreachable anyway.
 */
import test from 'ava';
import { PASSWORD, brokenUrls, leakedPart, titled } from '../../support/data/brokenUrls.js';
import { runCommand } from '../../support/cli.js';

type Command = Parameters<typeof runCommand>[0];

interface Case {
  readonly setting: string;
  readonly value: string;
  readonly command: Command;
  readonly args: string[];
  readonly env?: Record<string, string>;
}

const PULSE = {
  PULSE_USERNAME: 'someone',
  PULSE_PASSWORD: 'pulse-pw',
  PULSE_QUEUE_NAME: 'q',
  PULSE_QUEUE_ROUTING_KEY: '#',
  // Nothing listens there: no connection leaves the machine.
  PULSE_HOST: '127.0.0.1',
  PULSE_PORT: '1',
  PULSE_SSL: 'false',
};
const BACKFILL = ['--yes', 'https://hg.mozilla.org/integration/autoland', '1', '2'];
const DUMP = ['--target-repo', 'https://hg.mozilla.org/mozilla-central', '62a578a28fe9'];

// Every way to get it wrong is tried on each setting's codec (test/codecs/settingSecrets.test.ts);
// here each setting goes once or twice through a command that reads it (a command costs a
// second of CPU), DATABASE_URL (read apart from the others, by the store) through each.
const { unencoded, portLike, oneSlash, noHost } = brokenUrls('https', 'host.example');
const postgres = brokenUrls('postgres', 'db.example:5432', '/telemetry');
const cases: Case[] = [
  ...[postgres.unencoded, postgres.oneSlash, postgres.noHost].map((value) => ({
    setting: 'DATABASE_URL',
    value,
    command: 'telemetryStatus' as const,
    args: [],
  })),
  { setting: 'DATABASE_URL', value: postgres.portLike, command: 'backfillPushlog', args: BACKFILL },
  {
    setting: 'DATABASE_URL',
    value: postgres.extraLetter,
    command: 'processQueueMessages',
    args: [],
    env: PULSE,
  },
  ...[unencoded, portLike].map((value) => ({
    setting: 'PROMETHEUS_PUSHGATEWAY_URL',
    value,
    command: 'processQueueMessages' as const,
    args: ['--no-send'],
    env: PULSE,
  })),
  { setting: 'TMO_BASE_URL', value: oneSlash, command: 'backfillPushlog', args: BACKFILL },
  { setting: 'BMO_API_URL', value: portLike, command: 'dumpTelemetry', args: DUMP },
  { setting: 'TARGET_REPO', value: unencoded, command: 'dumpTelemetry', args: ['62a578a28fe9'] },
  {
    setting: 'PULSE_HOST',
    value: `amqps://${PULSE.PULSE_USERNAME}:${PASSWORD}@pulse.example`,
    command: 'processQueueMessages',
    args: ['--no-send'],
    env: PULSE,
  },
  { setting: 'ALLOWED_HOSTS', value: noHost, command: 'dumpTelemetry', args: DUMP },
];

for (const c of cases) {
  test(`${c.setting}=${titled(c.value)} (${c.command}): exit 2, named, password nowhere`, async (t) => {
    const result = await runCommand(c.command, c.args, {
      ...c.env,
      [c.setting]: c.value,
      // Unless DATABASE_URL is the case, a private store in memory.
      ...(c.setting === 'DATABASE_URL' ? {} : { DATABASE_URL: 'sqlite::memory:' }),
    });
    const printed = `${result.stdout}\n${result.stderr}`;
    t.is(result.code, 2, printed);
    t.true(printed.includes(c.setting), printed);
    t.is(leakedPart(printed), undefined, printed);
  });
}
