import test from 'ava';
import { allowedUrl } from '../../src/clients/allowList.js';
import { HostNotAllowed } from '../../src/errors.js';

const allowed = ['hg.mozilla.org', '127.0.0.1:8080'];

const accepted = [
  'https://hg.mozilla.org/mozilla-central',
  'http://hg.mozilla.org/integration/autoland/json-pushes?version=2&startID=1&endID=2',
  'http://127.0.0.1:8080/integration/autoland',
];
for (const url of accepted) {
  test(`accepts ${url}`, (t) => {
    t.is(allowedUrl(url, allowed).href, new URL(url).href);
  });
}

const refused = [
  'https://evil.example.com/mozilla-central',
  'https://hg.mozilla.org.evil.example.com/x',
  'https://hg.mozilla.org:8443/mozilla-central',
  'http://127.0.0.1:8081/integration/autoland',
  'http://127.0.0.1/integration/autoland',
  'https://user:secret@hg.mozilla.org/mozilla-central',
  'file:///etc/passwd',
  'ftp://hg.mozilla.org/x',
  'not a url',
];
for (const url of refused) {
  test(`refuses ${url}`, (t) => {
    const error = t.throws(() => allowedUrl(url, allowed), { instanceOf: HostNotAllowed });
    t.is(error?.kind, 'permanent');
    t.false(error?.message.includes('secret'));
    t.is(
      error?.message.replace('//***@', '//user:secret@'),
      `refusing to fetch ${url}: its host is not in ALLOWED_HOSTS (hg.mozilla.org, 127.0.0.1:8080)`,
    );
  });
}
