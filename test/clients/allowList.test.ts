import test from 'ava';
import { allowedHgUrl, allowedUrl, hgHosts } from '../../src/clients/allowList.js';
import { HostList } from '../../src/codecs/settings.js';
import { HostNotAllowed } from '../../src/errors.js';

const allowed = ['hg.mozilla.org', '127.0.0.1:8080'];

const accepted = [
  'https://hg.mozilla.org/mozilla-central',
  'http://127.0.0.1:8080/integration/autoland',
];
for (const url of accepted) {
  test(`accepts ${url}`, (t) => {
    t.is(allowedUrl(url, allowed).href, new URL(url).href);
  });
}

const HOSTS = 'hg.mozilla.org, 127.0.0.1:8080';
const refused: [string, string][] = [
  ['https://evil.example.com/mozilla-central', `its host is not in ALLOWED_HOSTS (${HOSTS})`],
  ['https://hg.mozilla.org.evil.example.com/x', `its host is not in ALLOWED_HOSTS (${HOSTS})`],
  ['https://hg.mozilla.org:8443/mozilla-central', `its host is not in ALLOWED_HOSTS (${HOSTS})`],
  ['http://127.0.0.1:8081/integration/autoland', `its host is not in ALLOWED_HOSTS (${HOSTS})`],
  ['http://127.0.0.1/integration/autoland', `its host is not in ALLOWED_HOSTS (${HOSTS})`],
  [
    'https://user:secret@hg.mozilla.org/mozilla-central',
    'a URL from input may not carry user:password@',
  ],
  // A repository's URL is its ledger key: `?x` would make it another repository.
  ...[
    'https://hg.mozilla.org/mozilla-central?x=1',
    'https://hg.mozilla.org/x?',
    'https://hg.mozilla.org/x#y',
  ].map((url): [string, string] => [
    url,
    'a repository URL has no query string or fragment (?..., #...)',
  ]),
  ['file:///etc/passwd', 'only http and https URLs are fetched'],
  ['ftp://hg.mozilla.org/x', 'only http and https URLs are fetched'],
];
for (const [url, why] of refused) {
  test(`refuses ${url}, saying why`, (t) => {
    const error = t.throws(() => allowedUrl(url, allowed), { instanceOf: HostNotAllowed });
    t.is(error?.kind, 'permanent');
    t.false(error?.message.includes('secret'));
    t.is(error?.message.replace('//***@', '//user:secret@'), `refusing to fetch ${url}: ${why}`);
  });
}

test('refuses text that is not a URL, saying so (not blaming ALLOWED_HOSTS)', (t) => {
  const error = t.throws(() => allowedUrl('not-a-url', allowed), { instanceOf: HostNotAllowed });
  t.is(error?.message, '"not-a-url" is not a URL (expected https://host/path)');
});

test('an hg URL on the GitHub web host is refused, saying a git repository is read another way', (t) => {
  const hosts = ['hg.mozilla.org', 'github.com'];
  const url = 'https://github.com/mozilla-firefox/firefox/tree/autoland';
  t.is(allowedUrl(url, hosts).host, 'github.com');
  const error = t.throws(() => allowedHgUrl(url, hosts), { instanceOf: HostNotAllowed });
  t.is(error?.kind, 'permanent');
  t.regex(error?.message ?? '', /GITHUB_WEB_URL.*GITHUB_API_URL.*backfill-git/);
  t.is(allowedHgUrl('https://hg.mozilla.org/mozilla-central', hosts).host, 'hg.mozilla.org');
  // GitHub Enterprise: its web host is the one refused.
  t.throws(() =>
    allowedHgUrl('https://ghe.example/o/r/tree/main', ['ghe.example'], 'https://ghe.example'),
  );
});

test('hgHosts: ALLOWED_HOSTS less the GitHub web host (the hg client is built with these)', (t) => {
  t.deepEqual(hgHosts(['hg.mozilla.org', 'github.com']), ['hg.mozilla.org']);
  t.deepEqual(hgHosts(['hg.mozilla.org', 'github.com'], 'https://ghe.example'), [
    'hg.mozilla.org',
    'github.com',
  ]);
});

test('ALLOWED_HOSTS takes hosts as a URL names them: a default port or another spelling is refused', (t) => {
  for (const entry of [
    'hg.mozilla.org:443',
    '127.0.0.1:80',
    'hg.mozilla.org:0443',
    '[0:0:0:0:0:0:0:1]:8080',
  ]) {
    t.is(HostList.decode(entry)._tag, 'Left', entry);
  }
  const decoded = HostList.decode('hg.mozilla.org,[::1]:8080,127.0.0.1:8443');
  if (decoded._tag === 'Left') return t.fail('HostList refused the setting');
  t.notThrows(() => allowedUrl('https://hg.mozilla.org:443/mozilla-central', decoded.right));
  t.notThrows(() => allowedUrl('http://[0:0:0:0:0:0:0:1]:8080/x', decoded.right));
  t.notThrows(() => allowedUrl('https://127.0.0.1:8443/x', decoded.right));
  t.throws(() => allowedUrl('https://127.0.0.1/x', decoded.right), { instanceOf: HostNotAllowed });
});
