import test from 'ava';
import type { ParkedSummary } from '../../../streams/pulse/parked/parkedMessage.js';
import {
  oneLine,
  parkedLines,
  parkedTable,
  TABLE_ERROR_WIDTH,
} from '../../../src/cli/processQueueMessages/parkedTable.js';

const NOW = Date.parse('2024-05-02T12:00:00Z');
const push: ParkedSummary = {
  parkedAt: '2024-05-02T09:00:00.123Z',
  pushes: [41],
  repository: 'https://hg.mozilla.org/integration/autoland',
  reason: 'permanent',
  error: 'changeset abc was not found\n  push 41 https://hg.mozilla.org/integration/autoland\n',
};
const unreadable: ParkedSummary = {
  parkedAt: undefined,
  pushes: undefined,
  repository: undefined,
  reason: 'undecodable',
  error: 'invalid hgpush message: (root): not JSON',
};

test('oneLine: the lines of an error, trimmed, on one line; tabs and runs of spaces are one', (t) => {
  t.is(oneLine('a\n  b\tc  \n\n d\n'), 'a; b c; d');
  t.is(oneLine(''), '');
});

test('parkedLines: one tab-separated line a message, ? for unknowns, the error whole', (t) => {
  t.is(
    parkedLines([push, unreadable, { ...push, pushes: [1, 2] }]),
    '2024-05-02T09:00:00.123Z\t41\thttps://hg.mozilla.org/integration/autoland\tpermanent\t' +
      'changeset abc was not found; push 41 https://hg.mozilla.org/integration/autoland\n' +
      '?\t?\t?\tundecodable\tinvalid hgpush message: (root): not JSON\n' +
      '2024-05-02T09:00:00.123Z\t1,2\thttps://hg.mozilla.org/integration/autoland\tpermanent\t' +
      'changeset abc was not found; push 41 https://hg.mozilla.org/integration/autoland\n',
  );
  t.is(parkedLines([]), '');
});

test('parkedTable: numbered rows under a header, the time with its age, columns aligned', (t) => {
  const lines = parkedTable([push, unreadable], NOW).split('\n');
  t.deepEqual(lines, [
    '#  PARKED AT                       PUSH  REPOSITORY                                   REASON       ERROR',
    '1  2024-05-02T09:00:00Z (3 h ago)  41    https://hg.mozilla.org/integration/autoland  permanent    changeset abc was not found; push 41 https://hg.mozilla.org/integration…',
    '2  ?                               ?     ?                                            undecodable  invalid hgpush message: (root): not JSON',
    '',
  ]);
});

test('parkedTable: an error is cut to the width; a time that does not read is shown as it is', (t) => {
  const long = { ...push, parkedAt: 'yesterday', error: 'x'.repeat(500) };
  const row = parkedTable([long], NOW).split('\n')[1]!;
  t.true(row.endsWith(`${'x'.repeat(TABLE_ERROR_WIDTH - 1)}…`), row);
  t.regex(row, /^1 {2}yesterday {2}/);
});

test('a field with a tab, a newline or a terminal escape cannot break a line or the terminal', (t) => {
  const crafted: ParkedSummary = {
    ...push,
    repository: 'https://example/\u001b[2Jrepo\tx\ny',
    reason: 'perm\u0007anent',
  };
  const line = parkedLines([crafted]);
  t.is(line.split('\t').length, 5);
  t.is(line.split('\n').length, 2);
  // eslint-disable-next-line no-control-regex
  t.notRegex(line, /[\u0000-\u0008\u000b-\u001f]/);
  t.regex(line, /\thttps:\/\/example\/\?\[2Jrepo x; y\tperm\?anent\t/);
  // eslint-disable-next-line no-control-regex
  t.notRegex(parkedTable([crafted], NOW), /[\u0000-\u0009\u000b-\u001f]/);
});
