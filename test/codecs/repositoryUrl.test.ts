/** repositoryUrl: one canonical form for every spelling of a repository URL. */
import test from 'ava';
import { repositoryUrl } from '../../src/codecs/scalars.js';
import { documentId } from '../../src/rules/ping.js';

const NODE = 'a'.repeat(40);

test('scheme and host lower-case, default port dropped, no trailing slash', (t) => {
  const cases: [string, string][] = [
    ['http://LOCALHOST:80/x/', 'http://localhost/x'],
    ['http://localhost/x', 'http://localhost/x'],
    ['HTTPS://Hg.Mozilla.ORG:443/mozilla-central//', 'https://hg.mozilla.org/mozilla-central'],
    ['http://127.1:8080/integration/autoland/', 'http://127.0.0.1:8080/integration/autoland'],
    ['https://hg.mozilla.org:8443/x', 'https://hg.mozilla.org:8443/x'],
    ['https://hg.mozilla.org/Case/Kept', 'https://hg.mozilla.org/Case/Kept'],
    ['https://hg.mozilla.org', 'https://hg.mozilla.org'],
  ];
  for (const [spelling, canonical] of cases) {
    t.is(repositoryUrl(spelling), canonical, spelling);
  }
});

test('what is not an http(s) URL only loses its trailing slashes', (t) => {
  t.is(repositoryUrl('/integration/autoland/'), '/integration/autoland');
  t.is(repositoryUrl('repo-1/'), 'repo-1');
});

test('two spellings of a landing get one document id', (t) => {
  t.is(documentId('http://LOCALHOST:80/x/', NODE), documentId('http://localhost/x', NODE));
});
