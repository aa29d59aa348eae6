import test from 'ava';
import { formatDuration, PaceWindow } from '../../../../src/cli/shared/backfill/eta.js';

test('PaceWindow slows down when nothing arrives', (t) => {
  const pace = new PaceWindow(0, 60_000);
  for (let s = 1; s <= 120; s += 1) pace.add(s * 1000, s * 2);
  t.is(pace.perSecond(120_000), 2);
  t.true(pace.perSecond(150_000)! < 1.5);
});

test('PaceWindow goes by the last window only, not by the average since the start', (t) => {
  const pace = new PaceWindow(0, 10_000);
  for (let s = 1; s <= 10; s += 1) pace.add(s * 1000, s * 10);
  for (let s = 11; s <= 30; s += 1) pace.add(s * 1000, 100 + (s - 10));
  t.is(pace.perSecond(30_000), 1);
});

test('PaceWindow knows no pace before a second has passed, or while nothing is done', (t) => {
  const pace = new PaceWindow(0);
  pace.add(500, 3);
  t.is(pace.perSecond(500), undefined);
  const idle = new PaceWindow(0);
  idle.add(5000, 0);
  t.is(idle.perSecond(5000), undefined);
});

test('etaSeconds: what is left at the recent pace; null when unknown; 0 when nothing is left', (t) => {
  const pace = new PaceWindow(0);
  t.is(pace.etaSeconds(0, 10), null);
  for (let s = 1; s <= 20; s += 1) pace.add(s * 1000, s * 4);
  t.is(pace.etaSeconds(20_000, 100), 25);
  t.is(pace.etaSeconds(20_000, 0), 0);
  t.is(new PaceWindow(0).etaSeconds(0, 0), 0);
});

test('formatDuration', (t) => {
  t.deepEqual([null, 0, 42.4, 65, 3599, 7620].map(formatDuration), [
    '--',
    '0s',
    '42s',
    '1m 05s',
    '59m 59s',
    '2h 07m',
  ]);
});
