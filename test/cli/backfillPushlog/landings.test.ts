/**
 * A landing is a changeset in a repository (issue 18): the recorded autoland pushes and the
 * mozilla-central push that merges some of them, backfilled one after the other into one store
 * by the built `backfill-pushlog`, against the loopback stand-ins.
 */
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ping } from '../../../src/codecs/ping.js';
import { documentId } from '../../../src/rules/ping.js';
import type { DatabaseTarget } from '../../../src/state/engines/databaseUrl.js';
import type { Harness } from '../../state/support/harness.js';
import { postgresHarness } from '../../state/support/postgresHarness.js';
import { sqliteHarness } from '../../state/support/sqliteHarness.js';
import { migrateTo } from '../../state/support/migratedTo.js';
import { runCommand } from '../../support/cli.js';
import { FIXTURES_DIR, recordedFixtures } from '../../support/data/fixtureData.js';
import { startFixtures, type Fixtures } from '../../support/standIns/fixtureServer.js';

const SUBMIT = 'PUT /submit/eng-workflow/hgpush/1/';
const REAL_HG = 'https://hg.mozilla.org';
const data = recordedFixtures();

/** A recorded repository: its path, its push range as the backfill takes it, its expected pings. */
const repository = (path: string, file: string) => {
  const ids = Object.keys(data.pushlog(path)?.pushes ?? {}).map(Number);
  const expected = JSON.parse(readFileSync(join(FIXTURES_DIR, 'expected', file), 'utf8')) as Record<
    string,
    Ping
  >;
  // The backfill's range leaves out its first push: `after` is the one before the oldest.
  return { path, after: Math.min(...ids) - 1, last: Math.max(...ids), expected };
};
const AUTOLAND = repository('integration/autoland', 'autoland-pings.json');
const CENTRAL = repository('mozilla-central', 'mozilla-central-pings.json');
type Repository = typeof AUTOLAND;

const databaseUrl = (target: DatabaseTarget): string =>
  target.engine === 'sqlite' ? `sqlite:${target.path}` : target.url;

const putsOf = (fx: Fixtures) => fx.tmo.requests.filter((r) => r.startsWith('PUT '));

/** Backfills the repository's recorded pushes into the store; answers the PUTs it made. */
const backfill = async (t: ExecutionContext, fx: Fixtures, store: string, repo: Repository) => {
  const before = putsOf(fx).length;
  const result = await runCommand(
    'backfillPushlog',
    ['--yes', fx.repo(repo.path), String(repo.after), String(repo.last)],
    { ...fx.env, DATABASE_URL: store },
  );
  t.is(result.code, 0, result.stderr.slice(-2000));
  return putsOf(fx).slice(before);
};

/** The PUTs one backfill of the repository must make: one per expected ping, at its landing's id. */
const expectedPuts = (fx: Fixtures, repo: Repository): string[] =>
  Object.keys(repo.expected).map((node) => `${SUBMIT}${documentId(fx.repo(repo.path), node)}`);

/** Each ping telemetry received is the expected one, for the repository it was sent for. */
const checkPings = (t: ExecutionContext, fx: Fixtures, repo: Repository) => {
  const url = fx.repo(repo.path);
  for (const [node, ping] of Object.entries(repo.expected)) {
    const path = `${SUBMIT.slice('PUT '.length)}${documentId(url, node)}`;
    t.deepEqual(
      fx.tmo.received.get(path),
      { ...ping, repository: ping.repository.replace(REAL_HG, fx.hg.url) },
      `${node} in ${repo.path}`,
    );
  }
};

const withStore = async (t: ExecutionContext, makeHarness: () => Promise<Harness>) => {
  const harness = await makeHarness();
  t.teardown(() => harness.teardown());
  const fx = await startFixtures();
  t.teardown(() => fx.close());
  return { harness, fx, target: await harness.fresh() };
};

// The store suite runs every store test on both engines; here each scenario takes one, so
// that six runs of the command are enough.

test('autoland, then mozilla-central over the same pushes: both sets of pings, with their own document ids', async (t) => {
  const { fx, target } = await withStore(t, sqliteHarness);
  const store = databaseUrl(target);
  const shared = Object.keys(CENTRAL.expected).filter((node) => node in AUTOLAND.expected);
  t.true(shared.length > 0, 'the fixtures share changesets');

  t.deepEqual((await backfill(t, fx, store, AUTOLAND)).sort(), expectedPuts(fx, AUTOLAND).sort());
  t.deepEqual((await backfill(t, fx, store, CENTRAL)).sort(), expectedPuts(fx, CENTRAL).sort());
  checkPings(t, fx, AUTOLAND);
  checkPings(t, fx, CENTRAL);
  for (const node of shared) {
    t.not(documentId(fx.repo(AUTOLAND.path), node), documentId(fx.repo(CENTRAL.path), node));
  }
  t.is(new Set(putsOf(fx)).size, putsOf(fx).length, 'no document id twice');

  // The same landings again: the ledger has each one.
  t.deepEqual(await backfill(t, fx, store, AUTOLAND), []);
  t.deepEqual(await backfill(t, fx, store, CENTRAL), []);
});

test('a PostgreSQL store of the version keyed by node alone, with autoland sent: nothing again, mozilla-central sent', async (t) => {
  const { harness, fx, target } = await withStore(t, postgresHarness);
  await migrateTo(target, '0002_leases');
  // The ledger as that version left it after backfilling autoland.
  const pushOf = new Map(
    Object.entries(data.pushlog(AUTOLAND.path)?.pushes ?? {}).flatMap(([id, push]) =>
      push.changesets.map((node) => [node, Number(id)] as const),
    ),
  );
  const rows = Object.values(AUTOLAND.expected).map(
    (ping) =>
      `('${ping.changesetID}', '${fx.repo(AUTOLAND.path)}', ${pushOf.get(ping.changesetID)}, '${ping.reviewSystemUsed}', 1)`,
  );
  await harness.query(
    target,
    `INSERT INTO ledger (node, repository, push_id, review_system, sent_at) VALUES ${rows.join(', ')}`,
  );
  const store = databaseUrl(target);

  t.deepEqual(await backfill(t, fx, store, AUTOLAND), [], 'nothing sent again');
  t.deepEqual((await backfill(t, fx, store, CENTRAL)).sort(), expectedPuts(fx, CENTRAL).sort());
  checkPings(t, fx, CENTRAL);
  const ledger = await harness.query(target, 'SELECT repository FROM ledger');
  t.is(ledger.length, rows.length + Object.keys(CENTRAL.expected).length);
});
