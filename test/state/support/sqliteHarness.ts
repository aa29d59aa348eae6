import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { DatabaseTarget } from '../../../src/state/engines/databaseUrl.js';
import type { Harness } from './harness.js';

const pathOf = (target: DatabaseTarget): string => {
  if (target.engine !== 'sqlite') throw new Error('not a SQLite target');
  return target.path;
};

/** SQLite files in a temporary folder, removed with it. */
export const sqliteHarness = async (): Promise<Harness> => {
  const dir = mkdtempSync(join(tmpdir(), 'ctstest-'));
  let files = 0;
  const file = (): DatabaseTarget => ({
    engine: 'sqlite',
    path: join(dir, `store-${(files += 1)}.sqlite`),
  });
  return {
    engine: 'sqlite',
    shared: file(),
    fresh: async () => file(),
    query: async (target, sql) => {
      const db = new Database(pathOf(target));
      try {
        const statements = sql.split(';').filter((s) => s.trim() !== '');
        let rows: Record<string, unknown>[] = [];
        for (const text of statements) {
          const statement = db.prepare(text);
          rows = statement.reader ? (statement.all() as Record<string, unknown>[]) : [];
          if (!statement.reader) statement.run();
        }
        return rows;
      } finally {
        db.close();
      }
    },
    refuse: async (target, table, writes) => {
      const run = (sql: string) => {
        const db = new Database(pathOf(target));
        try {
          db.exec(sql);
        } finally {
          db.close();
        }
      };
      // One trigger per kind of write: SQLite's take one event each.
      for (const write of writes) {
        run(`create trigger refuse_${write} before ${write} on ${table}
          begin select raise(abort, '${write}s refused by the test'); end`);
      }
      return async () => writes.forEach((write) => run(`drop trigger refuse_${write}`));
    },
    destroy: async (target) => {
      for (const suffix of ['', '-wal', '-shm']) {
        rmSync(`${pathOf(target)}${suffix}`, { force: true });
      }
    },
    unreachable: {
      target: { engine: 'sqlite', path: join(dir, 'no-such-folder', 'store.sqlite') },
      reason: /no-such-folder.*directory does not exist/,
    },
    teardown: async () => rmSync(dir, { recursive: true, force: true }),
  };
};
