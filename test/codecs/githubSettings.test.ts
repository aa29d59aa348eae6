import test from 'ava';
import { PulseSettings, UpstreamSettings } from '../../src/codecs/settings.js';
import { readSettings } from '../../src/config.js';
import { MASK } from '../../src/redact.js';
import { brokenUrls, leakedPart, titled } from '../support/data/brokenUrls.js';

test('the GitHub settings default as the issue says; github.com is an allowed host', (t) => {
  const read = readSettings(UpstreamSettings, {});
  if (!read.ok) return t.fail(read.error.message);
  t.like(read.value, {
    GITHUB_WEB_URL: 'https://github.com',
    GITHUB_API_URL: 'https://api.github.com',
    GITHUB_TOKEN: undefined,
    GITHUB_BRANCHES: ['main', 'autoland', 'beta', 'release', 'esr*'],
  });
  t.deepEqual(read.value.ALLOWED_HOSTS, ['hg.mozilla.org', 'github.com']);
});

test('an Enterprise API URL with a path is kept whole, without its trailing slash', (t) => {
  const read = readSettings(UpstreamSettings, { GITHUB_API_URL: 'https://ghe.example/api/v3/' });
  if (!read.ok) return t.fail(read.error.message);
  t.is(read.value.GITHUB_API_URL, 'https://ghe.example/api/v3');
});

test('GITHUB_BRANCHES is a comma list of names and globs', (t) => {
  const read = readSettings(UpstreamSettings, { GITHUB_BRANCHES: ' main , release/* ,,' });
  if (!read.ok) return t.fail(read.error.message);
  t.deepEqual(read.value.GITHUB_BRANCHES, ['main', 'release/*']);
  const bad = readSettings(UpstreamSettings, { GITHUB_BRANCHES: 'main,a b' });
  t.false(bad.ok);
});

test('a refused GITHUB_TOKEN is named and never repeated', (t) => {
  const token = 'ghp_secret value with spaces';
  const read = readSettings(UpstreamSettings, { GITHUB_TOKEN: token });
  if (read.ok) return t.fail('accepted');
  t.regex(read.error.message, /\bGITHUB_TOKEN: expected /);
  t.false(read.error.message.includes('ghp_secret'));
  t.true(read.error.message.includes(MASK));
});

test('the GitHub exchange defaults; its routing key is unset unless given', (t) => {
  const base = {
    PULSE_USERNAME: 'u',
    PULSE_PASSWORD: 'p',
    PULSE_QUEUE_NAME: 'q',
    PULSE_QUEUE_ROUTING_KEY: '#',
  };
  const read = readSettings(PulseSettings, base);
  if (!read.ok) return t.fail(read.error.message);
  t.is(read.value.GITHUB_PUSH_EXCHANGE, 'exchange/taskcluster-github/v1/push');
  t.is(read.value.GITHUB_PUSH_ROUTING_KEY, undefined);
});

for (const setting of ['GITHUB_WEB_URL', 'GITHUB_API_URL']) {
  for (const [how, value] of Object.entries(brokenUrls('https', 'ghe.example', '/api/v3'))) {
    test(`${setting} ${how}: ${titled(value)} is refused, named, masked`, (t) => {
      const read = readSettings(UpstreamSettings, { [setting]: value });
      if (read.ok) return t.fail(`accepted: ${JSON.stringify(read.value)}`);
      t.regex(read.error.message, new RegExp(`\\b${setting}: expected `));
      t.is(leakedPart(read.error.message), undefined, read.error.message);
    });
  }
}
