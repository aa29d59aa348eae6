/**
 * The store's schema history, inline rather than read from a folder: a built `dist/` then
 * carries its migrations with it, and nothing depends on the working directory. Names sort in
 * the order they apply; a migration, once released, is never edited, only followed by another.
 *
 * Column names are written in snake_case here: the migrator runs without CamelCasePlugin so
 * that this file shows the database exactly as it is.
 */
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

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

export const migrations: Readonly<Record<string, Migration>> = {
  '0001_initial': initial,
  '0002_leases': leases,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/**
 * Brings the schema up to date; a database already there is left as it is. The caller sees
 * to mutual exclusion where the engine's migration lock does not (connect.ts).
 */
export const migrateToLatest = async (db: Kysely<unknown>): Promise<void> => {
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error === undefined) return;
  const failed = results?.find((r) => r.status === 'Error')?.migrationName;
  const reason = error instanceof Error ? error.message : String(error);
  throw new Error(failed === undefined ? reason : `migration ${failed} failed: ${reason}`, {
    cause: error,
  });
};
