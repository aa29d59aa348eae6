import test from 'ava';
import { ManualClock, randomNode, randomRepository } from '../support/harness.js';
import type { Suite } from './index.js';

const HOUR = 60 * 60 * 1000;

export const statusTests = ({ open }: Suite): void => {
  test('status counts per repository: watermark, last settled, pings, claims, parked', async (t) => {
    const clock = new ManualClock();
    const store = await open(t, { now: clock.now, leaseSeconds: 60 });
    const [busy, quiet] = [randomRepository(), randomRepository()];
    const send = (reviewSystem: string) =>
      store.recordSent({ node: randomNode(), repository: busy, pushId: 1, reviewSystem });

    await send('phabricator'); // 8 days before the status: counted nowhere
    clock.advance(5 * 24 * HOUR);
    await send('phabricator'); // 3 days before: the week only
    await send('bmo');
    await store.startWatermark(busy, 100);
    await store.pushSettled(busy, 100);
    const settledAt = clock.time;
    clock.advance(2 * 24 * HOUR);
    await send('phabricator'); // 1 hour before: the day and the week
    await store.claim({ repository: busy, node: randomNode() }); // will have expired
    clock.advance(HOUR - 30_000);
    await store.claim({ repository: busy, node: randomNode() }); // still held
    await store.park({ repository: quiet, pushId: 5, reason: 'an operator looks into it' });
    clock.advance(30_000);

    const status = await store.status();
    t.is(status.at, clock.time);
    const mine = status.repositories.filter((r) => r.repository === busy || r.repository === quiet);
    t.deepEqual(
      mine.sort((x, y) => (x.repository === busy ? -1 : y.repository === busy ? 1 : 0)),
      [
        {
          repository: busy,
          watermark: 100,
          lastSettledAt: settledAt,
          sentLast24Hours: { phabricator: 1 },
          sentLast7Days: { phabricator: 2, bmo: 1 },
          claims: { held: 1, expired: 1 },
          parked: 0,
        },
        {
          repository: quiet,
          watermark: undefined,
          lastSettledAt: clock.time - 30_000,
          sentLast24Hours: {},
          sentLast7Days: {},
          claims: { held: 0, expired: 0 },
          parked: 1,
        },
      ],
    );
    const sum = (key: 'held' | 'expired') =>
      status.repositories.reduce((n, r) => n + r.claims[key], 0);
    t.deepEqual(status.claims, { held: sum('held'), expired: sum('expired') });
    t.true(status.claims.held >= 1 && status.claims.expired >= 1);
  });
};
