import test from 'ava';
import { summarizeParked } from '../../../streams/pulse/parked/parkedMessage.js';
import { changegroupMessage } from '../../support/data/messages.js';

const REPO = 'https://hg.mozilla.org/integration/autoland';
const headers = {
  'x-parked-at': '2024-05-02T09:00:00.000Z',
  'x-park-reason': 'permanent',
  'x-error': 'push 5: 404',
  'x-routing-key': 'integration/autoland',
};

test('summarizeParked: push, repository, reason, error and time of a parked push', (t) => {
  t.deepEqual(summarizeParked({ content: Buffer.from(changegroupMessage(REPO, 5)), headers }), {
    parkedAt: '2024-05-02T09:00:00.000Z',
    pushes: [5],
    repository: REPO,
    reason: 'permanent',
    error: 'push 5: 404',
  });
});

test('summarizeParked: every push a message names', (t) => {
  const two = JSON.parse(changegroupMessage(REPO, 5)) as {
    payload: { data: { pushlog_pushes: object[] } };
  };
  const [first] = two.payload.data.pushlog_pushes;
  two.payload.data.pushlog_pushes.push({ ...first, pushid: 6 });
  const summary = summarizeParked({ content: Buffer.from(JSON.stringify(two)), headers });
  t.deepEqual(summary.pushes, [5, 6]);
});

test('summarizeParked: a body that does not decode is listed all the same', (t) => {
  const summary = summarizeParked({ content: Buffer.from('not json {'), headers: {} });
  t.deepEqual(summary, {
    parkedAt: undefined,
    pushes: undefined,
    repository: undefined,
    reason: 'undecodable',
    error: 'invalid changegroup.1 message: (root): not JSON',
  });
});

test('summarizeParked: headers that are not text count as missing', (t) => {
  const odd = { 'x-parked-at': 17, 'x-park-reason': Buffer.from('x'), 'x-error': '' };
  const summary = summarizeParked({
    content: Buffer.from(changegroupMessage(REPO, 5)),
    headers: odd,
  });
  t.is(summary.parkedAt, undefined);
  t.is(summary.reason, 'unknown');
  t.is(summary.error, '');
});
