/**
 * telemetry-status on PostgreSQL counts claims by the database's clock, as the worker and the
 * backfills write them (databaseClock.ts): an operator's host whose clock runs ahead does not
 * show live claims as expired.
 */
import test from 'ava';
import { openStore } from '../../src/state/engines/openStore.js';
import { openStoreReader } from '../../src/state/storeReader.js';
import { postgresHarness } from './support/postgresHarness.js';
import { randomNode, randomRepository, type Harness } from './support/harness.js';

let harness: Harness | undefined;
test.before(async () => {
  harness = await postgresHarness();
});
test.after.always(async () => {
  await harness?.teardown();
});

test('a host two minutes ahead counts a live claim as held', async (t) => {
  const target = await harness!.fresh();
  const worker = await openStore(target);
  t.teardown(() => worker.close().catch(() => undefined));
  t.is(await worker.claim({ repository: randomRepository(), node: randomNode() }), 'claimed');
  // The only test of this file: the clock of the whole process is moved, then put back.
  const realNow = Date.now.bind(Date);
  Date.now = () => realNow() + 120_000;
  t.teardown(() => {
    Date.now = realNow;
  });
  const reader = await openStoreReader(target);
  t.teardown(() => reader.close());
  t.like((await reader.status()).claims, { held: 1, expired: 0 });
});
