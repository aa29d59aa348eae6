/**
 * Migration 0005 and the git watermarks, on a real SQLite file and a real PostgreSQL
 * database: a store of the previous version gains the table with nothing else changed; a
 * watermark is created once, moves only from the base of a settled push, and is listed.
 */
import test from 'ava';
import { openStore } from '../../src/state/engines/openStore.js';
import type { Harness } from './support/harness.js';
import { ManualClock, randomId } from './support/harness.js';
import { postgresHarness } from './support/postgresHarness.js';
import { sqliteHarness } from './support/sqliteHarness.js';
import { migrateTo } from './support/migratedTo.js';

const engines: readonly [string, () => Promise<Harness>][] = [
  ['SQLite', sqliteHarness],
  ['PostgreSQL', postgresHarness],
];
const sha = () => randomId(20);

for (const [engine, makeHarness] of engines) {
  test(`${engine}: 0005 adds the git watermarks; one per branch, moved from its base only`, async (t) => {
    const harness = await makeHarness();
    t.teardown(() => harness.teardown());
    const target = await harness.fresh();
    await migrateTo(target, '0004_canonical_repository');
    await harness.query(
      target,
      `INSERT INTO watermarks (repository, push_id, settled_at) VALUES ('https://hg.example/r', 9, 900)`,
    );
    const clock = new ManualClock();
    const store = await openStore(target, { now: clock.now });
    t.teardown(() => store.close());
    t.is(await store.watermark('https://hg.example/r'), 9, 'the pushlog watermarks are kept');

    const autoland = 'https://github.com/mozilla-firefox/firefox/tree/autoland';
    const esr = 'https://github.com/mozilla-firefox/firefox/tree/release/esr-128';
    const [a, b, c, d] = [sha(), sha(), sha(), sha()];
    t.is(await store.gitWatermark(autoland), undefined);
    await store.startGitWatermark(autoland, a);
    await store.startGitWatermark(autoland, b); // there already: the first stands
    await store.startGitWatermark(esr, d);
    t.is(await store.gitWatermark(autoland), a);
    t.deepEqual(await store.gitRepositoriesWithWatermark(), [autoland, esr]);

    // b...c settled before a...b: the watermark does not jump over a...b.
    t.is(await store.gitPushSettled(autoland, b, c), a);
    t.is(await store.gitPushSettled(autoland, a, b), b);
    t.is(await store.gitPushSettled(autoland, b, c), c);
    t.is(await store.gitPushSettled('https://github.com/o/r/tree/main', a, b), undefined);
    // telemetry-status: each branch's watermark is its commit, beside the hg push ids.
    const { repositories } = await store.status();
    t.deepEqual(
      repositories.map((r) => [r.repository, r.watermark]),
      [
        [autoland, c],
        [esr, d],
        ['https://hg.example/r', 9],
      ],
    );
    const applied = await harness.query(target, 'SELECT name FROM kysely_migration');
    t.true(applied.some((row) => row.name === '0005_git_watermarks'));
  });
}
