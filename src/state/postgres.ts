/**
 * PostgreSQL: the engine for a fleet; any number of processes may share one database.
 */
import { CamelCasePlugin, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Connection, ConnectOptions } from './connection.js';
import { migrateToLatest } from './migrations.js';
import { requireCurrentSchema } from './schemaCheck.js';
import type { StoreSchema } from './schema.js';

const INT8 = pg.types.builtins.INT8;

// int8 (bigint columns, count(*), sum()) as a number rather than pg's default string, for this
// pool only: a process-wide pg.types.setTypeParser would change every other pg user too.
// Epoch milliseconds, push ids and counts all stay below 2^53, where a number is exact.
const getTypeParser = ((oid: number, format?: 'text' | 'binary') =>
  oid === INT8 && format !== 'binary'
    ? Number
    : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser;

export const connectPostgres = async (
  url: string,
  options: ConnectOptions,
): Promise<Connection> => {
  const pool = new pg.Pool({
    connectionString: url,
    types: { getTypeParser },
    connectionTimeoutMillis: options.connectTimeoutMs,
    statement_timeout: options.statementTimeoutMs,
    // A server that vanishes without closing the socket is noticed instead of waited on.
    keepAlive: true,
    application_name: 'commit-telemetry',
    // A reader's every transaction is read only: a write would fail rather than change the store.
    ...(options.readOnly === true ? { options: '-c default_transaction_read_only=on' } : {}),
  });
  // Without a listener, a connection killed by the server would crash the process: the
  // pool listens on idle clients only, so each client gets its own listener too, for the
  // moments it is checked out (inside a transaction). The query in flight then fails.
  pool.on('error', options.onIdleError);
  pool.on('connect', (client) => client.on('error', options.onIdleError));
  const base = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
  try {
    // Kysely's migrator holds a PostgreSQL advisory lock while it migrates, inside one
    // transaction: processes starting together wait for each other and migrate once.
    await (options.readOnly === true ? requireCurrentSchema(base) : migrateToLatest(base));
  } catch (error) {
    await base.destroy();
    throw error;
  }
  const db = base.withPlugin(new CamelCasePlugin()) as Kysely<StoreSchema>;
  return {
    engine: 'postgres',
    rowLocks: true,
    run: (fn) => fn(db),
    write: (fn) => db.transaction().execute(fn),
    close: () => db.destroy(),
  };
};
