/**
 * The store opened for reading only, for a command that shows what it holds
 * (telemetry-status): nothing is created, migrated or written. A DATABASE_URL that points at
 * the wrong file or database is then an error that says where it looked, not a new, empty
 * store reported as if all were quiet.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { secretMasker } from '../redact.js';
import { connect } from './engines/connect.js';
import { databaseClockOf } from './engines/databaseClock.js';
import { displayDatabaseUrl, passwordOf, type DatabaseTarget } from './engines/databaseUrl.js';
import { StoreError, StoreNotReady, reasonOf } from './errors.js';
import { status, type StoreStatus } from './status.js';

export interface StoreReader {
  /** Counts for an operator, relative to `now` (default: the clock's now). */
  status(now?: number): Promise<StoreStatus>;
  close(): Promise<void>;
}

const CREATES_NOTHING = 'reading it creates and migrates nothing';

/** Says what is wrong with the store where DATABASE_URL points, and what to do. */
const notReady = (where: string, error: StoreNotReady): StoreNotReady => {
  const message =
    error.state === 'older'
      ? `the store in ${where} (DATABASE_URL): ${error.message}; start this version's worker ` +
        `once to bring it up to date (${CREATES_NOTHING})`
      : `no store ${error.state === 'missing' ? 'at' : 'in'} ${where} (DATABASE_URL): ` +
        `${error.message}; set DATABASE_URL to the store the worker writes (${CREATES_NOTHING})`;
  return new StoreNotReady(error.state, message, { cause: error });
};

/**
 * Opens the store read only. Rejects with StoreNotReady when there is no store there (or an
 * older one), else with a StoreError naming the database (password masked) and its reason.
 */
export const openStoreReader = async (
  target: DatabaseTarget,
  options: { connectTimeoutMs?: number; statementTimeoutMs?: number } = {},
): Promise<StoreReader> => {
  const where = displayDatabaseUrl(target);
  const mask = secretMasker(passwordOf(target));
  const fail = (what: string, error: unknown) =>
    new StoreError(`${what} (${where}): ${mask(reasonOf(error))}`, { cause: error });
  if (target.engine === 'sqlite') {
    if (target.path === ':memory:') {
      throw notReady(where, new StoreNotReady('empty', 'a new database, empty every time'));
    }
    if (!existsSync(target.path)) {
      const file = resolve(target.path);
      throw notReady(where, new StoreNotReady('missing', `${file} does not exist`));
    }
  }
  try {
    const conn = await connect(target, {
      busyTimeoutMs: 5_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      statementTimeoutMs: options.statementTimeoutMs ?? 30_000,
      onIdleError: () => undefined,
      readOnly: true,
    });
    // Claims run out by the database's clock on PostgreSQL (databaseClock.ts): counted by it.
    const clock = await databaseClockOf(conn);
    return {
      status: (now = clock?.now() ?? Date.now()) =>
        status(conn, now).catch((error: unknown) => Promise.reject(fail('status', error))),
      close: () => conn.close(),
    };
  } catch (error) {
    if (error instanceof StoreNotReady) throw notReady(where, error);
    throw fail('cannot open the store', error);
  }
};
