import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  readGitHubPush,
  type GitHubPushReader,
} from '../../../streams/pulse/messages/githubMessage.js';
import { messageReader } from '../../../streams/pulse/messages/readers.js';
import { FIXTURES_DIR } from '../../support/data/fixtureData.js';
import { changegroupMessage } from '../../support/data/messages.js';

const READER: GitHubPushReader = {
  webUrl: 'https://github.com',
  branches: ['main', 'autoland', 'beta', 'release', 'esr*'],
  allowedHosts: ['hg.mozilla.org', 'github.com'],
};
const FIREFOX = 'https://github.com/mozilla-firefox/firefox/tree';

const lines = (file: string): string[] =>
  readFileSync(join(FIXTURES_DIR, 'pulse', file), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');

const reasonOf = (reading: ReturnType<typeof readGitHubPush>): string =>
  reading.kind === 'push' ? 'a push' : reading.reason;

test('the recorded GitHub pushes: landings are compare ranges, the rest are skips', (t) => {
  const [autoland, main, feature, created, deleted, tag, forced] = lines('github-push.ndjson').map(
    (body) => readGitHubPush(body, READER),
  );
  // The older shape, with `details`, and the current one, with installationId and no details.
  t.deepEqual(autoland, {
    kind: 'push',
    target: {
      kind: 'gitPush',
      repository: `${FIREFOX}/autoland`,
      base: '356a192b7913b04c54574d18c28d46e6395428ab',
      head: '77de68daecd823babbb58edb1c8e14d7106e83bb',
    },
  });
  t.like(main, { kind: 'push', target: { kind: 'gitPush', repository: `${FIREFOX}/main` } });
  t.deepEqual(
    [feature, deleted, tag].map((r) => [r?.kind, reasonOf(r!)]),
    [
      ['skip', 'branch some-feature is not in GITHUB_BRANCHES'],
      ['skip', 'branch old-branch deleted'],
      ['skip', 'not a branch: refs/tags/FIREFOX_NIGHTLY_135_END'],
    ],
  );
  t.like(forced, { kind: 'push', target: { repository: `${FIREFOX}/autoland` } });
  // A branch created: a push of no commits at its head, which starts its git watermark there
  // (it was skipped, and a lost message of its next push was never gap-filled).
  const createdAt = JSON.parse(lines('github-push.ndjson')[3]!).body.after;
  t.deepEqual(created, {
    kind: 'push',
    target: {
      kind: 'gitPush',
      repository: `${FIREFOX}/esr140`,
      base: createdAt,
      head: createdAt,
      commits: [],
      created: true,
    },
  });
});

test('a bad GitHub push is rejected with the field at fault, never thrown', (t) => {
  const readings = lines('github-push-bad.ndjson').map((body) => readGitHubPush(body, READER));
  t.deepEqual(
    readings.map((r) => r.kind),
    ['reject', 'reject', 'reject', 'reject'],
  );
  t.is(reasonOf(readings[0]!), 'invalid GitHub push message: (root): not JSON');
  t.regex(reasonOf(readings[1]!), /body\.after: .*abc123/);
  t.regex(reasonOf(readings[2]!), /gitlab\.example\.com.*ALLOWED_HOSTS|not a repository on/);
  t.regex(reasonOf(readings[3]!), /names no repository/);
  // The repository comes from the repository URL when full_name is absent; `.git` dropped.
  const good = JSON.parse(lines('github-push.ndjson')[0]!);
  good.body.repository = {};
  good.organization = 'mozilla%firefox'; // sanitized by taskcluster: never read
  t.like(readGitHubPush(JSON.stringify(good), READER), {
    target: { repository: `${FIREFOX}/autoland` },
  });
  // A repository URL on an allowed host that is not the forge's is not ours either.
  good.details['event.head.repo.url'] = 'https://hg.mozilla.org/mozilla-firefox/firefox';
  t.regex(reasonOf(readGitHubPush(JSON.stringify(good), READER)), /not a repository on github/);
});

test('a branch with a slash is a landing when GITHUB_BRANCHES names it; one git refuses is not', (t) => {
  const push = JSON.parse(lines('github-push.ndjson')[0]!);
  push.body.ref = 'refs/heads/release/esr-128';
  const reader = { ...READER, branches: ['release/*'] };
  t.like(readGitHubPush(JSON.stringify(push), reader), {
    target: { repository: `${FIREFOX}/release/esr-128` },
  });
  push.body.ref = 'refs/heads/release/../main';
  t.is(readGitHubPush(JSON.stringify(push), reader).kind, 'reject');
});

/** A delivery as the consumer hands it to the reader (no broker here). */
type Delivered = Parameters<ReturnType<typeof messageReader>>[0];

const delivered = (exchange: string, body: string, headers: object = {}): Delivered =>
  ({
    content: Buffer.from(body),
    fields: { exchange, routingKey: 'x', deliveryTag: 1, redelivered: false },
    properties: { headers },
  }) as Delivered;

test('the exchange a message came on picks its codec; a copy of ours, its origin', (t) => {
  const settings = {
    PULSE_USERNAME: 'u',
    PULSE_PASSWORD: 'p',
    PULSE_QUEUE_NAME: 'q',
    PULSE_QUEUE_ROUTING_KEY: '#',
    PULSE_EXCHANGE: 'exchange/hgpushes/v2',
    PULSE_HOST: 'localhost',
    PULSE_PORT: 5672,
    PULSE_SSL: false,
    PULSE_VHOST: '/',
    GITHUB_PUSH_ROUTING_KEY: 'primary.mozilla-firefox.firefox',
  };
  const github = { webUrl: READER.webUrl, branches: READER.branches };
  const read = messageReader({ settings, allowedHosts: READER.allowedHosts, prefetch: 1, github });
  const gitPush = lines('github-push.ndjson')[0]!;
  const hgPush = changegroupMessage('https://hg.mozilla.org/integration/autoland', 7);
  const GH = 'exchange/taskcluster-github/v1/push';
  t.like(read(delivered(GH, gitPush)), { target: { kind: 'gitPush' } });
  t.like(read(delivered('exchange/hgpushes/v2', hgPush)), { target: { kind: 'push' } });
  const retried = delivered('exchange/u/q.retry', gitPush, { 'x-exchange': GH });
  t.like(read(retried), { target: { kind: 'gitPush' } });
  // A GitHub push on the hgpush exchange is read as hgpush: not one, so parked.
  t.is(read(delivered('exchange/hgpushes/v2', gitPush)).kind, 'reject');
  // Without the routing key, nothing is bound and nothing is read as a GitHub push.
  const off = messageReader({
    settings: { ...settings, GITHUB_PUSH_ROUTING_KEY: undefined },
    allowedHosts: READER.allowedHosts,
    prefetch: 1,
    github,
  });
  t.is(off(delivered(GH, gitPush)).kind, 'reject');
});
