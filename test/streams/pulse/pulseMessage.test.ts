import test from 'ava';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPulseMessage } from '../../../streams/pulse/messages/message.js';
import { FIXTURES_DIR } from '../../support/data/fixtureData.js';
import { hostileBody, hostilePushId, oversizedBody } from '../../support/data/hostileBodies.js';
import { changegroupMessage, otherMessage } from '../../support/data/messages.js';

const HG = ['hg.mozilla.org'];
const AUTOLAND = 'https://hg.mozilla.org/integration/autoland';

const lines = (file: string): string[] =>
  readFileSync(join(FIXTURES_DIR, 'pulse', file), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');

test('a changegroup.1 message naming one push is that push, and its URLs are not kept', (t) => {
  t.deepEqual(readPulseMessage(changegroupMessage(`${AUTOLAND}/`, 64752), HG), {
    kind: 'push',
    target: { kind: 'push', repository: AUTOLAND, pushId: 64752 },
  });
});

test('other message types, no push and several pushes are skipped', (t) => {
  const twoPushes = JSON.parse(changegroupMessage(AUTOLAND, 3));
  twoPushes.payload.data.pushlog_pushes.push(twoPushes.payload.data.pushlog_pushes[0]);
  const noPush = JSON.parse(changegroupMessage(AUTOLAND, 5));
  noPush.payload.data.pushlog_pushes = [];
  const reasons = [
    otherMessage('newrepo.1', AUTOLAND),
    otherMessage('obsolete.1', AUTOLAND),
    otherMessage('a.type.added.later', AUTOLAND),
    JSON.stringify(twoPushes),
    JSON.stringify(noPush),
  ].map((body) => readPulseMessage(body, HG));
  t.deepEqual(reasons, [
    { kind: 'skip', reason: 'message type newrepo.1' },
    { kind: 'skip', reason: 'message type obsolete.1' },
    { kind: 'skip', reason: 'message type a.type.added.later' },
    { kind: 'skip', reason: 'message names 2 pushes' },
    { kind: 'skip', reason: 'message names no push' },
  ]);
});

test('a repo_url on a host that is not allowed is rejected, naming the field', (t) => {
  const reading = readPulseMessage(
    changegroupMessage('https://hg.example.com/integration/autoland', 1),
    HG,
  );
  t.is(reading.kind, 'reject');
  t.regex(reading.kind === 'reject' ? reading.reason : '', /^repo_url: .*ALLOWED_HOSTS/);
});

test('an hgpush repo_url on GitHub is rejected: git repositories come from GitHub push messages', (t) => {
  const reading = readPulseMessage(
    changegroupMessage('https://github.com/mozilla-firefox/firefox', 1),
    [...HG, 'github.com'],
    'https://github.com',
  );
  t.is(reading.kind, 'reject');
  t.regex(reading.kind === 'reject' ? reading.reason : '', /^repo_url: .*GITHUB_WEB_URL/);
});

test('the recorded bad messages are rejected with the path of the bad field', (t) => {
  const readings = lines('bad-messages.ndjson').map((body) => readPulseMessage(body, HG));
  t.deepEqual(readings[0], { kind: 'reject', reason: 'invalid hgpush message: (root): not JSON' });
  t.regex(readings[1]?.kind === 'reject' ? readings[1].reason : '', /payload\.data\.repo_url/);
  t.regex(
    readings[2]?.kind === 'reject' ? readings[2].reason : '',
    /payload\.data\.pushlog_pushes\.0\.pushid/,
  );
  t.deepEqual(readings[3], { kind: 'skip', reason: 'message names 2 pushes' });
});

test('the recorded autoland stream: pushes, and three messages skipped', (t) => {
  const kinds = lines('autoland.ndjson').map((body) => readPulseMessage(body, HG).kind);
  t.deepEqual(
    kinds
      .map((kind, i) => (kind === 'push' ? 'push' : `${i + 1}: ${kind}`))
      .filter((k) => k !== 'push'),
    ['3: skip', '6: skip', '8: skip'],
  );
});

const isPushId = (n: number) => Number.isSafeInteger(n) && n >= 1;

const reasonNamesAField = (reason: string) =>
  /^(invalid (hgpush|changegroup\.1) message: .+|repo_url: .+|message .+)$/.test(reason);

test('any body at all is read without a throw: a push, a skip, or a reject naming what is wrong', (t) => {
  const valid = JSON.parse(changegroupMessage(AUTOLAND, 7)) as unknown;
  // Random JSON, random text, and the valid message with one value anywhere replaced.
  const mutated = fc
    .tuple(fc.array(fc.string(), { maxLength: 4 }), fc.jsonValue())
    .map(([path, value]) => {
      const copy = JSON.parse(JSON.stringify(valid)) as Record<string, unknown>;
      // Own properties only, set as data: a generated key such as `__proto__` must become a
      // field of the message, never a walk into (or a write to) a prototype.
      const put = (node: Record<string, unknown>, key: string) =>
        Object.defineProperty(node, key, { value, enumerable: true, writable: true });
      let node: Record<string, unknown> = copy;
      for (const key of ['payload', 'data', ...path].slice(0, 2 + (path.length % 3))) {
        const next = Object.hasOwn(node, key) ? node[key] : undefined;
        if (next === null || typeof next !== 'object') {
          put(node, key);
          return JSON.stringify(copy);
        }
        node = next as Record<string, unknown>;
      }
      put(node, path[0] ?? 'repo_url');
      return JSON.stringify(copy);
    });
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.json(), mutated), (body) => {
      const reading = readPulseMessage(body, HG);
      if (reading.kind === 'push') return isPushId(reading.target.pushId);
      return reasonNamesAField(reading.reason);
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

const reasonOf = (body: string | Buffer): string => {
  const reading = readPulseMessage(body, HG);
  return reading.kind === 'push' ? '(a push)' : reading.reason;
};

const nestedData = (depth: number): string =>
  `{"payload":{"type":"changegroup.1","data":${'['.repeat(depth)}${']'.repeat(depth)}}}`;

test('a message nested thousands deep is rejected, naming the limit, before any walk of it', (t) => {
  for (const depth of [4_100, 400_000]) {
    t.regex(
      reasonOf(nestedData(depth)),
      /^invalid hgpush message: \(root\): nested deeper than \d+/,
    );
  }
  const deepType = `{"payload":{"type":${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}}}`;
  t.regex(reasonOf(deepType), /nested deeper than \d+/);
});

test('a body larger than a Pulse message can be is rejected without being parsed', (t) => {
  t.regex(
    reasonOf(oversizedBody(2 * 1024 * 1024)),
    /^invalid hgpush message: \(root\): larger than \d+ bytes/,
  );
});

test('a body that is not UTF-8 text is rejected as such', (t) => {
  t.is(
    reasonOf(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])),
    'invalid hgpush message: (root): not UTF-8 text',
  );
});

test('a push id that is not a whole number from 1 to 2^53 - 1 is rejected, naming the field', (t) => {
  fc.assert(
    fc.property(hostilePushId, (id) => {
      const body = changegroupMessage(AUTOLAND, 7).replace('"pushid":7', `"pushid":${id}`);
      return /^invalid changegroup\.1 message: payload\.data\.pushlog_pushes\.0\.pushid: expected a push id/.test(
        reasonOf(body),
      );
    }),
  );
  t.is(
    reasonOf(changegroupMessage(AUTOLAND, 7).replace('"pushid":7', '"pushid":1e20')),
    'invalid changegroup.1 message: payload.data.pushlog_pushes.0.pushid: expected a push id (a whole number from 1 to 9007199254740991), got 100000000000000000000',
  );
});

test('a reason stays short however many fields are wrong', (t) => {
  const many = JSON.parse(changegroupMessage(AUTOLAND, 7)) as {
    payload: { data: { pushlog_pushes: unknown[] } };
  };
  many.payload.data.pushlog_pushes = Array.from({ length: 50_000 }, () => ({ pushid: 'x' }));
  const reason = reasonOf(JSON.stringify(many));
  t.true(reason.length < 2_000, `${reason.length} characters`);
  t.regex(reason, /and \d+ more/);
});

test('property: hostile bodies never throw, and every reading is bounded and says what is wrong', (t) => {
  fc.assert(
    fc.property(hostileBody, (body) => {
      const reading = readPulseMessage(body, HG);
      if (reading.kind === 'push') return isPushId(reading.target.pushId);
      return reading.reason.length < 2_000 && reasonNamesAField(reading.reason);
    }),
    { numRuns: 300 },
  );
  t.pass();
});
