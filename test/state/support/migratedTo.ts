/**
 * A database whose schema stops at a given migration, as an older version of the service left
 * it: the migrations are the released ones, run by Kysely's migrator without what follows.
 */
import Database from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { DatabaseTarget } from '../../../src/state/engines/databaseUrl.js';
import { migrations } from '../../../src/state/schema/migrations.js';

const kyselyOn = (target: DatabaseTarget): Kysely<unknown> =>
  target.engine === 'sqlite'
    ? new Kysely({ dialect: new SqliteDialect({ database: new Database(target.path) }) })
    : new Kysely({
        dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: target.url }) }),
      });

/** Applies the migrations up to `last`, included; rejects if any failed. */
export const migrateTo = async (target: DatabaseTarget, last: string): Promise<void> => {
  const names = Object.keys(migrations).sort();
  if (!names.includes(last)) throw new Error(`no migration named ${last}`);
  const wanted = Object.fromEntries(
    names.filter((name) => name <= last).map((name) => [name, migrations[name]!]),
  );
  const db = kyselyOn(target);
  try {
    const { error } = await new Migrator({
      db,
      provider: { getMigrations: async () => wanted },
    }).migrateToLatest();
    if (error !== undefined) throw error;
  } finally {
    await db.destroy();
  }
};
