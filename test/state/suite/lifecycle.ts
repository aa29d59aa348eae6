import test from 'ava';
import { StoreError } from '../../../src/state/errors.js';
import { migrations } from '../../../src/state/schema/migrations.js';
import { openStore } from '../../../src/state/engines/openStore.js';
import { randomNode, randomRepository } from '../support/harness.js';
import type { Suite } from './index.js';

const MIGRATIONS = 'SELECT name FROM kysely_migration ORDER BY name';
const RELEASED = Object.keys(migrations)
  .sort()
  .map((name) => ({ name }));

export const lifecycleTests = ({ harness, open }: Suite): void => {
  test('opening an already migrated database changes nothing in it', async (t) => {
    const target = await harness().fresh();
    const first = await open(t, {}, target);
    const node = randomNode();
    const repository = randomRepository();
    await first.recordSent({ node, repository, reviewSystem: 'bmo' });
    const second = await open(t, {}, target);
    t.true(await second.isSent({ repository, node }));
    t.deepEqual(await harness().query(target, MIGRATIONS), RELEASED);
  });

  test('four stores opening a fresh database at once all start, and migrate it once', async (t) => {
    const target = await harness().fresh();
    const stores = await Promise.all([1, 2, 3, 4].map(() => open(t, {}, target)));
    t.deepEqual(await harness().query(target, MIGRATIONS), RELEASED);
    const [node, repository] = [randomNode(), randomRepository()];
    const outcomes = await Promise.all(stores.map((s) => s.claim({ repository, node })));
    t.deepEqual(outcomes.sort(), ['claimed', 'held', 'held', 'held']);
  });

  test('a migration that fails rejects with its reason and applies nothing', async (t) => {
    const target = await harness().fresh();
    await harness().query(target, 'CREATE TABLE parked (squatter integer)');
    const error = await t.throwsAsync(openStore(target), { instanceOf: StoreError });
    t.regex(
      error.message,
      /^cannot open the store \(\S+\): migration 0001_initial failed: .*parked/,
    );
    // PostgreSQL's DDL is transactional; SQLite's is too, under the store's BEGIN IMMEDIATE.
    await t.throwsAsync(harness().query(target, 'SELECT node FROM ledger'), { any: true });
  });

  test('a database that cannot be reached rejects with its reason, and no password', async (t) => {
    const { target, reason, secret } = harness().unreachable;
    const error = await t.throwsAsync(openStore(target, { connectTimeoutMs: 5_000 }), {
      instanceOf: StoreError,
    });
    t.regex(error.message, /^cannot open the store/);
    t.regex(error.message, reason);
    if (secret !== undefined) t.false(error.message.includes(secret));
  });

  test('a database that goes away under an open store fails the next call, without hanging', async (t) => {
    const target = await harness().fresh();
    const store = await open(t, {}, target);
    const [node, repository] = [randomNode(), randomRepository()];
    t.is(await store.claim({ repository, node }), 'claimed');
    await harness().destroy(target);
    const started = Date.now();
    await t.throwsAsync(store.recordSent({ node, repository, reviewSystem: 'bmo' }), {
      instanceOf: StoreError,
      message: /^recordSent \(\S+\): ./,
    });
    await t.throwsAsync(store.isSent({ repository, node }), { instanceOf: StoreError });
    t.true(Date.now() - started < 5_000);
  });
};
