import test from 'ava';
import {
  branchMatches,
  followsBranch,
  gitRepositoryUrl,
  parseGitRepository,
} from '../../src/rules/gitRepository.js';

const WEB = 'https://github.com';

test('a tree URL names its owner, repository and branch', (t) => {
  t.deepEqual(parseGitRepository('https://github.com/mozilla-firefox/firefox/tree/autoland', WEB), {
    web: WEB,
    owner: 'mozilla-firefox',
    repo: 'firefox',
    branch: 'autoland',
  });
});

test('everything after /tree/ is the branch, slashes included', (t) => {
  const parsed = parseGitRepository(`${WEB}/o/r/tree/release/esr-140/x`, WEB);
  t.like(parsed, { owner: 'o', repo: 'r', branch: 'release/esr-140/x' });
});

test('a trailing slash, or one at the end of GITHUB_WEB_URL, changes nothing', (t) => {
  t.like(parseGitRepository(`${WEB}/o/r/tree/main/`, `${WEB}/`), { branch: 'main', web: WEB });
});

test('an Enterprise-style web URL with a path works too', (t) => {
  const web = 'https://git.example.com/ghe';
  const parsed = parseGitRepository(`${web}/o/r/tree/main`, web);
  t.like(parsed, { web, owner: 'o', repo: 'r', branch: 'main' });
  t.is(typeof parsed === 'string' ? parsed : gitRepositoryUrl(parsed), `${web}/o/r/tree/main`);
});

for (const [why, url] of [
  ['another host', 'https://hg.mozilla.org/mozilla-central'],
  ['no branch', `${WEB}/o/r`],
  ['not a tree', `${WEB}/o/r/commit/abc`],
  ['an empty branch', `${WEB}/o/r/tree/`],
  ['a query', `${WEB}/o/r/tree/main?x=1`],
  ['a branch with ..', `${WEB}/o/r/tree/a..b`],
  ['a branch part starting with a dot', `${WEB}/o/r/tree/a/.b`],
  ['a branch with a space', `${WEB}/o/r/tree/a b`],
  ['an owner with a colon', `${WEB}/o:x/r/tree/main`],
] as const) {
  test(`refused, with a reason naming the form: ${why}`, (t) => {
    const parsed = parseGitRepository(url, WEB);
    if (typeof parsed !== 'string') return t.fail(JSON.stringify(parsed));
    t.true(parsed.includes(JSON.stringify(url)) || parsed.includes('is not a branch name'));
  });
}

test('gitRepositoryUrl is the inverse of parseGitRepository', (t) => {
  const url = `${WEB}/mozilla-firefox/firefox/tree/esr140`;
  const parsed = parseGitRepository(url, WEB);
  if (typeof parsed === 'string') return t.fail(parsed);
  t.is(gitRepositoryUrl(parsed), url);
});

test('owner and repository are lower-cased (GitHub ignores their case), the branch is kept', (t) => {
  const parsed = parseGitRepository(`${WEB}/Mozilla-Firefox/Firefox/tree/Autoland`, WEB);
  if (typeof parsed === 'string') return t.fail(parsed);
  t.like(parsed, { owner: 'mozilla-firefox', repo: 'firefox', branch: 'Autoland' });
  // A push message's full_name, spelt either way, names the same repository URL.
  const fromPulse = gitRepositoryUrl({
    web: WEB,
    owner: 'Mozilla-Firefox',
    repo: 'Firefox',
    branch: 'Autoland',
  });
  t.is(gitRepositoryUrl(parsed), `${WEB}/mozilla-firefox/firefox/tree/Autoland`);
  t.is(fromPulse, gitRepositoryUrl(parsed));
});

test('branchMatches: exact names and * globs, nothing else', (t) => {
  const patterns = ['main', 'autoland', 'esr*'];
  t.true(branchMatches('main', patterns));
  t.true(branchMatches('esr140', patterns));
  t.true(branchMatches('esr', patterns));
  t.false(branchMatches('mainline', patterns));
  t.false(branchMatches('my-esr1', patterns));
  t.true(branchMatches('release/x/y', ['release/*']));
  t.false(branchMatches('m.in', ['main']), 'a dot in a pattern is a dot');
  t.false(branchMatches('main', []));
});

test('followsBranch: a repository URL under GITHUB_WEB_URL whose branch is followed', (t) => {
  const github = { webUrl: WEB, branches: ['main', 'esr*'] };
  t.true(followsBranch(`${WEB}/mozilla-firefox/firefox/tree/main`, github));
  t.true(followsBranch(`${WEB}/mozilla-firefox/firefox/tree/esr140`, github));
  t.false(followsBranch(`${WEB}/mozilla-firefox/firefox/tree/autoland`, github));
  t.false(followsBranch('https://hg.mozilla.org/mozilla-central', github), 'not a git repository');
  t.false(followsBranch(`${WEB}/mozilla-firefox/firefox`, github), 'names no branch');
});
