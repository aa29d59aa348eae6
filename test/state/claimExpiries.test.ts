import test from 'ava';
import { ClaimExpiries } from '../../src/state/claimExpiries.js';

test('a claim is surely live until the moment its lease runs out, not at it', (t) => {
  const expiries = new ClaimExpiries();
  expiries.claimed('a', 1_000);
  t.true(expiries.surelyLive('a', 999));
  t.false(expiries.surelyLive('a', 1_000));
  t.false(expiries.surelyLive('unknown', 0), 'a claim never made is asked about');
});

test('a dropped claim is no longer known live; droppedAll forgets every one', (t) => {
  const expiries = new ClaimExpiries();
  expiries.claimed('a', 1_000);
  expiries.claimed('b', 1_000);
  expiries.dropped('a');
  t.false(expiries.surelyLive('a', 0));
  t.true(expiries.surelyLive('b', 0));
  expiries.droppedAll();
  t.false(expiries.surelyLive('b', 0));
});

test('a renewal extends only the claims whose lease ran past the moment it finished', (t) => {
  const expiries = new ClaimExpiries();
  expiries.claimed('live', 2_000);
  // Its lease ran out before the renewal finished: another process may have taken it over.
  expiries.claimed('lapsed', 1_500);
  expiries.renewed(5_000, 1_600);
  t.true(expiries.surelyLive('live', 4_999));
  t.false(expiries.surelyLive('lapsed', 1_600), 'still the old lease: the database is asked');
});
