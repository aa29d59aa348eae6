/**
 * Git watermarks: per git repository (a branch, `<web>/<owner>/<repo>/tree/<branch>`), the
 * last commit such that every landing up to it is settled. Gap-fill compares from it to the
 * branch head. Created only by the worker, at the `before` of the first push it handled
 * there; moved only by a settled push whose base is the watermark (pushes settled out of
 * order leave it behind, and the next poll's compare finds their commits sent already).
 */
import type { Kysely, Migration } from 'kysely';
import type { Connection } from './engines/connection.js';

/** Migration 0005: the git watermarks' table. */
export const gitWatermarksMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('git_watermarks')
      .addColumn('repository', 'text', (c) => c.primaryKey())
      .addColumn('sha', 'text', (c) => c.notNull())
      .addColumn('settled_at', 'bigint')
      .execute();
  },
};

export const gitWatermark = (conn: Connection, repository: string): Promise<string | undefined> =>
  conn.run(async (db) => {
    const row = await db
      .selectFrom('gitWatermarks')
      .select('sha')
      .where('repository', '=', repository)
      .executeTakeFirst();
    return row?.sha;
  });

/** Creates the repository's git watermark at `sha`, unless it has one. */
export const startGitWatermark = (conn: Connection, repository: string, sha: string) =>
  conn.write(async (trx) => {
    await trx
      .insertInto('gitWatermarks')
      .values({ repository, sha, settledAt: null })
      .onConflict((oc) => oc.column('repository').doNothing())
      .execute();
  });

/**
 * The commits `base...head` are settled: the watermark moves to `head` if it stood at `base`.
 * Answers where it stands (undefined: no watermark).
 */
export const gitPushSettled = (
  conn: Connection,
  repository: string,
  base: string,
  head: string,
  at: number,
): Promise<string | undefined> =>
  conn.write(async (trx) => {
    await trx
      .updateTable('gitWatermarks')
      .set({ sha: head, settledAt: at })
      .where('repository', '=', repository)
      .where('sha', '=', base)
      .execute();
    const row = await trx
      .selectFrom('gitWatermarks')
      .select('sha')
      .where('repository', '=', repository)
      .executeTakeFirst();
    return row?.sha;
  });

export const gitRepositoriesWithWatermark = (conn: Connection): Promise<string[]> =>
  conn.run(async (db) => {
    const rows = await db
      .selectFrom('gitWatermarks')
      .select('repository')
      .orderBy('repository')
      .execute();
    return rows.map((r) => r.repository);
  });
