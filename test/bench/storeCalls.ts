/**
 * What the store costs per changeset on SQLite, and how much of it is SQLite: the three
 * ledger calls every sent changeset makes (claim, holdsClaim, recordSent) through the Store,
 * then the same statements run straight on better-sqlite3, prepared once, on the same file.
 *
 *   npm run bench:store-calls [-- N]      (N changesets, default 3000)
 *
 * It prints the CPU (user + system) and wall time per changeset of each. The gap between the
 * two is what Kysely, the store's mutex and its checks add to SQLite's own work.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/state/index.js';

const count = Number(process.argv[2] ?? 3000);
if (!Number.isSafeInteger(count) || count < 1) throw new Error('N must be a positive number');

const REPOSITORY = 'https://hg.mozilla.org/integration/autoland';
const OWNER = 'bench';
const LEASE_MS = 300_000;
const nodeOf = (i: number): string => i.toString(16).padStart(40, '0');

const perChangeset = async (what: string, first: number, call: (node: string) => Promise<void>) => {
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = first; i < first + count; i += 1) await call(nodeOf(i));
  const used = process.cpuUsage(cpu);
  const cpuUs = (used.user + used.system) / count;
  const wallUs = ((performance.now() - started) * 1000) / count;
  console.log(
    `${what.padEnd(20)} ${cpuUs.toFixed(0)} µs of CPU, ${wallUs.toFixed(0)} µs wall per changeset`,
  );
};

const dir = mkdtempSync(join(tmpdir(), 'store-calls-bench-'));
const file = join(dir, 'store.sqlite');
try {
  const store = await openStore(`sqlite:${file}`, { owner: OWNER });
  const viaStore = async (node: string) => {
    const landing = { repository: REPOSITORY, node };
    await store.claim(landing);
    await store.holdsClaim(landing);
    await store.recordSent({ ...landing, pushId: 1, reviewSystem: 'phabricator' });
  };
  // Warm-up, so both are measured with their code optimized.
  await perChangeset('(warm-up) store', 10 * count, viaStore);
  await perChangeset('store', 0, viaStore);
  await store.close();

  // claims.ts's statements as SQLite receives them, on the file the store migrated.
  const db = new Database(file);
  const claim = db.prepare(`
    insert into claims (repository, node, owner, expires_at)
    select ?, ?, ?, cast(? as bigint)
    where not exists (select 1 from ledger where repository = ? and node = ?)
    on conflict (repository, node) do update
      set owner = excluded.owner, expires_at = excluded.expires_at
      where claims.expires_at <= ? or claims.owner = excluded.owner
    returning owner`);
  const holds = db.prepare(`
    select 1 from claims
    where repository = ? and node = ? and owner = ? and expires_at > ?`);
  const insertSent = db.prepare(`
    insert into ledger (repository, node, push_id, review_system, sent_at)
    values (?, ?, ?, ?, ?) on conflict (repository, node) do nothing`);
  const release = db.prepare(`delete from claims where repository = ? and node = ? and owner = ?`);
  const recordSent = db.transaction((node: string, now: number) => {
    insertSent.run(REPOSITORY, node, 1, 'phabricator', now);
    release.run(REPOSITORY, node, OWNER);
  });
  // Each call awaited, as the pipeline awaits the store's.
  const straight = async (node: string) => {
    const now = Date.now();
    await Promise.resolve(
      claim.all(REPOSITORY, node, OWNER, now + LEASE_MS, REPOSITORY, node, now),
    );
    await Promise.resolve(holds.all(REPOSITORY, node, OWNER, now));
    await Promise.resolve(recordSent.immediate(node, now));
  };
  await perChangeset('(warm-up) straight', 20 * count, straight);
  await perChangeset('straight on SQLite', 30 * count, straight);
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
