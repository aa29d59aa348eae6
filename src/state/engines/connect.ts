/** Picks the engine a DatabaseTarget names and connects to it. */
import type { Connection, ConnectOptions } from './connection.js';
import type { DatabaseTarget } from './databaseUrl.js';

/**
 * Opens the database and brings its schema up to date before anything else uses it (or, read
 * only, checks that it is).
 */
export const connect = async (
  target: DatabaseTarget,
  options: ConnectOptions,
): Promise<Connection> => {
  // Each driver loads only where it is used: a SQLite deployment never loads pg, and a
  // PostgreSQL one never loads better-sqlite3's native addon.
  if (target.engine === 'postgres') {
    const { connectPostgres } = await import('./postgres.js');
    return connectPostgres(target.url, options);
  }
  const { connectSqlite } = await import('./sqlite.js');
  return connectSqlite(target.path, options);
};
