/**
 * telemetry-status reads; it never creates or migrates a store. A DATABASE_URL that points at
 * the wrong place (or nowhere) is an error naming the setting and where it looked, not an
 * empty store reported as "no repository yet".
 */
import test from 'ava';
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore } from '../../../src/state/index.js';
import { runCommand } from '../../support/cli.js';
import { postgresHarness } from '../../state/support/postgresHarness.js';
import { readable } from '../readable.js';

const SERVER = 'postgres://postgres@127.0.0.1:5432';
const DIR = mkdtempSync(join(tmpdir(), 'cts-status-ro-'));
test.after.always(() => rmSync(DIR, { recursive: true, force: true }));
let files = 0;
const freshFile = () => join(DIR, `store-${(files += 1)}.sqlite`);

const harness = postgresHarness();
test.after.always(async () => (await harness).teardown());

/** The tables of a PostgreSQL database's public schema, read behind the command's back. */
const tablesOf = async (database: string): Promise<string[]> => {
  const client = new pg.Client({ connectionString: `${SERVER}/${database}` });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'",
    );
    return rows.map((r) => r.name).sort();
  } finally {
    await client.end();
  }
};

test('no DATABASE_URL and no store in the working directory: exit 1 naming DATABASE_URL and the file', async (t) => {
  const result = await runCommand('telemetryStatus', []);
  t.is(result.code, 1, result.stderr);
  t.is(result.stdout, '');
  t.regex(result.stderr, /DATABASE_URL/);
  t.regex(result.stderr, /\/cts-command-[^/\s]+\/commit-telemetry\.sqlite does not exist/);
  t.notRegex(result.stderr, /no repository yet/);
});

test('a SQLite file that does not exist is not created', async (t) => {
  const dir = mkdtempSync(join(DIR, 'empty-'));
  const path = join(dir, 'store.sqlite');
  const result = await runCommand('telemetryStatus', ['--json'], {
    DATABASE_URL: `sqlite:${path}`,
  });
  t.is(result.code, 1, result.stderr);
  t.is(result.stdout, '');
  t.true(result.stderr.includes(`${path} does not exist`), result.stderr);
  t.regex(result.stderr, /DATABASE_URL/);
  t.false(existsSync(path));
  // Nor the journal files a SQLite connection leaves beside its database.
  t.deepEqual(readdirSync(dir), []);
});

test('a SQLite file that holds no store is an error, and is left as it was', async (t) => {
  const path = freshFile();
  new Database(path).close(); // an empty database: some other program's, or a typo's
  const result = await runCommand('telemetryStatus', [], { DATABASE_URL: `sqlite:${path}` });
  t.is(result.code, 1, result.stderr);
  t.regex(result.stderr, /no store in sqlite:\S+ \(DATABASE_URL\)/);
  const db = new Database(path, { readonly: true });
  t.deepEqual(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all(), []);
  db.close();
});

test('a PostgreSQL database that holds no store: exit 1 naming it; no table is created', async (t) => {
  const target = await (await harness).fresh();
  const url = target.engine === 'postgres' ? target.url : '';
  const result = await runCommand('telemetryStatus', ['--json'], { DATABASE_URL: url });
  t.is(result.code, 1, result.stderr);
  t.is(result.stdout, '');
  t.true(result.stderr.includes(`no store in ${url} (DATABASE_URL)`), result.stderr);
  t.deepEqual(await tablesOf(new URL(url).pathname.slice(1)), []);
});

test('a store of an older schema is not migrated by a reader', async (t) => {
  const path = freshFile();
  const store = await openStore(`sqlite:${path}`);
  await store.close();
  // As a store of the version before the leases table was added.
  const db = new Database(path);
  db.exec("DROP TABLE leases; DELETE FROM kysely_migration WHERE name = '0002_leases'");
  db.close();
  const result = await runCommand('telemetryStatus', [], { DATABASE_URL: `sqlite:${path}` });
  t.is(result.code, 1, result.stderr);
  t.regex(result.stderr, /older than this version \(not applied: 0002_leases\)/);
  const after = new Database(path, { readonly: true });
  const leases = after.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'leases'");
  t.deepEqual(leases.get(), { n: 0 });
  after.close();
});

test('a migrated store, empty, is read: "no repository yet" and exit 0', async (t) => {
  const path = freshFile();
  await (await openStore(`sqlite:${path}`)).close();
  const result = await runCommand('telemetryStatus', [], { DATABASE_URL: `sqlite:${path}` });
  t.is(result.code, 0, result.stderr);
  t.is(result.stderr, '');
  t.regex(result.stdout, /no repository yet/);
});

test('a PostgreSQL URL without a database name: exit 2 at start for every command; nothing is created', async (t) => {
  const before = await tablesOf('postgres');
  const env = { DATABASE_URL: `${SERVER}`, ALLOWED_HOSTS: '127.0.0.1:1' };
  const pulse = {
    PULSE_USERNAME: 'nobody',
    PULSE_PASSWORD: 'nothing',
    PULSE_QUEUE_NAME: 'none',
    PULSE_QUEUE_ROUTING_KEY: 'none',
    PULSE_HOST: '127.0.0.1',
    PULSE_PORT: '1',
    PULSE_SSL: 'false',
  };
  const runs = await Promise.all([
    runCommand('telemetryStatus', [], env),
    runCommand('telemetryStatus', [], { ...env, DATABASE_URL: `${SERVER}/` }),
    runCommand(
      'backfillPushlog',
      ['--yes', 'http://127.0.0.1:1/integration/autoland', '1', '2'],
      env,
    ),
    runCommand('processQueueMessages', [], { ...env, ...pulse }),
  ]);
  for (const result of runs) {
    t.is(result.code, 2, result.stderr);
    t.regex(
      readable(result.stderr),
      /DATABASE_URL "postgres:\/\/\S*@127\.0\.0\.1:5432\/?" names no database/,
    );
  }
  t.deepEqual(await tablesOf('postgres'), before);
});
