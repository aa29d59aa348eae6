/**
 * When a one-shot run stops waiting (src/cli/shared/giveUp.ts): pure rules, on a fixed clock.
 */
import test from 'ava';
import { reasonToGiveUp, waitingHosts, type HostsState } from '../../../src/cli/shared/giveUp.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const rules = {
  maxWaitMs: 60_000,
  settingFor: (host: string) => (host === 'tmo.example' ? 'TMO_BASE_URL' : 'BMO_API_URL'),
};
const since = (secondsAgo: number) => new Date(NOW - secondsAgo * 1000);

test('a host refusing every request with one 4xx: stop at once, naming its setting', (t) => {
  const hosts = [
    {
      host: 'tmo.example',
      since: since(1),
      reason: { kind: 'refusing' as const, status: 404, failures: 5 },
    },
  ];
  t.is(
    reasonToGiveUp(hosts, rules, NOW),
    'tmo.example answered 5 requests in a row with 404, which waiting will not mend: check TMO_BASE_URL',
  );
});

test('a host down: waited for up to --max-wait, then stop with the cause', (t) => {
  const down = (secondsAgo: number) => [
    {
      host: 'bmo.example',
      since: since(secondsAgo),
      reason: { kind: 'failing' as const, failures: 3, error: 'connect ECONNREFUSED' },
    },
  ];
  t.is(reasonToGiveUp(down(59), rules, NOW), undefined);
  t.is(
    reasonToGiveUp(down(60), rules, NOW),
    'bmo.example has been down since 11:59:00 UTC (connect ECONNREFUSED), longer than --max-wait (60 s): check that it is up, and BMO_API_URL',
  );
});

test('a wait with a known end is waited out however long; once past its end it counts again', (t) => {
  const held = (until: number) => [
    { host: 'bmo.example', since: since(600), reason: undefined, until: new Date(until) },
  ];
  t.is(reasonToGiveUp(held(NOW + 3_600_000), rules, NOW), undefined);
  t.regex(reasonToGiveUp(held(NOW - 1), rules, NOW) ?? '', /longer than --max-wait/);
});

test('waitingHosts: hosts down, and hosts that asked to be left alone, with their end', (t) => {
  const state: HostsState = {
    downHosts: () => [{ host: 'a', since: since(5), reason: undefined }],
    hosts: () => [{ host: 'a' }, { host: 'b' }, { host: 'c' }],
    heldUntil: (host) => (host === 'b' ? NOW + 30_000 : 0),
  };
  const waiting = waitingHosts(state);
  t.deepEqual(
    waiting.map(({ host, until }) => [host, until?.getTime()]),
    [
      ['a', undefined],
      ['b', NOW + 30_000],
    ],
  );
});
