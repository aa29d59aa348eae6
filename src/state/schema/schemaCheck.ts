/**
 * For a reader, which must change nothing: is the database's schema this version's already?
 * Asked of the migrator, which reads its own table (and makes none when it is missing).
 */
import { Migrator, type Kysely } from 'kysely';
import { StoreNotReady } from '../errors.js';
import { migrations } from './migrations.js';

/** Rejects with StoreNotReady when a migration of this version has not been applied. */
export const requireCurrentSchema = async (db: Kysely<unknown>): Promise<void> => {
  const provider = { getMigrations: async () => migrations };
  const known = await new Migrator({ db, provider }).getMigrations();
  const pending = known.filter((m) => m.executedAt === undefined).map((m) => m.name);
  if (pending.length === 0) return;
  throw new StoreNotReady(
    pending.length === known.length ? 'empty' : 'older',
    pending.length === known.length
      ? "it holds none of the store's tables"
      : `its schema is older than this version (not applied: ${pending.join(', ')})`,
  );
};
