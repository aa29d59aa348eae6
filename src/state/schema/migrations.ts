/**
 * The store's schema history, inline rather than read from a folder: a built `dist/` then
 * carries its migrations with it, and nothing depends on the working directory. Names sort in
 * the order they apply; a migration, once released, is never edited, only followed by another.
 *
 * Column names are written in snake_case here: the migrator runs without CamelCasePlugin so
 * that this file shows the database exactly as it is.
 */
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { gitWatermarksMigration } from '../gitWatermarks.js';
import { canonicalRepository } from './canonicalRepository.js';

const initial: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('ledger')
      .addColumn('node', 'text', (c) => c.primaryKey())
      .addColumn('repository', 'text', (c) => c.notNull())
      .addColumn('push_id', 'bigint')
      .addColumn('review_system', 'text', (c) => c.notNull())
      .addColumn('sent_at', 'bigint', (c) => c.notNull())
      .execute();
    // status() counts the last 7 days.
    await db.schema.createIndex('ledger_sent_at').on('ledger').column('sent_at').execute();

    await db.schema
      .createTable('claims')
      .addColumn('node', 'text', (c) => c.primaryKey())
      .addColumn('repository', 'text', (c) => c.notNull())
      .addColumn('owner', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    // Renewal and release touch all of one owner's claims.
    await db.schema.createIndex('claims_owner').on('claims').column('owner').execute();

    await db.schema
      .createTable('pushes')
      .addColumn('repository', 'text', (c) => c.notNull())
      .addColumn('push_id', 'bigint', (c) => c.notNull())
      .addColumn('settled_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('pushes_pk', ['repository', 'push_id'])
      .execute();

    await db.schema
      .createTable('watermarks')
      .addColumn('repository', 'text', (c) => c.primaryKey())
      .addColumn('push_id', 'bigint', (c) => c.notNull())
      .addColumn('settled_at', 'bigint')
      .execute();

    await db.schema
      .createTable('parked')
      .addColumn('repository', 'text', (c) => c.notNull())
      .addColumn('push_id', 'bigint', (c) => c.notNull())
      .addColumn('node', 'text')
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('parked_at', 'bigint', (c) => c.notNull())
      .execute();
    // A whole push is parked at most once, and so is a changeset; two partial indexes because a
    // nullable column cannot be part of a primary key.
    await db.schema
      .createIndex('parked_push')
      .on('parked')
      .columns(['repository', 'push_id'])
      .unique()
      .where(sql<boolean>`node is null`)
      .execute();
    await db.schema
      .createIndex('parked_node')
      .on('parked')
      .column('node')
      .unique()
      .where(sql<boolean>`node is not null`)
      .execute();
  },
  async down(db: Kysely<unknown>) {
    for (const table of ['parked', 'watermarks', 'pushes', 'claims', 'ledger']) {
      await db.schema.dropTable(table).execute();
    }
  },
};

/** The pushlog poller's lease (leases.ts): one process of a fleet polls at a time. */
const leases: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('leases')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('owner', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('leases').execute();
  },
};

/**
 * A landing is a changeset in a repository: the same node merged from autoland to
 * mozilla-central is two landings, two pings. The ledger and the claims were keyed by the node
 * alone, so the second landing was taken as sent. Both tables are rebuilt keyed by
 * (repository, node), every row copied as it is: its `repository` is the one it was sent (or
 * claimed) for. A table is rebuilt rather than altered because SQLite cannot change a primary key.
 *
 * No `down`: going back would have to drop one of the two rows of a node sent for two
 * repositories, and with it the record that its ping was sent.
 *
 * On PostgreSQL a process of the old version may still be writing while the rows are copied:
 * a row it committed after the copy read the table would go with the dropped table, and its
 * ping be sent again. Both tables are locked first (writers wait until the migration's
 * transaction commits, then fail against the new tables and retry). On SQLite the whole
 * migration already runs under the file's write lock (sqlite.ts).
 */
const landingKey = (engine: Engine): Migration => ({
  async up(db: Kysely<unknown>) {
    if (engine === 'postgres') await sql`lock table ledger, claims in exclusive mode`.execute(db);
    await db.schema
      .createTable('ledger_0003')
      .addColumn('repository', 'text', (c) => c.notNull())
      .addColumn('node', 'text', (c) => c.notNull())
      .addColumn('push_id', 'bigint')
      .addColumn('review_system', 'text', (c) => c.notNull())
      .addColumn('sent_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('ledger_landing', ['repository', 'node'])
      .execute();
    await sql`
      insert into ledger_0003 (repository, node, push_id, review_system, sent_at)
      select repository, node, push_id, review_system, sent_at from ledger`.execute(db);
    await db.schema.dropTable('ledger').execute();
    await db.schema.alterTable('ledger_0003').renameTo('ledger').execute();
    await db.schema.createIndex('ledger_sent_at').on('ledger').column('sent_at').execute();

    await db.schema
      .createTable('claims_0003')
      .addColumn('repository', 'text', (c) => c.notNull())
      .addColumn('node', 'text', (c) => c.notNull())
      .addColumn('owner', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('claims_landing', ['repository', 'node'])
      .execute();
    await sql`
      insert into claims_0003 (repository, node, owner, expires_at)
      select repository, node, owner, expires_at from claims`.execute(db);
    await db.schema.dropTable('claims').execute();
    await db.schema.alterTable('claims_0003').renameTo('claims').execute();
    await db.schema.createIndex('claims_owner').on('claims').column('owner').execute();

    // A changeset is parked once per repository it landed in.
    await db.schema.dropIndex('parked_node').execute();
    await db.schema
      .createIndex('parked_landing')
      .on('parked')
      .columns(['repository', 'node'])
      .unique()
      .where(sql<boolean>`node is not null`)
      .execute();
  },
});

export type Engine = 'sqlite' | 'postgres';

/** The migrations as they run on `engine` (their names, and all but one statement, are shared). */
export const migrationsFor = (engine: Engine): Readonly<Record<string, Migration>> => ({
  '0001_initial': initial,
  '0002_leases': leases,
  '0003_landing_key': landingKey(engine),
  '0004_canonical_repository': canonicalRepository(engine),
  '0005_git_watermarks': gitWatermarksMigration,
});

/** The migrations by name, as SQLite runs them: for readers that need only the names. */
export const migrations = migrationsFor('sqlite');

/**
 * Brings the schema up to date; a database already there is left as it is. The caller sees
 * to mutual exclusion where the engine's migration lock does not (connect.ts).
 */
export const migrateToLatest = async (db: Kysely<unknown>, engine: Engine): Promise<void> => {
  const provider: MigrationProvider = { getMigrations: async () => migrationsFor(engine) };
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error === undefined) return;
  const failed = results?.find((r) => r.status === 'Error')?.migrationName;
  const reason = error instanceof Error ? error.message : String(error);
  throw new Error(failed === undefined ? reason : `migration ${failed} failed: ${reason}`, {
    cause: error,
  });
};
