import test from 'ava';
import fc from 'fast-check';
import { Checkpoint } from '../../streams/checkpoint.js';

const issueAll = (checkpoint: Checkpoint, ids: readonly number[]): Checkpoint => {
  for (const id of ids) checkpoint.issued(id);
  return checkpoint;
};

test('starts at the starting push id', (t) => {
  t.is(new Checkpoint(41).resumeAfter, 41);
  t.is(issueAll(new Checkpoint(41), [42, 43]).resumeAfter, 41, 'issuing does not move it');
});

test('in-order completion moves the mark push by push', (t) => {
  const checkpoint = issueAll(new Checkpoint(10), [11, 12, 13]);
  checkpoint.done(11, true);
  t.is(checkpoint.resumeAfter, 11);
  checkpoint.done(12, true);
  t.is(checkpoint.resumeAfter, 12);
  checkpoint.done(13, true);
  t.is(checkpoint.resumeAfter, 13);
});

test('out-of-order completion: the mark waits for the oldest push, then jumps', (t) => {
  const checkpoint = issueAll(new Checkpoint(0), [1, 2, 3, 4, 5]);
  checkpoint.done(3, true);
  checkpoint.done(2, true);
  checkpoint.done(5, true);
  t.is(checkpoint.resumeAfter, 0, 'push 1 is still in flight');
  checkpoint.done(1, true);
  t.is(checkpoint.resumeAfter, 3, 'up to the gap at push 4');
  checkpoint.done(4, true);
  t.is(checkpoint.resumeAfter, 5);
});

test('a failed push blocks the mark just before it, whatever completes afterwards', (t) => {
  const checkpoint = issueAll(new Checkpoint(100), [101, 102, 103, 104]);
  checkpoint.done(101, true);
  checkpoint.done(102, false);
  checkpoint.done(103, true);
  checkpoint.done(104, true);
  t.is(checkpoint.resumeAfter, 101);
  checkpoint.issued(105);
  checkpoint.done(105, true);
  t.is(checkpoint.resumeAfter, 101, 'pushes issued later do not move it either');
});

test('a failure that completes before the pushes before it: the mark still reaches them', (t) => {
  const checkpoint = issueAll(new Checkpoint(0), [1, 2, 3, 4]);
  checkpoint.done(3, false);
  checkpoint.done(4, true);
  t.is(checkpoint.resumeAfter, 0);
  checkpoint.done(2, true);
  t.is(checkpoint.resumeAfter, 0, 'push 1 is not done yet');
  checkpoint.done(1, true);
  t.is(checkpoint.resumeAfter, 2, 'the last push before the failed one');
});

test('a failure of the first push leaves the mark at the start', (t) => {
  const checkpoint = issueAll(new Checkpoint(7), [8, 9]);
  checkpoint.done(9, true);
  checkpoint.done(8, false);
  t.is(checkpoint.resumeAfter, 7);
});

test('ids with gaps (pushes missing from the pushlog) are followed as issued', (t) => {
  const checkpoint = issueAll(new Checkpoint(0), [3, 7, 20]);
  checkpoint.done(7, true);
  checkpoint.done(3, true);
  t.is(checkpoint.resumeAfter, 7);
  checkpoint.done(20, true);
  t.is(checkpoint.resumeAfter, 20);
});

test('issuing and completing interleaved, as a paged source does', (t) => {
  const checkpoint = new Checkpoint(0);
  issueAll(checkpoint, [1, 2]);
  checkpoint.done(2, true);
  issueAll(checkpoint, [3, 4]);
  checkpoint.done(1, true);
  t.is(checkpoint.resumeAfter, 2);
  checkpoint.done(4, true);
  issueAll(checkpoint, [5]);
  checkpoint.done(3, true);
  t.is(checkpoint.resumeAfter, 4);
  checkpoint.done(5, true);
  t.is(checkpoint.resumeAfter, 5);
});

test('property: the mark is the highest push with it and every push before it done and ok', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.array(fc.record({ gap: fc.integer({ min: 1, max: 3 }), ok: fc.boolean() }), {
          minLength: 1,
          maxLength: 40,
        }),
        fc.func(fc.integer()),
        fc.integer({ min: 0, max: 40 }),
        (start, specs, rank, doneCount) => {
          let id = start;
          const pushes = specs.map(({ gap, ok }) => ({ id: (id += gap), ok }));
          const checkpoint = issueAll(
            new Checkpoint(start),
            pushes.map((p) => p.id),
          );
          // Completion in an arbitrary order, of an arbitrary number of the pushes.
          const order = [...pushes].sort((a, b) => rank(a.id) - rank(b.id) || a.id - b.id);
          const done = order.slice(0, doneCount);
          for (const push of done) checkpoint.done(push.id, push.ok);
          const finished = new Set(done.map((p) => p.id));
          let expected = start;
          for (const push of pushes) {
            if (!finished.has(push.id) || !push.ok) break;
            expected = push.id;
          }
          return checkpoint.resumeAfter === expected;
        },
      ),
      { numRuns: 500 },
    ),
  );
});
