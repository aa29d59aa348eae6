/**
 * Migration 0004: every stored repository URL in its canonical form (repositoryUrl: scheme and
 * host lower-case, no default port, no trailing slash). Before it, `http://LOCALHOST:80/x/` and
 * `http://localhost/x` were two repositories: two watermarks, and a changeset of both could be
 * sent twice. Each spelling's rows move to the canonical one. Where both already have a row
 * for the same landing, push or parked item, the one already there is kept (a landing sent
 * under either spelling stays sent, nothing is sent again); of two watermarks, the higher.
 *
 * No `down`: two spellings merged cannot be told apart again.
 *
 * On PostgreSQL the tables are locked first, as in 0003, so that a row an old-version process
 * commits meanwhile is not left under its old spelling; on SQLite the whole migration already
 * runs under the file's write lock (sqlite.ts).
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { repositoryUrl } from '../../codecs/scalars.js';
import type { Engine } from '../engines/databaseUrl.js';

/** Every table keyed by repository, with the columns a row is copied with. */
const TABLES: Readonly<Record<string, readonly string[]>> = {
  ledger: ['node', 'push_id', 'review_system', 'sent_at'],
  claims: ['node', 'owner', 'expires_at'],
  pushes: ['push_id', 'settled_at'],
  parked: ['push_id', 'node', 'reason', 'parked_at'],
};

interface Mark {
  readonly push_id: number | string;
  readonly settled_at: number | string | null;
}

/** Moves one spelling's rows of `table` to the canonical spelling, keeping rows already there. */
const moveRows = async (db: Kysely<unknown>, table: string, from: string, to: string) => {
  const columns = sql.raw(TABLES[table]!.join(', '));
  const name = sql.raw(table);
  await sql`
    insert into ${name} (repository, ${columns})
    select ${to}, ${columns} from ${name} where repository = ${from}
    on conflict do nothing`.execute(db);
  await sql`delete from ${name} where repository = ${from}`.execute(db);
};

/** Of the two spellings' watermarks, the higher one is kept, under the canonical spelling. */
const moveWatermark = async (db: Kysely<unknown>, from: string, to: string) => {
  const read = async (repository: string) =>
    (
      await sql<Mark>`select push_id, settled_at from watermarks where repository = ${repository}`.execute(
        db,
      )
    ).rows[0];
  const [old, current] = [await read(from), await read(to)];
  if (old === undefined) return;
  await sql`delete from watermarks where repository = ${from}`.execute(db);
  if (current !== undefined && Number(current.push_id) >= Number(old.push_id)) return;
  await sql`delete from watermarks where repository = ${to}`.execute(db);
  await sql`
    insert into watermarks (repository, push_id, settled_at)
    values (${to}, ${old.push_id}, ${old.settled_at})`.execute(db);
};

/** The repositories stored in any table, each once. */
const storedRepositories = async (db: Kysely<unknown>): Promise<Set<string>> => {
  const found = new Set<string>();
  for (const table of [...Object.keys(TABLES), 'watermarks']) {
    const { rows } = await sql<{
      repository: string;
    }>`select distinct repository from ${sql.raw(table)}`.execute(db);
    for (const row of rows) found.add(row.repository);
  }
  return found;
};

export const canonicalRepository = (engine: Engine): Migration => ({
  async up(db: Kysely<unknown>) {
    if (engine === 'postgres') {
      await sql`lock table ledger, claims, pushes, parked, watermarks in exclusive mode`.execute(
        db,
      );
    }
    for (const from of await storedRepositories(db)) {
      const to = repositoryUrl(from);
      if (to === from) continue;
      for (const table of Object.keys(TABLES)) await moveRows(db, table, from, to);
      await moveWatermark(db, from, to);
    }
  },
});
