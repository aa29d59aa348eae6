import test from 'ava';
import { IdleClock } from '../../../streams/pulse/inFlight.js';

/** An IdleClock on a clock the test moves, with deliveries the test makes. */
const clocked = () => {
  const at = { now: 1_000, delivered: 1_000 };
  const clock = new IdleClock(
    () => at.delivered,
    () => at.now,
  );
  const idle = () => at.now - clock.lastDeliveryAt;
  return { at, clock, idle };
};

test('idle time grows while consuming and stands still while paused', (t) => {
  const { at, clock, idle } = clocked();
  at.now += 300;
  t.is(idle(), 300);
  clock.pause();
  at.now += 5_000;
  t.is(idle(), 300);
  clock.resume();
  at.now += 200;
  t.is(idle(), 500);
});

test('a delivery starts the count again; earlier pauses no longer count', (t) => {
  const { at, clock, idle } = clocked();
  clock.pause();
  at.now += 1_000;
  clock.resume();
  at.now += 100;
  at.delivered = at.now;
  at.now += 50;
  t.is(idle(), 50);
  clock.pause();
  at.now += 400;
  clock.pause(); // a second pause() while paused changes nothing
  at.now += 400;
  clock.resume();
  clock.resume();
  at.now += 25;
  t.is(idle(), 75);
});

test('a delivery not yet seen when a pause began still counts from itself', (t) => {
  const { at, clock, idle } = clocked();
  at.now += 500;
  at.delivered = at.now; // delivered, and nobody has read the clock since
  at.now += 100;
  clock.pause();
  at.now += 1_000;
  clock.resume();
  at.now += 10;
  t.is(idle(), 110);
});
