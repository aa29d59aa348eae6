import pg from 'pg';
import type { DatabaseTarget } from '../../../src/state/engines/databaseUrl.js';
import { randomId, type Harness } from './harness.js';

/** The machine's PostgreSQL: trust authentication, user postgres (see .ci/run). */
const SERVER = 'postgres://postgres@127.0.0.1:5432';

const withClient = async <T>(database: string, task: (c: pg.Client) => Promise<T>) => {
  const client = new pg.Client({ connectionString: `${SERVER}/${database}` });
  await client.connect();
  try {
    return await task(client);
  } finally {
    await client.end();
  }
};

const nameOf = (target: DatabaseTarget): string => {
  if (target.engine !== 'postgres') throw new Error('not a PostgreSQL target');
  return new URL(target.url).pathname.slice(1);
};

/** Databases named ctstest_<random>, created per test file run and dropped after it. */
export const postgresHarness = async (): Promise<Harness> => {
  const run = `ctstest_${randomId()}`;
  const created: string[] = [];
  let fresh = 0;
  const create = async (name: string): Promise<DatabaseTarget> => {
    // Identifiers cannot be parameters; these names are ours (ctstest_ and hex digits).
    await withClient('postgres', (c) => c.query(`CREATE DATABASE ${name}`));
    created.push(name);
    return { engine: 'postgres', url: `${SERVER}/${name}` };
  };
  const drop = (name: string) =>
    // FORCE terminates the connections still open on it first (PostgreSQL 13+).
    withClient('postgres', (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const shared = await create(run);
  return {
    engine: 'postgres',
    shared,
    fresh: () => create(`${run}_${(fresh += 1)}`),
    query: (target, sql) =>
      withClient(nameOf(target), async (c) => {
        const result = await c.query(sql);
        const last = Array.isArray(result) ? result[result.length - 1] : result;
        return (last?.rows ?? []) as Record<string, unknown>[];
      }),
    refuse: async (target, table, writes) => {
      await withClient(nameOf(target), (c) =>
        c.query(`
          create function refuse_writes() returns trigger language plpgsql
            as $$ begin raise exception 'writes refused by the test'; end $$;
          create trigger refuse_writes before ${writes.join(' or ')} on ${table}
            for each row execute function refuse_writes()`),
      );
      return () =>
        withClient(nameOf(target), async (c) => {
          await c.query(`drop trigger refuse_writes on ${table}; drop function refuse_writes()`);
        });
    },
    destroy: async (target) => {
      await drop(nameOf(target));
    },
    unreachable: {
      // Port 1: nothing listens there, so the connection is refused at once.
      target: { engine: 'postgres', url: 'postgres://telemetry:hunter2-s3cret@127.0.0.1:1/x' },
      reason:
        /\(postgres:\/\/telemetry:\*\*\*@127\.0\.0\.1:1\/x\): connect ECONNREFUSED 127\.0\.0\.1:1$/,
      secret: 'hunter2-s3cret',
    },
    teardown: async () => {
      for (const name of created) await drop(name);
    },
  };
};
