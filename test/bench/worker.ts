/**
 * Benchmark of the Pulse worker: 1,000 hgpush messages of 3 changesets each, published to a
 * fresh queue on the local RabbitMQ, consumed by the worker's own PulseSource, pipeline and
 * telemetry sink, against fixture upstreams that add 20 ms to every answer, with
 * HTTP_CONCURRENCY=10.
 *
 *   npx tsx test/bench/worker.ts [messages] [prefetch ...]   (defaults: 1000, then 32 and 256)
 *     --store KIND   none | sqlite | postgres: the worker's ledger (benchStore.ts); `none` is
 *                    the dry-run ledger, the pipeline without a store; default sqlite
 *     --runs N       each prefetch N times, then the median changesets/s (default 1)
 *     --in-process   run the worker in this process (beside the fixture servers)
 *     --tsx          run the worker process under tsx rather than plain node
 *     --cpu-prof DIR write a CPU profile of each worker process into DIR
 *
 * Each run has a fresh queue, fresh upstreams, a fresh store and a fresh worker process, so
 * that no run inherits another's heap or ledger. This process plays hg.mozilla.org (it
 * declares the queue, publishes, and serves the fixtures); the worker is a child process
 * running the service's own Worker (src/worker/worker.ts: PulseSource, pipeline, telemetry
 * sink, metrics) on the same code (src/, streams/ and this file transpiled once into a
 * temporary directory and run on plain node, as the service runs from dist/: under tsx a
 * loader thread adds ~27 MB to every RSS figure). The worker reports its Http counters,
 * store calls, timings and RSS over IPC.
 *
 * Goals (issue 5): at least 80% of the ceiling the per-host cap allows (requests to the
 * busiest host x 20 ms / 10), more than 15 times a one-request-at-a-time client (all
 * requests x 20 ms), peak RSS under 200 MB and flat, and the prefetch not the limit.
 * With the store: a median within 10% of the same run with `--store none`.
 * Time runs from the first delivery to the last ack.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import {
  monitorEventLoopDelay,
  performance,
  type EventLoopUtilization,
  type IntervalHistogram,
} from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import amqplib from 'amqplib';
import { tap } from 'rxjs';
import { PulseSource, type Settlement } from '../../streams/pulse/source.js';
import { pulseNames, type PulseNames } from '../../streams/pulse/connection/names.js';
import { createClients, createTelemetryClient } from '../../src/clients/index.js';
import { PulseSettings, TelemetrySettings, UpstreamSettings } from '../../src/codecs/settings.js';
import { readSettings } from '../../src/config.js';
import { configureLog } from '../../src/log.js';
import { telemetrySink } from '../../src/sinks/telemetry.js';
import { WorkerMetrics } from '../../src/worker/metrics.js';
import { Worker } from '../../src/worker/worker.js';
import { Admin, BROKER, HGPUSH_EXCHANGE, createPulseUser } from '../support/broker.js';
import { CountingLimits } from '../support/countingLimits.js';
import { startFixtures, type Fixtures, type Upstream } from '../support/standIns/fixtureServer.js';
import { changegroupMessage } from '../support/data/messages.js';
import { syntheticFixtures } from '../support/data/syntheticFixtures.js';
import {
  createBenchDatabase,
  describeLedgerCalls,
  describeOtherCpu,
  describeRuns,
  machineCpu,
  median,
  openBenchLedger,
  otherCpu,
  parseBenchOptions,
  type LedgerCalls,
  type MachineCpu,
  type StoreKind,
} from './support/benchStore.js';
import { transpileForNode } from './support/plainNode.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SELF = relative(ROOT, fileURLToPath(import.meta.url));
const REPO = 'integration/autoland';
const LATENCY_MS = 20;
const CONCURRENCY = 10;
const CHANGESETS_PER_PUSH = 3;
const MB = 1e6;
const GOAL_SHARE = 0.8;
const GOAL_SPEEDUP = 15;
const GOAL_RSS = 200 * MB;
/** The prefetch does not limit when the busiest host's slots are taken this share of the time. */
const GOAL_BUSY = 0.95;
/**
 * Flat: the heap still in use after a full collection grows by at most this much from 25% to
 * 100% of the run (RSS itself saws with the collector). Without gc exposed (--in-process),
 * no later quarter of the run may peak more than 25% above the first quarter's peak RSS.
 */
const FLAT_HEAP = 10 * MB;
const FLAT_RSS = 1.25;
const HOSTS = ['hg', 'bmo', 'tmo'] as const;
type HostName = (typeof HOSTS)[number];

const orThrow = <T>(decoded: { ok: true; value: T } | { ok: false; error: Error }): T => {
  if (!decoded.ok) throw decoded.error;
  return decoded.value;
};
/** The histogram holds whole intervals: lateness is what exceeds its resolution, in ms. */
const LOOP_RESOLUTION_MS = 5;
const lateness = (h: IntervalHistogram): [number, number] => [
  Math.max(0, h.percentile(50) / 1e6 - LOOP_RESOLUTION_MS),
  Math.max(0, h.percentile(99) / 1e6 - LOOP_RESOLUTION_MS),
];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (since: bigint, until = process.hrtime.bigint()) => Number(until - since) / 1e9;

// ---------------------------------------------------------------------------------------
// The worker: the service's own Worker, its source, pipeline, sink and store

interface WorkerSpec {
  readonly env: Record<string, string>;
  readonly prefetch: number;
  readonly messages: number;
  /** Host (`127.0.0.1:port`) of each fixture upstream, to read the Http counters by. */
  readonly hosts: Record<HostName, string>;
  /** DATABASE_URL of a fresh store, or none for the dry-run ledger. */
  readonly databaseUrl: string | undefined;
}

type Action = Settlement['action'];

interface WorkerReport {
  readonly seconds: number;
  /** What became of the messages: acked, requeued, parked, ... */
  readonly actions: Partial<Record<Action, number>>;
  /** The worker's own view, from its Http counters. */
  readonly client: Record<HostName, { requests: number; peakInFlight: number; mean: number }>;
  /** Most messages delivered and not yet settled at once. */
  readonly peakUnsettled: number;
  readonly cpuSeconds: number;
  readonly loopBusy: number;
  /** How late the worker's event loop ran timers: median and 99th percentile, in ms. */
  readonly loopDelay: [number, number];
  /** RSS once the worker is set up (clients, store), before it connects. */
  readonly startRss: number;
  /** RSS when 25, 50, 75 and 100% of the messages were settled. */
  readonly rssAt: number[];
  /** The most RSS sampled (every 50 ms) in each quarter of the messages. */
  readonly quarterPeaks: number[];
  /** Heap in use right after a full collection at 25, 50, 75 and 100% (when gc is exposed). */
  readonly liveHeapAt: number[];
  /** The most of RSS sampled every 50 ms and of the kernel's maxrss. */
  readonly peakRss: number;
  readonly runtime: string;
  readonly ledgerCalls: LedgerCalls;
  /** The machine's CPU at the first delivery and once every message is settled. */
  readonly machine: [MachineCpu, MachineCpu];
}

/**
 * Sets up as process-queue-messages does (clients, telemetry sink, store), calls `ready` and
 * waits for it (the messages are published then), makes and starts the worker, and stops it
 * once every message is settled.
 */
const runWorker = async (spec: WorkerSpec, ready: () => Promise<void>): Promise<WorkerReport> => {
  configureLog({ level: 'warn' });
  const { env, messages, hosts } = spec;
  const actions: Partial<Record<Action, number>> = {};
  const marks = [0.25, 0.5, 0.75, 1].map((share) => Math.ceil(share * messages));
  const rssAt: number[] = [];
  const quarterPeaks: number[] = [];
  const liveHeapAt: number[] = [];
  const gc = (globalThis as { gc?: () => void }).gc;
  let settled = 0;
  let lastAck: bigint | undefined;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  let firstDelivery: bigint | undefined;
  let cpu: NodeJS.CpuUsage | undefined;
  let loop: EventLoopUtilization | undefined;
  let machineAtStart: MachineCpu | undefined;
  let machineAtEnd: MachineCpu | undefined;
  const delay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });

  const upstream = orThrow(readSettings(UpstreamSettings, env));
  const limits = new CountingLimits(upstream.HTTP_CONCURRENCY);
  const clients = createClients(upstream, {}, limits);
  const sink = telemetrySink(
    createTelemetryClient(limits, orThrow(readSettings(TelemetrySettings, env))),
  );
  // As process-queue-messages: a claim held elsewhere defers the message; it starts watermarks.
  const { ledger, policy, calls, close } = await openBenchLedger(spec.databaseUrl, {
    whenHeld: 'defer',
    startsWatermarks: true,
  });
  await ready();
  // A PulseSource connects as soon as it is made: made only now, it connects as the run starts.
  const source = new PulseSource({
    settings: orThrow(readSettings(PulseSettings, env)),
    allowedHosts: upstream.ALLOWED_HOSTS,
    prefetch: spec.prefetch,
  });
  // Time runs from the first delivery: the worker takes `jobs` from the source, so the
  // benchmark watches them go by on the way.
  const jobs = source.jobs.pipe(
    tap(() => {
      if (firstDelivery !== undefined) return;
      firstDelivery = process.hrtime.bigint();
      machineAtStart = machineCpu();
      cpu = process.cpuUsage();
      loop = performance.eventLoopUtilization();
      delay.enable();
    }),
  );
  Object.defineProperty(source, 'jobs', { value: jobs });
  source.settlements.subscribe((settlement) => {
    actions[settlement.action] = (actions[settlement.action] ?? 0) + 1;
    settled += 1;
    if (settlement.action === 'ack') lastAck = process.hrtime.bigint();
    if (marks.includes(settled)) {
      const rss = process.memoryUsage.rss();
      rssAt.push(rss);
      quarterPeaks[rssAt.length - 1] = Math.max(quarterPeaks[rssAt.length - 1] ?? 0, rss);
      if (gc !== undefined) {
        gc();
        liveHeapAt.push(process.memoryUsage().heapUsed);
      }
    }
    if (settled === messages) {
      machineAtEnd = machineCpu();
      done();
    }
  });
  const worker = new Worker({
    source,
    deps: { ...clients, sink, ledger, policy },
    metrics: new WorkerMetrics(),
    graceMs: 5_000,
  });

  let sampler: NodeJS.Timeout | undefined;
  try {
    const startRss = process.memoryUsage.rss();
    let peakRss = startRss;
    let peakUnsettled = 0;
    let samples = 0;
    const inFlight: Record<HostName, number> = { hg: 0, bmo: 0, tmo: 0 };
    let ticks = 0;
    sampler = setInterval(() => {
      ticks += 1;
      peakUnsettled = Math.max(peakUnsettled, source.inFlight);
      if (ticks % 5 === 0) {
        const rss = process.memoryUsage.rss();
        peakRss = Math.max(peakRss, rss);
        const quarter = Math.min(rssAt.length, 3);
        if (firstDelivery !== undefined) {
          quarterPeaks[quarter] = Math.max(quarterPeaks[quarter] ?? 0, rss);
        }
      }
      if (firstDelivery === undefined) return;
      samples += 1;
      for (const name of HOSTS) inFlight[name] += limits.inFlight.get(hosts[name]) ?? 0;
    }, 10);
    await worker.start();
    await finished;
    const elapsed = seconds(firstDelivery!, lastAck);
    const cpuUsed = process.cpuUsage(cpu);
    const loopUsed = performance.eventLoopUtilization(loop);
    delay.disable();
    clearInterval(sampler);
    const client = Object.fromEntries(
      HOSTS.map((name) => [
        name,
        {
          requests: limits.requestCount.get(hosts[name]) ?? 0,
          peakInFlight: limits.peakInFlight.get(hosts[name]) ?? 0,
          mean: inFlight[name] / Math.max(samples, 1),
        },
      ]),
    ) as WorkerReport['client'];
    return {
      seconds: elapsed,
      actions,
      client,
      peakUnsettled,
      cpuSeconds: (cpuUsed.user + cpuUsed.system) / 1e6,
      loopBusy: loopUsed.utilization,
      loopDelay: lateness(delay),
      startRss,
      rssAt,
      quarterPeaks,
      liveHeapAt,
      peakRss: Math.max(peakRss, process.resourceUsage().maxRSS * 1024),
      runtime: process.execArgv.some((a) => a.includes('tsx')) ? 'node + tsx' : 'node',
      ledgerCalls: calls,
      machine: [machineAtStart!, machineAtEnd!],
    };
  } finally {
    if (sampler !== undefined) clearInterval(sampler);
    await worker.stop('benchmark over');
    await close();
  }
};

type ToWorker = { type: 'go' };
type FromWorker = { type: 'ready' } | { type: 'done'; report: WorkerReport };

/** Worker-process mode: the spec comes as JSON on the command line, the rest over IPC. */
const workerMode = async (specJson: string): Promise<void> => {
  const send = (message: FromWorker) =>
    new Promise<void>((resolve) => process.send!(message, () => resolve()));
  const go = new Promise<void>((resolve) =>
    process.on('message', (message: ToWorker) => message.type === 'go' && resolve()),
  );
  const report = await runWorker(JSON.parse(specJson) as WorkerSpec, async () => {
    await send({ type: 'ready' });
    await go;
  });
  await send({ type: 'done', report });
  process.disconnect();
};

interface WorkerHandle {
  /** Resolves once the worker is set up, before it connects. */
  readonly ready: Promise<void>;
  /** Lets it consume; resolves with its report once it has settled every message. */
  go(): Promise<WorkerReport>;
  /** Ends it (a no-op once it has finished by itself). */
  kill(): void;
}

const startWorkerInProcess = (spec: WorkerSpec): WorkerHandle => {
  let readyResolve: () => void = () => undefined;
  let goResolve: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (readyResolve = resolve));
  const going = new Promise<void>((resolve) => (goResolve = resolve));
  const report = runWorker(spec, async () => {
    readyResolve();
    await going;
  });
  return {
    ready: Promise.race([ready, report.then(() => undefined)]),
    go: () => {
      goResolve();
      return report;
    },
    kill: () => undefined,
  };
};

const startWorkerProcess = (
  spec: WorkerSpec,
  script: string | undefined,
  cpuProfDir: string | undefined,
): WorkerHandle => {
  const profile = cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`];
  // A full collection at each quarter shows whether the live heap grows (a few ms each).
  const flags = ['--expose-gc', ...profile];
  const child = fork(script ?? join(ROOT, SELF), ['--worker', JSON.stringify(spec)], {
    execArgv: [...(script === undefined ? process.execArgv : []), ...flags],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) =>
      reject(new Error(`the worker process exited early (${code ?? signal})`)),
    ),
  );
  const next = (type: FromWorker['type']) =>
    Promise.race([
      new Promise<FromWorker>((resolve) => {
        const listener = (message: FromWorker) => {
          if (message.type !== type) return;
          child.off('message', listener);
          resolve(message);
        };
        child.on('message', listener);
      }),
      exited,
    ]);
  const ready = next('ready').then(() => undefined);
  return {
    ready,
    go: async () => {
      const done = next('done');
      child.send({ type: 'go' } satisfies ToWorker);
      const message = await done;
      if (message.type !== 'done') throw new Error('unexpected message');
      // Let it stop and exit by itself, so a CPU profile gets written; kill it if it lingers.
      await new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(0);
        const timer = setTimeout(() => child.kill(), 15_000);
        child.once('exit', () => resolve(clearTimeout(timer)));
      });
      return message.report;
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    },
  };
};

// ---------------------------------------------------------------------------------------
// One run: fresh upstreams, queue and worker

interface HostStats {
  readonly requests: number;
  readonly peakInFlight: number;
  /** Requests by kind: `GET json-rev`, `PUT submit`, ... */
  readonly kinds: Record<string, number>;
}

interface RunResult {
  readonly prefetch: number;
  readonly messages: number;
  readonly publishSeconds: number;
  readonly upstream: Record<HostName, HostStats>;
  /** Pings the telemetry fixture accepted. */
  readonly received: number;
  readonly worker: WorkerReport;
  /** The worker ran in this process: its CPU figures include the upstreams'. */
  readonly inProcess: boolean;
  /** The machine's load average and CPU pressure (PSI `some avg10`, %) at start and end. */
  readonly load: [number, number];
  readonly pressure: [number | undefined, number | undefined];
  /** CPU seconds this process (the upstreams) spent while the worker ran. */
  readonly upstreamCpu: number;
  /** What else used the CPU while the worker ran: the broker, the database, other work. */
  readonly other: ReturnType<typeof otherCpu>;
  /** How late this process (the upstreams) ran timers such as their 20 ms: p50 and p99, ms. */
  readonly upstreamDelay: [number, number];
}

/** Share of the last 10 s in which some runnable task waited for a CPU (Linux PSI), in %. */
const cpuPressure = (): number | undefined => {
  try {
    const match = /^some avg10=([\d.]+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
};

const kindOf = (line: string): string => {
  const [method, path = ''] = line.split(' ');
  const known = /\/(json-pushes|json-rev|raw-rev|attachment|history|submit)\b/.exec(path);
  return `${method} ${known?.[1] ?? 'other'}`;
};

const hostStats = (upstream: Upstream): HostStats => {
  const kinds: Record<string, number> = {};
  for (const line of upstream.requests) kinds[kindOf(line)] = (kinds[kindOf(line)] ?? 0) + 1;
  return { requests: upstream.requests.length, peakInFlight: upstream.peakInFlight, kinds };
};

/** Runs `task` on a channel of the broker's administrator, for what Admin has no call for. */
const asBrokerAdmin = async (task: (channel: amqplib.Channel) => Promise<unknown>) => {
  const connection = await amqplib.connect(`amqp://guest:guest@${BROKER.host}:${BROKER.port}`);
  try {
    await task(await connection.createChannel());
  } finally {
    await connection.close().catch(() => undefined);
  }
};

/**
 * The worker's queue, declared and bound as the worker declares it, so that the messages
 * published before the worker connects wait there.
 */
const declareQueue = (queue: string, routingKey: string) =>
  asBrokerAdmin(async (channel) => {
    await channel.assertQueue(queue, { durable: true, exclusive: false, autoDelete: false });
    await channel.bindQueue(queue, HGPUSH_EXCHANGE, routingKey);
  });

/** Every `queue/...` and `exchange/...` among the names (retry steps included). */
const brokerNames = (value: unknown): string[] =>
  typeof value === 'string'
    ? [value].filter((name) => /^(queue|exchange)\//.test(name))
    : typeof value === 'object' && value !== null
      ? Object.values(value).flatMap(brokerNames)
      : [];

/** The queues and exchanges the worker may have declared, each on a channel of its own. */
const deleteDeclared = async (names: PulseNames) => {
  for (const name of brokerNames(names)) {
    const queue = name.startsWith('queue/');
    await asBrokerAdmin((channel) =>
      queue ? channel.deleteQueue(name) : channel.deleteExchange(name),
    ).catch(() => undefined); // already gone: nothing to clean up
  }
};

const run = async (options: {
  user: Awaited<ReturnType<typeof createPulseUser>>;
  admin: Admin;
  messages: number;
  prefetch: number;
  store: StoreKind;
  inProcess: boolean;
  start: (spec: WorkerSpec) => WorkerHandle;
}): Promise<RunResult> => {
  const { user, admin, messages, prefetch } = options;
  const queueName = `bench-${randomBytes(4).toString('hex')}`;
  const routingKey = `bench/${queueName}`;
  const names = pulseNames(user.username, queueName);
  let fx: Fixtures | undefined;
  let worker: WorkerHandle | undefined;
  const database = await createBenchDatabase(options.store);
  try {
    const data = syntheticFixtures({ pushes: messages, changesetsPerPush: CHANGESETS_PER_PUSH });
    fx = await startFixtures({ data, latencyMs: LATENCY_MS });
    const env = {
      ...user.env(queueName, routingKey),
      ...fx.env,
      HTTP_CONCURRENCY: String(CONCURRENCY),
    };
    const hosts = { hg: fx.hg.host, bmo: fx.bmo.host, tmo: fx.tmo.host };
    worker = options.start({ env, prefetch, messages, hosts, databaseUrl: database.url });
    await worker.ready;

    await declareQueue(names.queue, routingKey);
    const publishStart = process.hrtime.bigint();
    const repoUrl = fx.repo(REPO);
    for (let pushId = 1; pushId <= messages; pushId += 1) {
      await admin.publish(routingKey, changegroupMessage(repoUrl, pushId));
    }
    const publishSeconds = seconds(publishStart);
    while ((await admin.depth(names.queue)) < messages) await sleep(50);

    const load = loadavg()[0]!;
    const pressure = cpuPressure();
    const delay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    delay.enable();
    const cpu = process.cpuUsage();
    const report = await worker.go();
    const upstreamCpu = process.cpuUsage(cpu);
    const upstreamSeconds = (upstreamCpu.user + upstreamCpu.system) / 1e6;
    // The worker read the machine's CPU over its run (a store's connections close after it).
    const ours = report.cpuSeconds + (options.inProcess ? 0 : upstreamSeconds);
    const other = otherCpu(report.machine[0], report.machine[1], ours);
    delay.disable();
    return {
      prefetch,
      messages,
      publishSeconds,
      upstream: { hg: hostStats(fx.hg), bmo: hostStats(fx.bmo), tmo: hostStats(fx.tmo) },
      received: fx.tmo.received.size,
      worker: report,
      inProcess: options.inProcess,
      load: [load, loadavg()[0]!],
      pressure: [pressure, cpuPressure()],
      upstreamDelay: lateness(delay),
      upstreamCpu: upstreamSeconds,
      other,
    };
  } finally {
    worker?.kill();
    await deleteDeclared(names);
    await fx?.close();
    await database.drop();
  }
};

// ---------------------------------------------------------------------------------------
// The report

const mb = (bytes: number) => (bytes / MB).toFixed(1);
const signed = (bytes: number) => `${bytes >= 0 ? '+' : ''}${mb(bytes)}`;
const verdict = (ok: boolean) => (ok ? 'ok' : 'MISSED');

interface Figures {
  readonly seconds: number;
  /** Changesets per second, first delivery to last ack. */
  readonly rate: number;
  readonly share: number;
  readonly speedup: number;
  readonly ok: boolean;
}

const report = (r: RunResult, title: string): Figures => {
  const { upstream: hosts, worker: w, messages } = r;
  const total = HOSTS.reduce((sum, name) => sum + hosts[name].requests, 0);
  const busiest = HOSTS.reduce((a, b) => (hosts[b].requests > hosts[a].requests ? b : a));
  const ceiling = (hosts[busiest].requests * LATENCY_MS) / 1000 / CONCURRENCY;
  const share = ceiling / w.seconds;
  const baseline = (total * LATENCY_MS) / 1000;
  const speedup = baseline / w.seconds;
  // Every message acked, nothing else: deferred, requeued, retried, parked, ...
  const { ack = 0, ...others } = w.actions;
  const notAcked = Object.entries(others).map(([action, n]) => `${n} ${action}`);
  const correct = ack === messages && r.received === messages * CHANGESETS_PER_PUSH;
  const heap = w.liveHeapAt;
  const [first = 0, ...later] = w.quarterPeaks;
  const flat =
    heap.length === 4
      ? heap[3]! - heap[0]! <= FLAT_HEAP
      : w.quarterPeaks.length === 4 && later.every((peak) => peak <= first * FLAT_RSS);
  const rssOk = w.peakRss < GOAL_RSS && flat;
  // Were the busiest host's slots always taken? If not, work ran out: the prefetch limits.
  const busy = w.client[busiest].mean / CONCURRENCY;
  const prefetchOk = busy >= GOAL_BUSY;

  console.log(`\n== ${title}`);
  console.log(
    `messages     ${messages} published in ${r.publishSeconds.toFixed(1)} s; ${ack} acked` +
      `${notAcked.length > 0 ? ` (and ${notAcked.join(', ')})` : ''}; ${r.received} pings ` +
      `received by telemetry: ${verdict(correct)}`,
  );
  console.log(
    `throughput   ${w.seconds.toFixed(2)} s first delivery to last ack: ` +
      `${(messages / w.seconds).toFixed(1)} messages/s, ${(r.received / w.seconds).toFixed(1)} changesets/s`,
  );
  for (const name of HOSTS) {
    const h = hosts[name];
    const c = w.client[name];
    const kinds = Object.entries(h.kinds)
      .map(([kind, n]) => `${kind} ${n}`)
      .join(', ');
    console.log(
      `${name.padEnd(12)} ${String(h.requests).padStart(5)} requests, peak in flight ` +
        `${h.peakInFlight} (worker's Http: ${c.requests} requests, peak ${c.peakInFlight}, ` +
        `mean ${c.mean.toFixed(1)}) [${kinds}]`,
    );
  }
  console.log(
    `worker       ${w.runtime}; CPU ` +
      `${w.cpuSeconds.toFixed(1)} s (${((w.cpuSeconds / w.seconds) * 100).toFixed(0)}% of a core), ` +
      `event loop busy ${(w.loopBusy * 100).toFixed(0)}%`,
  );
  console.log(`ledger       ${describeLedgerCalls(w.ledgerCalls, r.received, messages)}`);
  const psi = (p: number | undefined) => (p === undefined ? '?' : `${p.toFixed(0)}%`);
  console.log(
    `machine      ${cpus().length} CPUs; load average ${r.load[0].toFixed(1)} -> ` +
      `${r.load[1].toFixed(1)}; CPU pressure (PSI some avg10) ${psi(r.pressure[0])} -> ` +
      `${psi(r.pressure[1])}; ` +
      (r.inProcess
        ? 'the worker and the upstreams share this process (CPU above counts both)'
        : `the fixture upstreams used ${r.upstreamCpu.toFixed(1)} s of CPU`),
  );
  console.log(`             ${describeOtherCpu(r.other)} while the worker ran`);
  const slot = (c: { mean: number; requests: number }) => (c.mean * w.seconds * 1000) / c.requests;
  const ms = ([p50, p99]: [number, number]) => `${p50.toFixed(1)}/${p99.toFixed(1)} ms`;
  console.log(
    `per request  a ${busiest} request held its slot ${slot(w.client[busiest]).toFixed(1)} ms on ` +
      `average (the latency is ${LATENCY_MS} ms); timer lateness p50/p99: worker ` +
      `${ms(w.loopDelay)}, upstreams ${ms(r.upstreamDelay)}`,
  );
  console.log(
    `prefetch     ${r.prefetch}: ${busiest}'s ${CONCURRENCY} slots were taken ` +
      `${(busy * 100).toFixed(0)}% of the run (at most ${w.peakUnsettled} messages unsettled), so ` +
      `the prefetch ${prefetchOk ? 'is not' : 'IS'} what limits (goal >= ${GOAL_BUSY * 100}%): ` +
      verdict(prefetchOk),
  );
  console.log(
    `ceiling      ${busiest} ${hosts[busiest].requests} x ${LATENCY_MS} ms / ${CONCURRENCY} = ` +
      `${ceiling.toFixed(2)} s; reached ${(share * 100).toFixed(1)}% ` +
      `(goal >= ${GOAL_SHARE * 100}%): ${verdict(share >= GOAL_SHARE)}`,
  );
  console.log(
    `baseline     one request at a time: ${total} x ${LATENCY_MS} ms = ${baseline.toFixed(1)} s; ` +
      `speed-up ${speedup.toFixed(1)}x (goal > ${GOAL_SPEEDUP}x): ${verdict(speedup > GOAL_SPEEDUP)}`,
  );
  console.log(
    `RSS          ${mb(w.startRss)} MB set up; at 25/50/75/100%: ` +
      `${w.rssAt.map(mb).join(' / ')} MB; peak of each quarter ` +
      `${w.quarterPeaks.map(mb).join(' / ')} MB`,
  );
  console.log(
    heap.length === 4
      ? `             live heap after a full GC at 25/50/75/100%: ${heap.map(mb).join(' / ')} MB`
      : '             (live heap not measured: gc is not exposed in this process)',
  );
  console.log(
    `             peak ${mb(w.peakRss)} MB (goal < ${GOAL_RSS / MB} MB) and flat (` +
      (heap.length === 4
        ? `live heap ${signed(heap[3]! - heap[0]!)} MB from 25% to 100%, at most +${FLAT_HEAP / MB}`
        : `no quarter peaking ${((FLAT_RSS - 1) * 100).toFixed(0)}% above the first`) +
      `): ${verdict(rssOk)}`,
  );
  return {
    seconds: w.seconds,
    rate: r.received / w.seconds,
    share,
    speedup,
    ok: correct && share >= GOAL_SHARE && speedup > GOAL_SPEEDUP && rssOk && prefetchOk,
  };
};

const USAGE =
  'tsx test/bench/worker.ts [--store none|sqlite|postgres] [--runs N] [--in-process] [--tsx] ' +
  '[--cpu-prof DIR] [messages] [prefetch ...]';

const parseArgs = (argv: string[]) => {
  const { store, runs, rest: args } = parseBenchOptions(argv, USAGE);
  const flags = new Set(args.filter((a) => a.startsWith('--')));
  const profAt = args.indexOf('--cpu-prof');
  const cpuProfDir = profAt >= 0 ? args[profAt + 1] : undefined;
  const numbers = args
    .filter((a, i) => !a.startsWith('--') && !(profAt >= 0 && i === profAt + 1))
    .map(Number);
  const [messages = 1000, ...rest] = numbers;
  const prefetches = rest.length > 0 ? rest : [32, 256];
  const known = ['--in-process', '--tsx', '--cpu-prof'];
  if (
    ![messages, ...prefetches].every((n) => Number.isInteger(n) && n >= 1) ||
    [...flags].some((f) => !known.includes(f)) ||
    (profAt >= 0 && cpuProfDir === undefined)
  ) {
    throw new Error(`usage: ${USAGE}`);
  }
  return {
    messages,
    prefetches,
    store,
    runs,
    inProcess: flags.has('--in-process'),
    tsx: flags.has('--tsx'),
    cpuProfDir,
  };
};

const main = async (argv: string[]): Promise<number> => {
  const options = parseArgs(argv);
  const { messages, prefetches, store, runs } = options;
  configureLog({ level: 'warn' });
  const dir = mkdtempSync(join(tmpdir(), 'worker-bench-'));
  const user = await createPulseUser();
  const admin = await Admin.connect();
  try {
    const script =
      options.inProcess || options.tsx
        ? undefined
        : await transpileForNode(join(dir, 'js'), SELF, [
            'src',
            'streams',
            join('test', 'support'),
            join('test', 'bench'),
          ]);
    const start = options.inProcess
      ? startWorkerInProcess
      : (spec: WorkerSpec) => startWorkerProcess(spec, script, options.cpuProfDir);
    console.log(
      `${messages} messages x ${CHANGESETS_PER_PUSH} changesets, ${LATENCY_MS} ms added to every ` +
        `upstream answer, HTTP_CONCURRENCY=${CONCURRENCY}; store ${store}; ${runs} run(s) per ` +
        `prefetch; the worker runs ` +
        `${options.inProcess ? 'in this process' : 'in a process of its own per run'}`,
    );
    const figures = new Map<number, Figures[]>();
    for (const prefetch of prefetches) {
      const inProcess = options.inProcess;
      const runsOf = figures.set(prefetch, []).get(prefetch)!;
      for (let i = 1; i <= runs; i += 1) {
        const title =
          `prefetch ${prefetch}, store ${store}` + (runs > 1 ? ` (run ${i} of ${runs})` : '');
        const result = await run({ user, admin, messages, prefetch, store, inProcess, start });
        runsOf.push(report(result, title));
      }
    }
    console.log(`\n== summary, store ${store}`);
    for (const [prefetch, runsOf] of figures) {
      const shares = runsOf.map((f) => f.share * 100);
      const speedups = runsOf.map((f) => f.speedup);
      console.log(
        `prefetch ${String(prefetch).padEnd(4)} ${describeRuns(
          runsOf.map((f) => f.rate),
          'changesets/s',
        )}; ` +
          `median ${median(shares).toFixed(1)}% of the ceiling, ${median(speedups).toFixed(1)}x`,
      );
    }
    const ok = [...figures.values()].flat().every((f) => f.ok);
    console.log(`\ngoals        ${ok ? 'all met' : 'NOT all met'}`);
    return ok ? 0 : 1;
  } finally {
    await admin.close();
    await user.remove();
    rmSync(dir, { recursive: true, force: true });
  }
};

const argv = process.argv.slice(2);
if (argv[0] === '--worker') {
  await workerMode(argv[1]!);
} else {
  process.exitCode = await main(argv);
}
