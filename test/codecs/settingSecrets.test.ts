/**
 * Every URL-shaped setting refuses a URL whose password was got wrong, and the refusal names
 * the setting without a part of the password. (test/cli/shared/settingSecrets.test.ts runs the
 * commands; this tries every way on every setting, in-process.)
 */
import test from 'ava';
import type * as t from 'io-ts';
import {
  MetricsSettings,
  PulseSettings,
  TargetRepoSettings,
  TelemetrySettings,
  UpstreamSettings,
} from '../../src/codecs/settings.js';
import { readSettings } from '../../src/config.js';
import { parseDatabaseUrl } from '../../src/state/engines/databaseUrl.js';
import { brokenUrls, leakedPart, titled } from '../support/data/brokenUrls.js';

const PULSE = {
  PULSE_USERNAME: 'someone',
  PULSE_PASSWORD: 'pulse-pw',
  PULSE_QUEUE_NAME: 'q',
  PULSE_QUEUE_ROUTING_KEY: '#',
};

const settings: [string, t.Mixed, string, Record<string, string>?][] = [
  ['BMO_API_URL', UpstreamSettings, 'https'],
  ['ALLOWED_HOSTS', UpstreamSettings, 'https'],
  ['TMO_BASE_URL', TelemetrySettings, 'https'],
  ['TARGET_REPO', TargetRepoSettings, 'https'],
  ['PROMETHEUS_PUSHGATEWAY_URL', MetricsSettings, 'https'],
  ['PULSE_HOST', PulseSettings, 'amqps', PULSE],
];

for (const [setting, codec, scheme, others] of settings) {
  for (const [how, value] of Object.entries(brokenUrls(scheme, 'host.example', '/x'))) {
    test(`${setting} ${how}: ${titled(value)} is refused, named, masked`, (t) => {
      const read = readSettings(codec, { ...others, [setting]: value });
      if (read.ok) return t.fail(`accepted: ${JSON.stringify(read.value)}`);
      t.regex(read.error.message, new RegExp(`\\b${setting}: expected `));
      t.is(leakedPart(read.error.message), undefined, read.error.message);
    });
  }
}

for (const [how, value] of Object.entries(brokenUrls('postgres', 'db.example', '/telemetry'))) {
  test(`DATABASE_URL ${how}: ${titled(value)} is refused, named, masked`, (t) => {
    const parsed = parseDatabaseUrl(value);
    if (parsed.ok) return t.fail(`accepted: ${JSON.stringify(parsed.value)}`);
    t.regex(parsed.error.message, /^DATABASE_URL "/);
    t.is(leakedPart(parsed.error.message), undefined, parsed.error.message);
  });
}

test('a well-formed URL with a password encoded is still taken where one may be', (t) => {
  const url = `https://metrics:${encodeURIComponent('p/w#x?y@z')}@gateway.example`;
  const read = readSettings(MetricsSettings, { PROMETHEUS_PUSHGATEWAY_URL: url });
  t.deepEqual(read.ok && read.value.PROMETHEUS_PUSHGATEWAY_URL, url);
  const db = `postgres://telemetry:${encodeURIComponent('p/w#x?y@z')}@db.example/telemetry`;
  t.deepEqual(parseDatabaseUrl(db), { ok: true, value: { engine: 'postgres', url: db } });
});

test('a host name or address is a PULSE_HOST; a URL or host:port is not', (t) => {
  for (const host of ['pulse.mozilla.org', '127.0.0.1', 'localhost', '[::1]', '::1']) {
    const read = readSettings(PulseSettings, { ...PULSE, PULSE_HOST: host });
    t.true(read.ok && read.value.PULSE_HOST === host, host);
  }
  for (const host of ['pulse.mozilla.org:5671', 'amqps://pulse.mozilla.org', 'me@pulse']) {
    t.false(readSettings(PulseSettings, { ...PULSE, PULSE_HOST: host }).ok, host);
  }
});
