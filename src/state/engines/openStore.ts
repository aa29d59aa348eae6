/** Opens the store a DATABASE_URL names: the engine's connection, then the SqlStore over it. */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { secretMasker } from '../../redact.js';
import { connect } from './connect.js';
import {
  displayDatabaseUrl,
  parseDatabaseUrl,
  passwordOf,
  type DatabaseTarget,
} from './databaseUrl.js';
import { StoreError, reasonOf } from '../errors.js';
import { databaseClockOf } from './databaseClock.js';
import { SqlStore } from '../sqlStore.js';
import { DEFAULT_LEASE_SECONDS, type Store, type StoreOptions } from '../store.js';

/**
 * Connects and brings the schema up to date (safe with several processes starting at once).
 * Rejects with a StoreError naming the database (password masked) and its own reason; a URL
 * that does not parse rejects with its DatabaseUrlError.
 */
export const openStore = async (
  url: DatabaseTarget | string | undefined,
  options: StoreOptions = {},
): Promise<Store> => {
  let target: DatabaseTarget;
  if (typeof url === 'object') {
    target = url;
  } else {
    const parsed = parseDatabaseUrl(url);
    if (!parsed.ok) throw parsed.error;
    target = parsed.value;
  }
  const leaseSeconds = options.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  if (!(leaseSeconds > 0))
    throw new RangeError(`the claim lease must be positive: ${leaseSeconds}`);
  const where = displayDatabaseUrl(target);
  const mask = secretMasker(passwordOf(target));
  const fail = (what: string, error: unknown) =>
    new StoreError(`${what} (${where}): ${mask(reasonOf(error))}`, { cause: error });
  const onRenewalError = options.onRenewalError ?? (() => undefined);
  try {
    const conn = await connect(target, {
      busyTimeoutMs: options.busyTimeoutMs ?? 5_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      statementTimeoutMs: options.statementTimeoutMs ?? 30_000,
      // Surfaces again, as the next statement's failure, if the database is really gone.
      onIdleError: () => undefined,
    });
    const hostClock = options.hostClock ?? Date.now;
    // A clock given (tests) is taken as it is; else the database's, on PostgreSQL.
    const clock = options.now === undefined ? await databaseClockOf(conn, hostClock) : undefined;
    return new SqlStore({
      conn,
      owner: options.owner ?? `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`,
      now: options.now ?? clock?.now ?? hostClock,
      ...(clock !== undefined && { syncClock: () => clock.measure() }),
      leaseMs: Math.round(leaseSeconds * 1000),
      fail,
      onRenewalError,
    });
  } catch (error) {
    throw fail('cannot open the store', error);
  }
};
