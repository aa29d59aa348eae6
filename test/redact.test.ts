import test from 'ava';
import {
  FREE_TEXT_SECRET_MIN_LENGTH,
  MASK,
  isCredentialKey,
  maskSettingValue,
  maskUrlCredentials,
  secretMasker,
} from '../src/redact.js';

test('masks user:password@ of a URL in the middle of text, keeping scheme and host', (t) => {
  t.is(
    maskUrlCredentials('cannot reach amqps://bob:s3cr3t@pulse.mozilla.org:5671/ now; retrying'),
    'cannot reach amqps://***@pulse.mozilla.org:5671/ now; retrying',
  );
});

test('masks a user (or token) alone, and a scheme-relative URL', (t) => {
  t.is(maskUrlCredentials('https://ghp_token@github.com/x'), 'https://***@github.com/x');
  t.is(maskUrlCredentials('//user:pw@host/path'), '//***@host/path');
});

test('masks a URL inside JSON quotes without eating the quote', (t) => {
  const json = JSON.stringify({ url: 'https://u:p@hg.mozilla.org/mozilla-central', n: 1 });
  t.is(maskUrlCredentials(json), '{"url":"https://***@hg.mozilla.org/mozilla-central","n":1}');
});

test('masks every URL of a text', (t) => {
  t.is(
    maskUrlCredentials('from https://a:1@one.example/x to http://b:2@two.example:8080 and back'),
    'from https://***@one.example/x to http://***@two.example:8080 and back',
  );
});

test('a password with an unencoded @ is masked whole', (t) => {
  t.is(maskUrlCredentials('amqps://user:p@ss@host/vhost'), 'amqps://***@host/vhost');
});

test('leaves text without credentials alone, including an @ in a path, query or e-mail', (t) => {
  for (const text of [
    'https://hg.mozilla.org/mozilla-central/rev/62a578a28fe9',
    'https://hg.mozilla.org/users/bob@example.com/repo',
    'https://host:8080/path?by=bob@example.com#a@b',
    'mail bob@example.com about queue/guest/name',
    'amqps://pulse.mozilla.org:5671/',
    '',
  ]) {
    t.is(maskUrlCredentials(text), text);
  }
});

test('is idempotent', (t) => {
  const once = maskUrlCredentials('https://u:p@host/');
  t.is(maskUrlCredentials(once), once);
});

test('names credential keys in any case', (t) => {
  for (const key of [
    'password',
    'PULSE_PASSWORD',
    'passwd',
    'Authorization',
    'cookie',
    'Set-Cookie',
    'GITHUB_TOKEN',
    'token',
  ]) {
    t.true(isCredentialKey(key), key);
  }
  for (const key of ['user', 'repository', 'node', 'queue']) t.false(isCredentialKey(key), key);
});

test('a short secret is masked as a password only, never as a user name or a path part', (t) => {
  t.true('guest'.length < FREE_TEXT_SECRET_MIN_LENGTH);
  const mask = secretMasker(['guest']);
  t.is(mask('queue/guest/name'), 'queue/guest/name');
  t.is(mask('user guest connected'), 'user guest connected');
  t.is(mask('amqps://guest:guest@pulse.mozilla.org/'), 'amqps://***@pulse.mozilla.org/');
  t.is(mask('guest:guest@pulse.mozilla.org'), '***@pulse.mozilla.org');
});

test('a long secret is masked anywhere, also percent-encoded', (t) => {
  const mask = secretMasker(['hunter2-hunter2', 'p@ss w/rd!']);
  t.is(mask('password is hunter2-hunter2.'), `password is ${MASK}.`);
  t.is(mask(`sent ${encodeURIComponent('p@ss w/rd!')} over`), `sent ${MASK} over`);
});

test('no secrets: only URL credentials are masked', (t) => {
  const mask = secretMasker(['']);
  t.is(mask('https://u:p@h/ and p'), 'https://***@h/ and p');
});

test('maskSettingValue masks up to the last @ without parsing, whatever the value', (t) => {
  const cases: [string, string][] = [
    ['postgres://u:pa/ss#w?d@db.example/x', 'postgres://***@db.example/x'],
    ['postgres://u:12/pw@db.example/x', 'postgres://***@db.example/x'],
    ['postgress://u:pw@db.example/x', 'postgress://***@db.example/x'],
    ['postgres:/u:pw@db.example/x', 'postgres:/***@db.example/x'],
    ['postgres:u:pw@db.example/x', '***@db.example/x'],
    ['u:pw@db.example', '***@db.example'],
    ['https://gw.example/a@b', 'https://***@b'],
  ];
  for (const [value, shown] of cases) t.is(maskSettingValue(value), shown, value);
});

test('maskSettingValue without an @ hides what follows a colon that starts no port', (t) => {
  t.is(maskSettingValue('postgres://u:pa/ss#w'), 'postgres://u:***');
  t.is(maskSettingValue('bob:hunter2'), 'bob:***');
  for (const value of [
    'postgres://db.example:5432/x',
    'https://[::1]:8080/x',
    'sqlite:',
    'telemetry.sqlite',
    'https://hg.mozilla.org/mozilla-central',
    'localhost:5432',
  ]) {
    t.is(maskSettingValue(value), value);
  }
});

test("a ' in a password does not stop the masking", (t) => {
  t.is(maskUrlCredentials(`https://u:it's@gw.example/x`), 'https://***@gw.example/x');
});
