/**
 * What the pipeline benchmarks share about the durable store: the `--store` and `--runs`
 * options, a fresh database per run (and its removal), a ledger whose calls are counted,
 * and the median of the runs.
 *
 *   --store none      the dry-run ledger: the pipeline as it was before the store existed
 *   --store sqlite    a fresh SQLite file per run, in the temporary directory (the default,
 *                     as DATABASE_URL defaults to a SQLite file)
 *   --store postgres  a fresh database `ctsbench_<random>` per run on BENCH_POSTGRES_URL
 *                     (default postgres://postgres@127.0.0.1:5432/postgres), dropped after
 *   --runs N          the measured scenario N times (default 1), each reported, then the median
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { dryRun, type Ledger, type LedgerPolicy } from '../../../src/pipeline/ledger.js';
import { openStore } from '../../../src/state/index.js';

export const STORE_KINDS = ['none', 'sqlite', 'postgres'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

const POSTGRES_ADMIN_URL =
  process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchOptions {
  readonly store: StoreKind;
  readonly runs: number;
  /** The arguments left once `--store` and `--runs` are taken out. */
  readonly rest: string[];
}

/** Takes `--store KIND` and `--runs N` out of argv; throws, with `usage`, on a bad value. */
export const parseBenchOptions = (argv: readonly string[], usage: string): BenchOptions => {
  let store: StoreKind = 'sqlite';
  let runs = 1;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg !== '--store' && arg !== '--runs') {
      rest.push(arg);
      continue;
    }
    const value = argv[(i += 1)];
    if (arg === '--store') {
      if (!STORE_KINDS.includes(value as StoreKind)) throw new Error(`usage: ${usage}`);
      store = value as StoreKind;
    } else {
      runs = Number(value);
      if (!Number.isInteger(runs) || runs < 1) throw new Error(`usage: ${usage}`);
    }
  }
  return { store, runs, rest };
};

// ---- A fresh database per run ------------------------------------------------------------

/** An empty store for one run: `url` for DATABASE_URL (none for a dry run), then `drop()`. */
export interface BenchDatabase {
  readonly url: string | undefined;
  drop(): Promise<void>;
}

const dropping = new Set<BenchDatabase>();
let cleanupOnSignal = false;

/** Ctrl-C during a run still drops its database and removes its files. */
const dropOnSignal = () => {
  if (cleanupOnSignal) return;
  cleanupOnSignal = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void Promise.allSettled([...dropping].map((db) => db.drop())).then(() => process.exit(130));
    });
  }
};

const adminQuery = async (sql: string, values: unknown[] = []): Promise<void> => {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql, values);
  } finally {
    await client.end();
  }
};

export const createBenchDatabase = async (kind: StoreKind): Promise<BenchDatabase> => {
  dropOnSignal();
  let db: BenchDatabase;
  if (kind === 'none') {
    db = { url: undefined, drop: async () => undefined };
  } else if (kind === 'sqlite') {
    // A directory of its own: SQLite adds -wal and -shm files beside the database.
    const dir = mkdtempSync(join(tmpdir(), 'ctsbench-'));
    db = {
      url: `sqlite:${join(dir, 'store.sqlite')}`,
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  } else {
    const name = `ctsbench_${randomBytes(6).toString('hex')}`;
    await adminQuery(`CREATE DATABASE ${name}`);
    const url = new URL(POSTGRES_ADMIN_URL);
    url.pathname = `/${name}`;
    db = {
      url: url.toString(),
      drop: async () => {
        // A run that died may have left connections open; DROP would wait for them.
        await adminQuery(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [name],
        );
        await adminQuery(`DROP DATABASE IF EXISTS ${name}`);
      },
    };
  }
  const drop = db.drop;
  const tracked: BenchDatabase = {
    url: db.url,
    drop: async () => {
      dropping.delete(tracked);
      await drop();
    },
  };
  dropping.add(tracked);
  return tracked;
};

// ---- The ledger a run uses, its calls counted -------------------------------------------

const LEDGER_CALLS = [
  'isSent',
  'claim',
  'holdsClaim',
  'recordSent',
  'release',
  'startWatermark',
  'pushSettled',
] as const satisfies readonly (keyof Ledger)[];
type LedgerCall = (typeof LEDGER_CALLS)[number];

/** Per ledger method: how often it was called, and the time its promises took in all (ms). */
export type LedgerCalls = Record<LedgerCall, { count: number; ms: number }>;

/** Counts every call and the time until it settled; the store itself is left as it is. */
const counted = (ledger: Ledger, calls: LedgerCalls): Ledger => {
  const wrap =
    <A extends unknown[], R>(name: LedgerCall, call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const started = performance.now();
      try {
        return await call(...args);
      } finally {
        calls[name].count += 1;
        calls[name].ms += performance.now() - started;
      }
    };
  return {
    isSent: wrap('isSent', (landing) => ledger.isSent(landing)),
    claim: wrap('claim', (landing, options) => ledger.claim(landing, options)),
    holdsClaim: wrap('holdsClaim', (landing) => ledger.holdsClaim(landing)),
    recordSent: wrap('recordSent', (sent) => ledger.recordSent(sent)),
    release: wrap('release', (landing) => ledger.release(landing)),
    startWatermark: wrap('startWatermark', (repo, pushId) => ledger.startWatermark(repo, pushId)),
    pushSettled: wrap('pushSettled', (repo, pushId) => ledger.pushSettled(repo, pushId)),
  };
};

export interface BenchLedger {
  readonly ledger: Ledger;
  readonly policy: LedgerPolicy;
  readonly calls: LedgerCalls;
  close(): Promise<void>;
}

/**
 * The dry-run ledger without a URL; else the store at `url` (opened and migrated here, before
 * anything is timed) under the command's policy. Either way its calls are counted.
 */
export const openBenchLedger = async (
  url: string | undefined,
  policy: LedgerPolicy,
): Promise<BenchLedger> => {
  const calls = Object.fromEntries(
    LEDGER_CALLS.map((name) => [name, { count: 0, ms: 0 }]),
  ) as LedgerCalls;
  if (url === undefined) {
    return { ledger: counted(dryRun.ledger, calls), policy: dryRun.policy, calls, close: noop };
  }
  const store = await openStore(url);
  return { ledger: counted(store, calls), policy, calls, close: () => store.close() };
};

const noop = async () => undefined;

/**
 * One line: store calls per changeset and per push, and the mean time each took as the
 * pipeline saw it (waiting for a connection or SQLite's mutex included).
 */
export const describeLedgerCalls = (
  calls: LedgerCalls,
  changesets: number,
  pushes: number,
): string => {
  const used = LEDGER_CALLS.filter((name) => calls[name].count > 0);
  const total = used.reduce((sum, name) => sum + calls[name].count, 0);
  const each = used.map((name) => {
    const { count, ms } = calls[name];
    const per = name === 'startWatermark' || name === 'pushSettled' ? pushes : changesets;
    const unit = per === pushes ? '/push' : '';
    return `${name} ${(count / per).toFixed(2)}${unit} ${(ms / count).toFixed(2)} ms`;
  });
  return `${(total / changesets).toFixed(2)} calls per changeset (${each.join(', ')})`;
};

// ---- Runs --------------------------------------------------------------------------------

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** `239.1, 241.0, 236.5 changesets/s: median 239.1` */
export const describeRuns = (values: readonly number[], unit: string): string =>
  `${values.map((v) => v.toFixed(1)).join(', ')} ${unit}: median ${median(values).toFixed(1)}`;

// ---- What else used the CPU ------------------------------------------------------------

/** CPU seconds used so far by the whole machine, and by PostgreSQL's and RabbitMQ's processes. */
export interface MachineCpu {
  readonly busy: number;
  readonly postgres: number;
  readonly rabbitmq: number;
}

const TICKS_PER_SECOND = 100;

/** Linux /proc; zeros elsewhere. */
export const machineCpu = (): MachineCpu => {
  const cpu = { busy: 0, postgres: 0, rabbitmq: 0 };
  try {
    // cpu  user nice system idle iowait irq softirq steal ...
    const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    cpu.busy = [user, nice, system, irq, softirq, steal].reduce<number>((a, b) => a + (b ?? 0), 0);
    for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        continue; // it has exited
      }
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const group = name.startsWith('postgres')
        ? 'postgres'
        : name === 'beam.smp'
          ? 'rabbitmq'
          : '';
      if (group === '') continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpu[group] += Number(fields[11]) + Number(fields[12]); // utime, stime
    }
  } catch {
    // not Linux: nothing to say
  }
  return {
    busy: cpu.busy / TICKS_PER_SECOND,
    postgres: cpu.postgres / TICKS_PER_SECOND,
    rabbitmq: cpu.rabbitmq / TICKS_PER_SECOND,
  };
};

/**
 * The CPU the machine spent between two readings beyond `ours` (the benchmark's processes),
 * PostgreSQL and RabbitMQ: what other work took. More than a few tenths of a second in a run
 * of a few seconds means the run was disturbed.
 */
export const otherCpu = (before: MachineCpu, after: MachineCpu, ours: number) => {
  const postgres = after.postgres - before.postgres;
  const rabbitmq = after.rabbitmq - before.rabbitmq;
  const others = Math.max(0, after.busy - before.busy - ours - postgres - rabbitmq);
  return { others, postgres, rabbitmq };
};

export const describeOtherCpu = ({ others, postgres, rabbitmq }: ReturnType<typeof otherCpu>) =>
  `CPU of other processes ${others.toFixed(2)} s (PostgreSQL ${postgres.toFixed(2)} s, ` +
  `RabbitMQ ${rabbitmq.toFixed(2)} s)`;
