/**
 * Migration 0004: a store written before repository URLs had one canonical form holds the
 * same repository under several spellings. After it, each has one: one ledger (no landing
 * sent twice), one watermark (the higher), and the store's keys all use the canonical form.
 * Run on a real SQLite file and a real PostgreSQL database.
 */
import test from 'ava';
import { openStore } from '../../src/state/engines/openStore.js';
import type { Harness } from './support/harness.js';
import { ManualClock, randomNode } from './support/harness.js';
import { postgresHarness } from './support/postgresHarness.js';
import { sqliteHarness } from './support/sqliteHarness.js';
import { migrateTo } from './support/migratedTo.js';

const engines: readonly [string, () => Promise<Harness>][] = [
  ['SQLite', sqliteHarness],
  ['PostgreSQL', postgresHarness],
];

for (const [engine, makeHarness] of engines) {
  test(`${engine}: two spellings of a repository merge into its canonical one`, async (t) => {
    const harness = await makeHarness();
    t.teardown(() => harness.teardown());
    const target = await harness.fresh();
    await migrateTo(target, '0003_landing_key');
    const canonical = 'http://localhost/x';
    const spellings = ['http://LOCALHOST:80/x/', 'http://localhost/x/', canonical];
    const [both, onlyOld, onlyNew] = [randomNode(), randomNode(), randomNode()];
    const clock = new ManualClock();
    await harness.query(
      target,
      `INSERT INTO ledger (repository, node, push_id, review_system, sent_at) VALUES
         ('${spellings[0]}', '${both}', 7, 'phabricator', 1000),
         ('${spellings[2]}', '${both}', 7, 'phabricator', 1001),
         ('${spellings[0]}', '${onlyOld}', 8, 'no_bug', 2000),
         ('${spellings[2]}', '${onlyNew}', 9, 'no_bug', 3000);
       INSERT INTO pushes (repository, push_id, settled_at) VALUES
         ('${spellings[0]}', 7, 1000), ('${spellings[2]}', 7, 1001), ('${spellings[1]}', 12, 1200);
       INSERT INTO watermarks (repository, push_id, settled_at) VALUES
         ('${spellings[0]}', 9, 900), ('${spellings[1]}', 11, 1100), ('${spellings[2]}', 10, 1000);
       INSERT INTO parked (repository, push_id, node, reason, parked_at) VALUES
         ('${spellings[0]}', 13, NULL, 'undecodable', 5000),
         ('${spellings[2]}', 13, NULL, 'undecodable', 5001),
         ('HTTP://OTHER.example:443/y', 14, NULL, 'undecodable', 6000)`,
    );

    const store = await openStore(target, { now: clock.now });
    t.teardown(() => store.close());
    const ledger = await harness.query(
      target,
      'SELECT repository, node, sent_at FROM ledger ORDER BY node',
    );
    t.deepEqual(
      new Set(ledger.map((row) => row.repository)),
      new Set([canonical]),
      'the ledger keeps the canonical spelling only',
    );
    t.is(ledger.length, 3, 'one row per landing');
    for (const node of [both, onlyOld, onlyNew]) {
      for (const spelling of spellings) {
        t.is(await store.claim({ repository: spelling, node }), 'sent', `${node} as ${spelling}`);
      }
    }
    t.deepEqual(await store.repositoriesWithWatermark(), [canonical], 'one watermark');
    t.is(await store.watermark(canonical), 11, 'the higher of the three');
    t.deepEqual(await store.settledPushes(canonical, 6, 12), [7, 8, 9, 10, 11, 12]);
    t.deepEqual(await store.parkedCounts(), {
      [canonical]: 1,
      'http://other.example:443/y': 1,
    });
    const applied = await harness.query(target, 'SELECT name FROM kysely_migration');
    t.true(applied.some((row) => row.name === '0004_canonical_repository'));
  });
}
