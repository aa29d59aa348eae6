/**
 * better-sqlite3 prepares a statement on every call Kysely makes, and preparing costs as much
 * as running one of the store's small statements. The store sends the same few SQL texts over
 * and over (its values are bound parameters), so each is prepared once and reused.
 *
 * Reuse is safe here because Kysely runs a statement to completion (`all` or `run`) before the
 * next one starts; nothing in the store streams rows with `iterate`.
 */
import type Database from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

/** More distinct texts than the store has (lists of varying length): start afresh. */
const MAX_STATEMENTS = 200;

export const withCachedStatements = (handle: Database.Database): SqliteDatabase => {
  const prepared = new Map<string, Database.Statement>();
  return {
    prepare: (sql) => {
      let statement = prepared.get(sql);
      if (statement === undefined) {
        if (prepared.size >= MAX_STATEMENTS) prepared.clear();
        statement = handle.prepare(sql);
        prepared.set(sql, statement);
      }
      return statement;
    },
    close: () => handle.close(),
  };
};
