import test from 'ava';
import { PassThrough } from 'node:stream';
import { tellResume } from '../../../../src/cli/shared/backfill/resumeCommand.js';

/** What tellResume writes for a person at a terminal. */
const told = (unit: 'push' | 'commit', resumeAfter: number | string): string => {
  const out = new PassThrough();
  tellResume(unit, resumeAfter, 'backfill REPO FROM TO', { tty: true, out });
  return String(out.read());
};

test('a pushlog resume starts after the last push completely done', (t) => {
  t.is(
    told('push', 6),
    'To resume after push 6, the last one completely done:\n  backfill REPO FROM TO\n',
  );
});

test('a git resume names a commit done with all it descends from, not the last one done', (t) => {
  // GitCompareSource.resumePoint may hold the resume before commits done later in the run.
  t.is(
    told('commit', 'abc123'),
    'To resume after commit abc123, done with every commit it descends from:\n  backfill REPO FROM TO\n',
  );
});
