/**
 * What the store asks of an engine: a migrated database, statements, and write transactions,
 * each with whatever exclusion that engine needs. postgres.ts and sqlite.ts provide it.
 */
import type { Kysely } from 'kysely';
import type { Engine } from './databaseUrl.js';
import type { StoreSchema } from '../schema/schema.js';

/**
 * One statement as SQL text with `?` for each value (and nowhere else), and its values in
 * that order. The engine prepares each text once and numbers the marks where it must ($1...).
 */
export interface Statement {
  readonly text: string;
  readonly values: readonly unknown[];
}

export type Row = Record<string, unknown>;

export interface Connection {
  readonly engine: Engine;
  /**
   * Runs one statement and answers its rows, keyed by the columns' own names (snake_case,
   * on both engines). For the few statements every changeset or push runs (claims.ts, and
   * watermarks.ts's watermark and pushSettled): as fixed text they skip Kysely's query
   * building, which took more CPU than SQLite took to run them (docs/benchmarks.md).
   * Everything else goes through `run`.
   */
  query(statement: Statement): Promise<Row[]>;
  /** Runs the statements in one write transaction, as `write` does. */
  writeAll(statements: readonly Statement[]): Promise<void>;
  /** Runs one statement, or a few that need no transaction. */
  run<T>(fn: (db: Kysely<StoreSchema>) => Promise<T>): Promise<T>;
  /** Runs fn in one write transaction, committed if fn resolves and rolled back if it rejects. */
  write<T>(fn: (trx: Kysely<StoreSchema>) => Promise<T>): Promise<T>;
  /**
   * Whether a row read in `write` must be locked (`SELECT ... FOR UPDATE`) to be safe from other
   * writers: on PostgreSQL, yes; SQLite's write transaction already excludes every other writer.
   */
  readonly rowLocks: boolean;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** SQLite: how long a statement waits for another connection's write lock. */
  busyTimeoutMs: number;
  /** PostgreSQL: how long a connection attempt may take. */
  connectTimeoutMs: number;
  /** PostgreSQL: the server cancels a statement running (or waiting on a lock) longer. */
  statementTimeoutMs: number;
  /** PostgreSQL: an idle pooled connection failed; the next statement opens a new one. */
  onIdleError: (error: Error) => void;
  /**
   * For a command that only shows what the store holds: nothing is created, migrated or
   * written, and a database without this version's schema is refused (StoreNotReady).
   */
  readOnly?: boolean;
}
