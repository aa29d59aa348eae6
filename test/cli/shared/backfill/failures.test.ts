import test from 'ava';
import {
  failureGroupLines,
  failureReason,
  Failures,
} from '../../../../src/cli/shared/backfill/failures.js';

test('failureReason takes out what differs between changesets, keeps status codes', (t) => {
  t.is(
    failureReason(
      'telemetry refused the ping for 62a578a28fe9 (PUT https://u:p@incoming.example/submit/1b4e28ba-2fa1-11d2-883f-0016d3cca427?v=4 answered 400: bad)',
    ),
    'telemetry refused the ping for <node> (PUT https://***@incoming.example/submit/<uuid> answered 400: bad)',
  );
  t.is(
    failureReason('GET https://h/raw-rev/62a578a28fe9 answered 404'),
    'GET https://h/raw-rev/<node> answered 404',
  );
});

test('Failures keeps a line each and groups them by reason, the most frequent first', (t) => {
  const failures = new Failures();
  failures.add('push 8', undefined, 'GET https://hg/json-pushes answered 503');
  for (const [push, node] of [
    [1, 'aaaaaaaaaaaa'],
    [2, 'bbbbbbbbbbbb'],
    [3, 'cccccccccccc'],
    [4, 'dddddddddddd'],
  ] as const) {
    failures.add(`push ${push}`, node, `changeset ${node} was not found`);
  }
  t.deepEqual(failures.lines, [
    'push 8: GET https://hg/json-pushes answered 503',
    'push 1 aaaaaaaaaaaa: changeset aaaaaaaaaaaa was not found',
    'push 2 bbbbbbbbbbbb: changeset bbbbbbbbbbbb was not found',
    'push 3 cccccccccccc: changeset cccccccccccc was not found',
    'push 4 dddddddddddd: changeset dddddddddddd was not found',
  ]);
  const groups = failures.groups();
  t.deepEqual(groups, [
    {
      reason: 'changeset <node> was not found',
      count: 4,
      examples: ['push 1 aaaaaaaaaaaa', 'push 2 bbbbbbbbbbbb', 'push 3 cccccccccccc'],
    },
    { reason: 'GET https://hg/json-pushes answered 503', count: 1, examples: ['push 8'] },
  ]);
  t.deepEqual(failureGroupLines(groups), [
    '  4 × changeset <node> was not found',
    '      push 1 aaaaaaaaaaaa',
    '      push 2 bbbbbbbbbbbb',
    '      push 3 cccccccccccc',
    '      … and 1 more',
    '  1 × GET https://hg/json-pushes answered 503',
    '      push 8',
  ]);
});

test('Failures of equal count are in the order of their reasons', (t) => {
  const failures = new Failures();
  failures.add('push 2', undefined, 'zzz');
  failures.add('push 1', undefined, 'aaa');
  t.deepEqual(
    failures.groups().map((group) => group.reason),
    ['aaa', 'zzz'],
  );
});
