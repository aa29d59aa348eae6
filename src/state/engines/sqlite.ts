/**
 * SQLite: one file for one process (a worker, or a CLI run). A short-lived second process on
 * the same file (a status query, a backfill) is safe, only slower: every write waits for the
 * file's write lock. A fleet of workers needs PostgreSQL.
 */
import { realpathSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { CamelCasePlugin, Kysely, SqliteDialect, sql } from 'kysely';
import type { Connection, ConnectOptions, Row, Statement } from './connection.js';
import { withCachedStatements } from './cachedStatements.js';
import { migrateToLatest } from '../schema/migrations.js';
import { requireCurrentSchema } from '../schema/schemaCheck.js';
import type { StoreSchema } from '../schema/schema.js';

/** Runs one task at a time, in the order they came. */
class Mutex {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

// better-sqlite3 is synchronous: a connection that meets another's write lock sleeps in its
// busy handler with the whole thread. If that other connection belongs to this same process
// (two stores on one file, as the tests have) and is between two statements of a transaction,
// it cannot finish while the thread sleeps, and the sleeper fails after its busy timeout.
// So within a process, every store on one file takes its turn through the same mutex.
const mutexes = new Map<string, Mutex>();
const mutexFor = (file: string): Mutex => {
  let mutex = mutexes.get(file);
  if (mutex === undefined) mutexes.set(file, (mutex = new Mutex()));
  return mutex;
};

/**
 * An unlinked or replaced file goes on taking writes on its open handle without a word, and
 * they vanish when it closes: a ledger lost that way means pings sent twice. One stat per
 * call notices, and the call fails instead.
 */
const watchFile = (file: string): (() => void) => {
  const opened = statSync(file);
  return () => {
    const now = statSync(file, { throwIfNoEntry: false });
    if (now === undefined || now.ino !== opened.ino || now.dev !== opened.dev) {
      throw new Error(`${file} was removed or replaced while the store had it open`);
    }
  };
};

/**
 * Puts the file in WAL mode, where it then stays. The switch needs the file to itself, and
 * processes opening a fresh file together may each be told BUSY at once, the busy timeout
 * not waited (waiting could deadlock): measured, 1 open in 180 with six processes at a time.
 * So it is tried again until `busyTimeoutMs` has passed.
 */
const useWal = async (handle: Database.Database, busyTimeoutMs: number): Promise<void> => {
  const deadline = Date.now() + busyTimeoutMs;
  for (;;) {
    try {
      handle.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      const busy = error instanceof Database.SqliteError && error.code === 'SQLITE_BUSY';
      if (!busy || Date.now() >= deadline) throw error;
      await sleep(20);
    }
  }
};

export const connectSqlite = async (path: string, options: ConnectOptions): Promise<Connection> => {
  const readonly = options.readOnly === true;
  const handle = new Database(path, {
    timeout: options.busyTimeoutMs,
    readonly,
    fileMustExist: readonly,
  });
  try {
    if (!readonly) {
      await useWal(handle, options.busyTimeoutMs);
      // In WAL mode NORMAL cannot corrupt the file; a power cut may lose the last commits.
      handle.pragma('synchronous = NORMAL');
    }
    const inMemory = path === ':memory:';
    const file = inMemory ? path : realpathSync(path);
    const check = inMemory ? () => undefined : watchFile(file);
    const mutex = inMemory ? new Mutex() : mutexFor(file);
    const statements = withCachedStatements(handle);
    const base = new Kysely<unknown>({ dialect: new SqliteDialect({ database: statements }) });
    const runText = ({ text, values }: Statement): Row[] => {
      const prepared = statements.prepare(text);
      if (prepared.reader) return prepared.all(values) as Row[];
      prepared.run(values);
      return [];
    };
    // BEGIN IMMEDIATE, as in `write` below; rolled back if a statement throws.
    const runAll = handle.transaction((all: readonly Statement[]) => all.forEach(runText));
    // Kysely's migration lock is a no-op on SQLite (its adapter assumes one connection), so two
    // processes could both find a migration pending and both run it. BEGIN IMMEDIATE takes the
    // file's write lock first: the second process waits (busy timeout), then finds nothing to
    // do. It goes on the raw handle because the migrator takes Kysely's only connection for
    // itself; every statement it sends goes through this handle, inside this transaction, and
    // SQLite's DDL is transactional, so a failed migration leaves nothing half done.
    await mutex.run(async () => {
      if (readonly) return requireCurrentSchema(base);
      handle.exec('BEGIN IMMEDIATE');
      try {
        await migrateToLatest(base, 'sqlite');
        handle.exec('COMMIT');
      } catch (error) {
        if (handle.inTransaction) handle.exec('ROLLBACK');
        throw error;
      }
    });
    const db = base.withPlugin(new CamelCasePlugin()) as Kysely<StoreSchema>;
    /** Every call takes its turn (the mutex) and first checks the file is still the one opened. */
    const inTurn = <T>(task: () => T | Promise<T>): Promise<T> =>
      mutex.run(async () => {
        check();
        return task();
      });
    return {
      engine: 'sqlite',
      rowLocks: false,
      query: (statement) => inTurn(() => runText(statement)),
      writeAll: (all) => inTurn(() => runAll.immediate(all)),
      run: (fn) => inTurn(() => fn(db)),
      // IMMEDIATE: take the write lock before reading, so a read-then-write transaction never
      // finds its snapshot stale at its first write (SQLITE_BUSY_SNAPSHOT).
      write: (fn) =>
        inTurn(() =>
          db.connection().execute(async (c) => {
            await sql`begin immediate`.execute(c);
            try {
              const result = await fn(c);
              await sql`commit`.execute(c);
              return result;
            } catch (error) {
              if (handle.inTransaction) await sql`rollback`.execute(c);
              throw error;
            }
          }),
        ),
      close: () => db.destroy(),
    };
  } catch (error) {
    handle.close();
    throw error;
  }
};
