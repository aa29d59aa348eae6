/**
 * PostgreSQL: the engine for a fleet; any number of processes may share one database.
 */
import { CamelCasePlugin, CompiledQuery, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Connection, ConnectOptions, Row, Statement } from './connection.js';
import { migrateToLatest } from '../schema/migrations.js';
import { requireCurrentSchema } from '../schema/schemaCheck.js';
import type { StoreSchema } from '../schema/schema.js';

const INT8 = pg.types.builtins.INT8;

// int8 (bigint columns, count(*), sum()) as a number rather than pg's default string, for this
// pool only: a process-wide pg.types.setTypeParser would change every other pg user too.
// Epoch milliseconds, push ids and counts all stay below 2^53, where a number is exact.
const getTypeParser = ((oid: number, format?: 'text' | 'binary') =>
  oid === INT8 && format !== 'binary'
    ? Number
    : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser;

/**
 * How long past the server's statement timeout a query may go without any answer before the
 * client gives up on it: a live server has answered by then (with the statement's result or
 * its cancellation), so the connection is dead or black-holed (no bytes, no reset).
 */
export const QUERY_DEADLINE_SLACK_MS = 2_000;

/**
 * pg's `query_timeout` fails the query but keeps the socket, and the client stays busy with
 * that query: the pool would hand the dead connection out again, and every statement on it
 * would wait out a deadline of its own. This client ends the socket instead, so that the pool
 * drops it and the next statement opens a new connection.
 */
class DeadlineClient extends pg.Client {
  override query(...args: unknown[]): never {
    const result = (super.query as (...a: unknown[]) => unknown)(...args);
    if (result instanceof Promise) {
      result.catch((error: unknown) => {
        if (error instanceof Error && error.message === 'Query read timeout') {
          this.connection.stream.destroy();
        }
      });
    }
    return result as never;
  }
}

/**
 * PostgreSQL numbers its marks: `?` becomes $1, $2, ... in order. A count of marks that is not
 * the count of values (a `?` in a literal, say) would shift every value: it is refused.
 */
const compiled = ({ text, values }: Statement): CompiledQuery<Row> => {
  let mark = 0;
  const numbered = text.replace(/\?/g, () => `$${(mark += 1)}`);
  if (mark !== values.length) {
    throw new Error(`${mark} marks for ${values.length} values in: ${text.trim()}`);
  }
  return CompiledQuery.raw(numbered, [...values]);
};

export const connectPostgres = async (
  url: string,
  options: ConnectOptions,
): Promise<Connection> => {
  const pool = new pg.Pool({
    Client: DeadlineClient,
    connectionString: url,
    types: { getTypeParser },
    connectionTimeoutMillis: options.connectTimeoutMs,
    statement_timeout: options.statementTimeoutMs,
    // The client's own deadline: a connection that swallows a query (a black hole: no bytes,
    // no reset) fails it by then, where TCP keepalive would take minutes or never notice.
    query_timeout: options.statementTimeoutMs + QUERY_DEADLINE_SLACK_MS,
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
    await (options.readOnly === true
      ? requireCurrentSchema(base)
      : migrateToLatest(base, 'postgres'));
  } catch (error) {
    await base.destroy();
    throw error;
  }
  const db = base.withPlugin(new CamelCasePlugin()) as Kysely<StoreSchema>;
  return {
    engine: 'postgres',
    rowLocks: true,
    // Through `base`: the rows keep the columns' own names, as SQLite's do.
    query: async (statement) => (await base.executeQuery(compiled(statement))).rows,
    writeAll: (all) =>
      base.transaction().execute(async (trx) => {
        for (const statement of all) await trx.executeQuery(compiled(statement));
      }),
    run: (fn) => fn(db),
    write: (fn) => db.transaction().execute(fn),
    close: () => db.destroy(),
  };
};
