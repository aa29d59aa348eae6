import test from 'ava';
import { ManualClock, randomNode, randomRepository } from '../support/harness.js';
import { migrateTo } from '../support/migratedTo.js';
import type { Suite } from './index.js';

/** The ledger, claims and parked changesets, as plain rows in a stable order. */
const rowsOf = async ({ harness }: Suite, target: Parameters<Suite['open']>[2]) => {
  const query = (sql: string) => harness().query(target!, sql);
  // PostgreSQL's int8 comes back as a string here (a plain client), SQLite's as a number.
  const numbers = (rows: Record<string, unknown>[], ...keys: string[]) =>
    rows.map((r) => ({ ...r, ...Object.fromEntries(keys.map((k) => [k, Number(r[k])])) }));
  return {
    ledger: numbers(
      await query(
        'SELECT repository, node, push_id, review_system, sent_at FROM ledger ORDER BY node, repository',
      ),
      'sent_at',
    ),
    claims: numbers(
      await query('SELECT repository, node, owner, expires_at FROM claims ORDER BY node'),
      'expires_at',
    ),
    parked: numbers(
      await query('SELECT repository, push_id, node, reason FROM parked ORDER BY push_id'),
      'push_id',
    ),
  };
};

export const landingTests = (suite: Suite): void => {
  const { open } = suite;

  test('the same node in two repositories is two landings; twice in one repository, one', async (t) => {
    const [a, b] = [await open(t), await open(t)];
    const node = randomNode();
    const [autoland, central] = [randomRepository(), randomRepository()];
    t.is(await a.claim({ repository: autoland, node }), 'claimed');
    t.is(await b.claim({ repository: central, node }), 'claimed', 'not held: another landing');
    t.false(await b.holdsClaim({ repository: autoland, node }));
    await a.recordSent({ repository: autoland, node, pushId: 1, reviewSystem: 'phabricator' });
    t.true(await a.isSent({ repository: autoland, node }));
    t.false(await a.isSent({ repository: central, node }), 'sent for autoland only');
    t.true(await b.holdsClaim({ repository: central, node }), 'the other claim untouched');
    await b.recordSent({ repository: central, node, pushId: 9, reviewSystem: 'phabricator' });
    t.is(await a.claim({ repository: central, node }), 'sent');
    t.is(await b.claim({ repository: autoland, node }), 'sent');
    // The repository as the ping writes it: a trailing slash is the same landing.
    t.is(await a.claim({ repository: `${autoland}/`, node }), 'sent');
    await a.recordSent({ repository: `${autoland}//`, node, reviewSystem: 'bmo' });
    const sent = await suite
      .harness()
      .query(
        suite.harness().shared,
        `SELECT repository FROM ledger WHERE node = '${node}' ORDER BY repository`,
      );
    t.deepEqual(sent.map((r) => r.repository).sort(), [autoland, central].sort());
  });

  test('a changeset is parked once per repository', async (t) => {
    const store = await open(t);
    const node = randomNode();
    const [autoland, central] = [randomRepository(), randomRepository()];
    await store.park({ repository: autoland, pushId: 3, node, reason: 'bad diffstat' });
    await store.park({ repository: autoland, pushId: 3, node, reason: 'parked twice' });
    await store.park({ repository: central, pushId: 7, node, reason: 'bad diffstat' });
    const counts = await store.parkedCounts();
    t.is(counts[autoland], 1);
    t.is(counts[central], 1);
  });

  test('a store of the version keyed by node alone migrates: every row kept, nothing sent again', async (t) => {
    const target = await suite.harness().fresh();
    await migrateTo(target, '0002_leases');
    const clock = new ManualClock();
    const [autoland, central] = [
      'https://hg.example/integration/autoland',
      'https://hg.example/m-c',
    ];
    const [a, b, c, dumped] = [randomNode(), randomNode(), randomNode(), randomNode()];
    const [live, lapsed] = [randomNode(), randomNode()];
    // Rows as that version wrote them: one per node, with the repository it was sent for.
    await suite.harness().query(
      target,
      `INSERT INTO ledger (node, repository, push_id, review_system, sent_at) VALUES
         ('${a}', '${autoland}', 182540, 'phabricator', 1000),
         ('${b}', '${autoland}', 182541, 'no_bug', 2000),
         ('${c}', '${central}', 41871, 'review_unneeded', 3000),
         ('${dumped}', '${central}', NULL, 'bmo', 4000);
       INSERT INTO claims (node, repository, owner, expires_at) VALUES
         ('${live}', '${autoland}', 'old-worker', ${clock.time + 3_600_000}),
         ('${lapsed}', '${autoland}', 'old-worker', ${clock.time - 1});
       INSERT INTO parked (repository, push_id, node, reason, parked_at) VALUES
         ('${autoland}', 182542, '${c}', 'telemetry refuses it', 5000),
         ('${central}', 41872, NULL, 'undecodable', 6000)`,
    );
    const before = await rowsOf(suite, target);
    t.is(before.ledger.length, 4);

    const store = await open(t, { now: clock.now, owner: 'new-worker' }, target);
    t.deepEqual(await rowsOf(suite, target), before, 'every row kept, with its repository');
    t.deepEqual(
      (await suite.harness().query(target, 'SELECT name FROM kysely_migration ORDER BY name'))
        .map((r) => r.name)
        .slice(0, 3),
      ['0001_initial', '0002_leases', '0003_landing_key'],
    );

    // A backfill over the same landings: the claim finds each in the ledger, sends nothing.
    for (const row of before.ledger) {
      const landing = { repository: row.repository as string, node: row.node as string };
      t.is(await store.claim(landing), 'sent', `${landing.node} in ${landing.repository}`);
    }
    t.is(await store.claim({ repository: autoland, node: live }), 'held', 'the live claim holds');
    t.is(await store.claim({ repository: autoland, node: lapsed }), 'claimed');
    // The same changesets in the other repository are landings of their own, never sent.
    t.is(await store.claim({ repository: central, node: a }), 'claimed');
    t.is(await store.claim({ repository: autoland, node: c }), 'claimed');
    await store.park({ repository: autoland, pushId: 182542, node: c, reason: 'again' });
    await store.park({ repository: central, pushId: 41871, node: c, reason: 'elsewhere' });
    t.deepEqual(await store.parkedCounts(), { [autoland]: 1, [central]: 2 });
  });
};
