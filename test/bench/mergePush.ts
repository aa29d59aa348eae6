/**
 * Memory benchmark of a merge push: one push of 2,000 changesets through the real pipeline
 * (json-pushes, json-rev, Bugzilla, raw-rev, telemetry; the real HTTP clients over loopback
 * against the fixture servers), beside a push of 20, and beside the same 2,000 changesets in
 * 100 pushes of 20 (a run as long, of small pushes only).
 *
 *   npx tsx test/bench/mergePush.ts [--store none|sqlite|postgres] [SMALL LARGE]
 *
 * Defaults: SMALL 20, LARGE 2000, each case with the dry-run ledger (`none`) and with a fresh
 * SQLite store; `--store` picks one ledger. MERGE_BENCH_LATENCY_MS (20) is added to every
 * upstream answer; HTTP_CONCURRENCY is the default 8.
 *
 * The point: a push's changesets are worked a bounded number at a time (DEFAULT_BOUNDS: 16
 * jobs x 8 changesets of each), so a push of 2,000 needs about the memory of a push of 20.
 * Each case runs in a child process of its own on plain node (src/ and this folder transpiled,
 * as worker.ts does), each job handed in as the worker gets it (no node list: the pipeline
 * reads the pushlog), pings PUT to the telemetry fixture, which keeps them in this process.
 * The child reports:
 * - changesets in flight: claimed and not yet recorded sent or released (the ledger's view),
 *   and fetched (json-rev asked for) and not yet handed to the sink;
 * - wall time, from the first job to the last outcome;
 * - peak RSS of the run: VmHWM from /proc/self/status, reset just before the run (clear_refs),
 *   beside the RSS before it; the most heap in use (sampled every 10 ms), and the heap still
 *   in use after a full collection at 25/50/75/100% of the pings: what is kept, not garbage.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { from, lastValueFrom, reduce } from 'rxjs';
import { createClients, createTelemetryClient } from '../../src/clients/index.js';
import type { Ping } from '../../src/codecs/ping.js';
import { configureLog } from '../../src/log.js';
import { DEFAULT_BOUNDS, pipeline } from '../../src/pipeline/index.js';
import type { Job } from '../../src/pipeline/job.js';
import type { Ledger } from '../../src/pipeline/ledger.js';
import { telemetrySink } from '../../src/sinks/telemetry.js';
import { CountingLimits } from '../support/countingLimits.js';
import { startFixtures } from '../support/standIns/fixtureServer.js';
import { syntheticFixtures } from '../support/data/syntheticFixtures.js';
import {
  STORE_KINDS,
  createBenchDatabase,
  describeLedgerCalls,
  openBenchLedger,
  type LedgerCalls,
  type StoreKind,
} from './support/benchStore.js';
import { transpileForNode } from './support/plainNode.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SELF = relative(ROOT, fileURLToPath(import.meta.url));
const REPO_PATH = 'integration/autoland';
const CONCURRENCY = 8;
const MB = 1024 * 1024;
const USAGE = 'tsx test/bench/mergePush.ts [--store none|sqlite|postgres] [SMALL LARGE]';

/** What the pipeline may hold at once for `pushes` pushes of `perPush` changesets. */
const boundFor = (pushes: number, perPush: number) =>
  Math.min(pushes, DEFAULT_BOUNDS.jobs) * Math.min(perPush, DEFAULT_BOUNDS.changesetsPerJob);

interface CaseSpec {
  readonly repository: string;
  readonly hgHost: string;
  readonly bmoApiUrl: string;
  readonly tmoBaseUrl: string;
  readonly pushes: number;
  readonly perPush: number;
  readonly databaseUrl: string | undefined;
}

interface CaseResult {
  readonly seconds: number;
  readonly sent: number;
  readonly failed: number;
  readonly firstFailure: string | undefined;
  /** Most changesets claimed and not yet recorded sent (or released) at once. */
  readonly peakClaimed: number;
  /** Most changesets whose json-rev was asked for and whose ping was not yet sent, at once. */
  readonly peakFetched: number;
  readonly rssBefore: number;
  /** VmHWM after the run, reset just before it; or, if it could not be reset, since start. */
  readonly peakRss: number;
  readonly peakRssSinceStart: boolean;
  readonly heapBefore: number;
  readonly peakHeap: number;
  /** Heap in use right after a full collection, at 25, 50, 75 and 100% of the pings sent. */
  readonly liveHeapAt: number[];
  /** The largest job outcome, as JSON: a job holds every changeset's outcome until it is done. */
  readonly outcomeBytes: number;
  readonly ledgerCalls: LedgerCalls;
}

// ---- One case, in its own process --------------------------------------------------------

const vmHwm = (): number => {
  const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return match === null ? process.resourceUsage().maxRSS * 1024 : Number(match[1]) * 1024;
};

/** Resets the kernel's peak RSS of this process (Linux 4.0+); false if it cannot. */
const resetPeakRss = (): boolean => {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
};

const runCase = async (spec: CaseSpec): Promise<CaseResult> => {
  configureLog({ level: 'silent' });
  const limits = new CountingLimits(CONCURRENCY);
  const upstream = {
    BMO_API_URL: spec.bmoApiUrl,
    ALLOWED_HOSTS: [spec.hgHost],
    HTTP_CONCURRENCY: CONCURRENCY,
    DEBUG: false,
  };
  const { hg, bugzilla } = createClients(upstream, {}, limits);
  const telemetry = telemetrySink(
    createTelemetryClient(limits, {
      TMO_BASE_URL: spec.tmoBaseUrl,
      TMO_PING_NAMESPACE: 'eng-workflow',
      TMO_PING_DOCTYPE: 'hgpush',
      TMO_PING_DOCVERSION: '1',
    }),
  );
  // As process-queue-messages, which is where merge pushes usually come from.
  const opened = await openBenchLedger(spec.databaseUrl, {
    whenHeld: 'defer',
    startsWatermarks: true,
  });

  // Changesets in flight, seen two ways: between claim and ledger, between json-rev and sink.
  let claimed = 0;
  let peakClaimed = 0;
  const unclaim = async (settle: Promise<void>) => {
    await settle;
    claimed -= 1;
  };
  const ledger: Ledger = {
    ...opened.ledger,
    claim: async (landing, options) => {
      const answer = await opened.ledger.claim(landing, options);
      if (answer === 'claimed') peakClaimed = Math.max(peakClaimed, (claimed += 1));
      return answer;
    },
    recordSent: (sent) => unclaim(opened.ledger.recordSent(sent)),
    release: (landing) => unclaim(opened.ledger.release(landing)),
  };
  let fetched = 0;
  let peakFetched = 0;
  const countedHg = {
    pushlogPage: hg.pushlogPage.bind(hg),
    diffstat: hg.diffstat.bind(hg),
    changeset: (repository: string, node: string) => {
      peakFetched = Math.max(peakFetched, (fetched += 1));
      return hg.changeset(repository, node).catch((error: unknown) => {
        fetched -= 1;
        throw error;
      });
    },
  };
  // A full collection at each quarter of the pings tells what is kept from what is garbage.
  const gc = (globalThis as { gc?: () => void }).gc;
  const total = spec.pushes * spec.perPush;
  const marks = [0.25, 0.5, 0.75, 1].map((share) => Math.ceil(share * total));
  const liveHeapAt: number[] = [];
  let sent = 0;
  const sink = {
    send: async (ping: Ping) => {
      await telemetry.send(ping);
      fetched -= 1;
      sent += 1;
      if (gc !== undefined && marks.includes(sent)) {
        gc();
        liveHeapAt.push(process.memoryUsage().heapUsed);
      }
    },
  };

  const jobs: Job[] = Array.from({ length: spec.pushes }, (_, i) => ({
    label: `push ${i + 1}`,
    target: { kind: 'push', repository: spec.repository, pushId: i + 1 },
    receivedAt: Date.now(),
  }));
  gc?.();
  const rssBefore = process.memoryUsage.rss();
  const heapBefore = process.memoryUsage().heapUsed;
  let peakHeap = heapBefore;
  const sampler = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 10);
  const reset = resetPeakRss();
  const started = performance.now();
  const deps = { hg: countedHg, bugzilla, sink, ledger, policy: opened.policy };
  // Each job's outcome is counted and let go, as a source does once it has acked.
  const totals = await lastValueFrom(
    pipeline(
      deps,
      DEFAULT_BOUNDS,
    )(from(jobs)).pipe(
      reduce(
        (acc, { outcomes }) => {
          for (const outcome of outcomes) {
            if (outcome.status === 'sent') acc.sent += 1;
            if (outcome.status === 'failed') {
              acc.failed += 1;
              acc.firstFailure ??= outcome.error.message;
            }
          }
          acc.outcomeBytes = Math.max(acc.outcomeBytes, JSON.stringify(outcomes).length);
          return acc;
        },
        { sent: 0, failed: 0, firstFailure: undefined as string | undefined, outcomeBytes: 0 },
      ),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const peakRss = vmHwm();
  await opened.close();
  return {
    seconds,
    ...totals,
    peakClaimed,
    peakFetched,
    rssBefore,
    peakRss,
    peakRssSinceStart: !reset,
    heapBefore,
    peakHeap,
    liveHeapAt,
    ledgerCalls: opened.calls,
  };
};

// ---- The driver: fixtures here, each case in a child -------------------------------------

const runChild = (script: string | undefined, spec: CaseSpec): Promise<CaseResult> =>
  new Promise((resolve, reject) => {
    const args = [
      ...(script === undefined ? process.execArgv : []),
      '--expose-gc',
      script ?? join(ROOT, SELF),
      '--case',
      JSON.stringify(spec),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`the case exited ${code}`));
      resolve(JSON.parse(out) as CaseResult);
    });
  });

interface Case {
  readonly label: string;
  readonly pushes: number;
  readonly perPush: number;
}

const measure = async (
  script: string | undefined,
  c: Case,
  store: StoreKind,
  latencyMs: number,
) => {
  const data = syntheticFixtures({
    pushes: c.pushes,
    changesetsPerPush: c.perPush,
    repoPath: REPO_PATH,
  });
  const fx = await startFixtures({ data, latencyMs });
  const database = await createBenchDatabase(store);
  try {
    const result = await runChild(script, {
      repository: fx.repo(REPO_PATH),
      hgHost: fx.hg.host,
      bmoApiUrl: fx.env.BMO_API_URL!,
      tmoBaseUrl: fx.env.TMO_BASE_URL!,
      pushes: c.pushes,
      perPush: c.perPush,
      databaseUrl: database.url,
    });
    if (fx.tmo.received.size !== result.sent) {
      throw new Error(`telemetry received ${fx.tmo.received.size} pings, ${result.sent} sent`);
    }
    return { result, hgPeakInFlight: fx.hg.peakInFlight };
  } finally {
    await database.drop();
    await fx.close();
  }
};

const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

const parseArgs = (argv: string[]) => {
  let stores: StoreKind[] = ['none', 'sqlite'];
  const sizes: number[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--store') {
      const store = argv[(i += 1)] as StoreKind;
      if (!STORE_KINDS.includes(store)) throw new Error(`usage: ${USAGE}`);
      stores = [store];
    } else {
      sizes.push(Number(argv[i]));
    }
  }
  const [small = 20, large = 2000] = sizes;
  const valid = (n: number) => Number.isInteger(n) && n >= 1;
  if (sizes.length > 2 || !valid(small) || !valid(large) || large % small !== 0) {
    throw new Error(`usage: ${USAGE} (LARGE a multiple of SMALL)`);
  }
  return { stores, small, large };
};

const main = async (argv: string[]) => {
  const { stores, small, large } = parseArgs(argv);
  const latencyMs = Number(process.env.MERGE_BENCH_LATENCY_MS ?? 20);
  const cases: Case[] = [
    { label: `one push of ${small}`, pushes: 1, perPush: small },
    { label: `one push of ${large}`, pushes: 1, perPush: large },
    { label: `${large / small} pushes of ${small}`, pushes: large / small, perPush: small },
  ];

  const dir = mkdtempSync(join(tmpdir(), 'merge-bench-'));
  try {
    const script = await transpileForNode(join(dir, 'js'), SELF, [
      'src',
      'streams',
      join('test', 'support'),
      join('test', 'bench'),
    ]);
    console.log(
      `${latencyMs} ms added to every upstream answer, HTTP_CONCURRENCY=${CONCURRENCY}, bounds ` +
        `${DEFAULT_BOUNDS.jobs} jobs x ${DEFAULT_BOUNDS.changesetsPerJob} changesets; each case ` +
        `in a process of its own (${script === undefined ? 'tsx' : 'plain node'})`,
    );
    let ok = true;
    for (const store of stores) {
      const rows: string[] = [];
      for (const c of cases) {
        const { result: r, hgPeakInFlight } = await measure(script, c, store, latencyMs);
        const bound = boundFor(c.pushes, c.perPush);
        const bounded = r.peakClaimed <= bound && r.peakFetched <= bound;
        ok &&= bounded && r.failed === 0;
        const live = r.liveHeapAt.at(-1) ?? r.heapBefore;
        console.log(
          [
            `\n${c.label} (${c.pushes * c.perPush} changesets), store ${store}`,
            `  done        ${r.sent} sent, ${r.failed} failed` +
              (r.firstFailure === undefined ? '' : ` (first: ${r.firstFailure})`) +
              ` in ${r.seconds.toFixed(2)} s (${((r.sent + r.failed) / r.seconds).toFixed(0)} changesets/s)`,
            `  in flight   at most ${r.peakClaimed} changesets claimed and not yet recorded, ` +
              `${r.peakFetched} fetched and not yet sent (bound ${bound}: ` +
              `${bounded ? 'ok' : 'EXCEEDED'}); hg requests in flight at most ${hgPeakInFlight}`,
            `  peak RSS    ${mb(r.peakRss)}${r.peakRssSinceStart ? ' (since start)' : ''}` +
              ` (${mb(r.rssBefore)} before the run: +${mb(r.peakRss - r.rssBefore)})`,
            `  heap        ${mb(r.heapBefore)} before the run, peak ${mb(r.peakHeap)} in use; ` +
              `after a full GC at 25/50/75/100% of the pings ${r.liveHeapAt.map(mb).join(' / ')}` +
              ` (the largest job outcome: ${(r.outcomeBytes / 1024).toFixed(0)} KB as JSON)`,
            `  ledger      ${describeLedgerCalls(r.ledgerCalls, r.sent + r.failed, c.pushes)}`,
          ].join('\n'),
        );
        rows.push(
          `  ${c.label.padEnd(20)} ${String(r.peakClaimed).padStart(3)} in flight, ` +
            `${r.seconds.toFixed(1).padStart(5)} s, peak RSS ${mb(r.peakRss)} ` +
            `(+${mb(r.peakRss - r.rssBefore)}), live heap at the end ${mb(live)} ` +
            `(+${mb(live - r.heapBefore)})`,
        );
      }
      console.log(`\nsummary, store ${store}:\n${rows.join('\n')}`);
    }
    console.log(`\nbound on changesets in flight: ${ok ? 'held' : 'NOT held'} in every case`);
    return ok ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

if (process.argv[2] === '--case') {
  const result = await runCase(JSON.parse(process.argv[3]!) as CaseSpec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  process.exitCode = await main(process.argv.slice(2));
}
