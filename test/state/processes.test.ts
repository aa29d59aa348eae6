/**
 * Separate processes on one database, as in production: the in-process tests cannot show
 * that migration and claims exclude each other across processes, since on SQLite the stores
 * of one process also take turns through a mutex.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Harness } from './support/harness.js';
import { randomNode } from './support/harness.js';
import { postgresHarness } from './support/postgresHarness.js';
import { sqliteHarness } from './support/sqliteHarness.js';
import { join } from 'node:path';
import { ROOT } from '../support/root.js';

const run = promisify(execFile);
const CLAIMER = join(ROOT, 'test/state/support/claimer.ts');
const PROCESSES = 3;

const harnesses: Harness[] = [];
test.after.always(() => Promise.all(harnesses.map((h) => h.teardown())));

for (const [engine, makeHarness] of [
  ['sqlite', sqliteHarness],
  ['postgres', postgresHarness],
] as const) {
  test(`${engine}: processes starting together on a fresh database migrate it once and send each changeset once`, async (t) => {
    const harness = await makeHarness();
    harnesses.push(harness);
    const target = await harness.fresh();
    const url = target.engine === 'sqlite' ? `sqlite:${target.path}` : target.url;
    const nodes = Array.from({ length: 100 }, randomNode);
    // Node and tsx take a while to start; the processes meet at an instant after that.
    const startAt = String(Date.now() + 2_500);
    const outputs = await Promise.all(
      Array.from({ length: PROCESSES }, (_, i) =>
        run(process.execPath, [
          '--import=tsx',
          CLAIMER,
          url,
          startAt,
          ...(i % 2 ? [...nodes].reverse() : nodes),
        ]),
      ),
    );
    const outcomes = outputs.map(({ stdout }, i) => {
      const list = JSON.parse(stdout) as string[];
      return i % 2 ? list.reverse() : list;
    });
    for (const [n] of nodes.entries()) {
      const claimed = outcomes.filter((o) => o[n] === 'claimed').length;
      t.is(claimed, 1, `node ${n}: ${outcomes.map((o) => o[n]).join(', ')}`);
    }
    t.deepEqual(await harness.query(target, 'SELECT name FROM kysely_migration ORDER BY name'), [
      { name: '0001_initial' },
      { name: '0002_leases' },
      { name: '0003_landing_key' },
      { name: '0004_canonical_repository' },
      { name: '0005_git_watermarks' },
    ]);
  });
}
