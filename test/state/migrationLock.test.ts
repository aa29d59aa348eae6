/**
 * Migration 0003 copies the ledger into a table keyed by landing, then drops the old one. On
 * PostgreSQL a process of the old version may still be writing meanwhile: a row it commits
 * after the copy read the table must not vanish with the dropped table (its ping would be
 * sent again). Here such a writer holds an insert open while the new version migrates.
 */
import test from 'ava';
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStore } from '../../src/state/engines/openStore.js';
import { postgresHarness } from './support/postgresHarness.js';
import { randomNode } from './support/harness.js';
import { migrateTo } from './support/migratedTo.js';

test('PostgreSQL: a ledger row an old-version process commits during migration 0003 is kept', async (t) => {
  const harness = await postgresHarness();
  t.teardown(() => harness.teardown());
  const target = await harness.fresh();
  if (target.engine !== 'postgres') throw new Error('a PostgreSQL harness gave another engine');
  await migrateTo(target, '0002_leases');
  const repository = 'https://hg.example/integration/autoland';
  const node = randomNode();

  // The old version's writer: its insert is in, not yet committed, when the migration starts.
  const writer = new pg.Client({ connectionString: target.url });
  await writer.connect();
  t.teardown(() => writer.end());
  await writer.query('BEGIN');
  await writer.query(
    `INSERT INTO ledger (node, repository, push_id, review_system, sent_at)
     VALUES ($1, $2, 182540, 'phabricator', 1000)`,
    [node, repository],
  );
  const opening = openStore(target);
  opening.catch(() => undefined);
  await sleep(500);
  await writer.query('COMMIT');

  const store = await opening;
  t.teardown(() => store.close());
  t.true(await store.isSent({ repository, node }), 'the row committed during the migration');
});
