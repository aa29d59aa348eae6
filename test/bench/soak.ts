/**
 * Soak benchmark of the always-on worker: the real Worker (soakWorker.ts, a process of its
 * own on plain node with --expose-gc, with the telemetry sink and a SQLite store in a temporary
 * file) consumes a steady stream of hgpush messages from the local RabbitMQ for a while,
 * against the fixture servers (10 ms added to every answer), with a mix of:
 *
 *   - normal pushes of 1 to 5 changesets, `--rate` messages a second (default 10);
 *   - 5% transient failures: a 503 on a random 5% of all requests (hg, Bugzilla, telemetry),
 *     which the clients retry;
 *   - every 30 s, a push whose first patch (raw-rev) is trickled, one byte every 15 ms (about
 *     10 s), within a stream deadline set to 30 s;
 *   - every 20 s, a push with a large changeset: a generated patch of about 4 MB, and its
 *     json-rev with the `files` and `diff` of that patch (about 7 MB);
 *   - every 10 s, an undecodable message (not JSON, no envelope, a push id that is not a
 *     number, in turn), which must be parked.
 *
 *   npm run bench:soak -- [--minutes N] [--rate R] [--prefetch N]   (defaults: 10, 10, 32)
 *
 * Every minute it prints what was published, acked and parked, the pings the telemetry
 * stand-in received, the throughput of that minute, and the worker's RSS and heap. Then it
 * lets the messages in flight finish (at most 3 minutes), stops the worker, and checks:
 *
 *   - every changeset of every push published reached the telemetry stand-in, with the review
 *     system and diffstat it was built to have (a large changeset: its generator's totals);
 *   - every undecodable message is in the failed queue, and nothing else is;
 *   - memory: the worker's heap in use right after a full collection (gc(), so that the
 *     collector's sawtooth is not read as growth) grows by at most 10% from the end of
 *     minute 2 to the end of the last minute, both taken under the same load. RSS is printed
 *     beside it, and its growth too, but it does not decide: it moves with when the collector
 *     last ran and with large answers in flight at the moment of the sample;
 *   - nothing is left on the broker: its queues, exchanges and user are removed.
 *
 * Exit status 0 when all of that holds, else 1. Every loop is bounded by the clock.
 */
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import amqplib from 'amqplib';
import { configureLog } from '../../src/log.js';
import { pulseNames } from '../../streams/pulse/connection/names.js';
import { Admin, BROKER, createPulseUser, type PulseUser } from '../support/broker.js';
import { startFixtures, type Fixtures } from '../support/standIns/fixtureServer.js';
import { changegroupMessage } from '../support/data/messages.js';
import { generatePatch, sameTotals, showTotals, type Totals } from './support/patch.js';
import { transpileForNode } from './support/plainNode.js';
import {
  rawRevRequest,
  SOAK_REPO,
  soakFixtures,
  SometimesMatch,
  MAX_CHANGESETS_PER_PUSH,
  type Expected,
  type SoakData,
} from './support/soakFixtures.js';
import type {
  FromSoakWorker,
  SoakSample,
  SoakStatus,
  SoakWorkerSpec,
  ToSoakWorker,
} from './support/soakWorker.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WORKER_SCRIPT = relative(
  ROOT,
  join(dirname(fileURLToPath(import.meta.url)), 'support', 'soakWorker.ts'),
);
const ADMIN_URL = `amqp://guest:guest@${BROKER.host}:${BROKER.port}`;

const LATENCY_MS = 10;
const TRANSIENT_SHARE = 0.05;
const UNDECODABLE_EVERY_S = 10;
const LARGE_EVERY_S = 20;
const SLOW_EVERY_S = 30;
const LARGE_PATCH_BYTES = 4_000_000;
const TRICKLE_MS = 15;
const STREAM_DEADLINE_SECONDS = 30;
const GROWTH_LIMIT = 0.1;
/** The minute whose sample memory growth is measured from. */
const BASE_MINUTE = 2;
const READY_TIMEOUT_MS = 60_000;
const SAMPLE_TIMEOUT_MS = 15_000;
const DRAIN_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 60_000;
const MAX_MESSAGES = 200_000;
const MB = 1e6;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mb = (bytes: number) => (bytes / MB).toFixed(1);
const pct = (ratio: number) => `${ratio >= 0 ? '+' : ''}${(ratio * 100).toFixed(1)}%`;
const verdict = (ok: boolean) => (ok ? 'ok' : 'FAILED');

// ---------------------------------------------------------------------------------------
// Options

interface Options {
  readonly minutes: number;
  readonly rate: number;
  readonly prefetch: number;
}

const USAGE =
  'usage: npm run bench:soak -- [--minutes N (1-1440, default 10)] [--rate MESSAGES_PER_SECOND (0.5-100, default 10)] [--prefetch N (1-1000, default 32)]';

const parseArgs = (argv: string[]): Options => {
  const values: Record<string, number> = { minutes: 10, rate: 10, prefetch: 32 };
  const limits: Record<string, [number, number, boolean]> = {
    minutes: [1, 1440, true],
    rate: [0.5, 100, false],
    prefetch: [1, 1000, true],
  };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    const [flag, inline] = arg.split('=', 2) as [string, string | undefined];
    const name = flag.replace(/^--/, '');
    const limit = limits[name];
    if (!flag.startsWith('--') || limit === undefined) throw new Error(USAGE);
    const text = inline ?? argv[(i += 1)];
    const value = Number(text);
    const [min, max, integer] = limit;
    if (text === undefined || !Number.isFinite(value) || value < min || value > max) {
      throw new Error(`--${name} must be a number from ${min} to ${max}\n${USAGE}`);
    }
    if (integer && !Number.isInteger(value)) throw new Error(`--${name} must be an integer`);
    values[name] = value;
  }
  const options = { minutes: values.minutes!, rate: values.rate!, prefetch: values.prefetch! };
  // The synthetic data is made up front for every push the run may publish.
  if (options.minutes * 60 * options.rate > MAX_MESSAGES) {
    throw new Error(`--minutes x 60 x --rate must stay under ${MAX_MESSAGES} messages\n${USAGE}`);
  }
  return options;
};

// ---------------------------------------------------------------------------------------
// The broker: a per-run exchange of our own, so that no other consumer sees our messages

const withAdminChannel = async <T>(use: (channel: amqplib.Channel) => Promise<T>): Promise<T> => {
  const connection = await amqplib.connect(ADMIN_URL);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    return await use(channel);
  } finally {
    await connection.close().catch(() => undefined);
  }
};

const declareExchange = (name: string) =>
  withAdminChannel((channel) =>
    channel.assertExchange(name, 'topic', { durable: false, autoDelete: false }),
  );

const deleteExchange = (name: string) =>
  withAdminChannel((channel) => channel.deleteExchange(name)).catch(() => undefined);

const exchangeExists = (name: string) =>
  withAdminChannel(async (channel) => {
    try {
      await channel.checkExchange(name);
      return true;
    } catch {
      return false;
    }
  });

const userExists = async (username: string): Promise<boolean> => {
  const { stdout } = await promisify(execFile)('rabbitmqctl', ['-q', 'list_users']);
  return stdout.split('\n').some((line) => line.split('\t')[0] === username);
};

// ---------------------------------------------------------------------------------------
// The worker process

class WorkerProcess {
  latest: SoakStatus | undefined;
  failure: string | undefined;
  exitedWith: string | undefined;
  /** The most RSS reported since the last `takePeak()`. */
  private peakRss = 0;
  private readonly waiting = new Set<{
    type: FromSoakWorker['type'];
    resolve: (message: FromSoakWorker) => void;
    reject: (error: Error) => void;
  }>();

  constructor(readonly child: ChildProcess) {
    child.on('message', (message: FromSoakWorker) => {
      if (message.type === 'status') {
        this.latest = message.status;
        this.peakRss = Math.max(this.peakRss, message.status.rss);
      } else if (message.type === 'sample' || message.type === 'stopped') {
        this.peakRss = Math.max(this.peakRss, message.sample.rss);
      } else if (message.type === 'failed') {
        this.failure = message.error;
      }
      for (const waiter of [...this.waiting]) {
        if (waiter.type === message.type) {
          this.waiting.delete(waiter);
          waiter.resolve(message);
        } else if (message.type === 'failed') {
          this.waiting.delete(waiter);
          waiter.reject(new Error(`the worker failed: ${message.error}`));
        }
      }
    });
    child.once('exit', (code, signal) => {
      this.exitedWith = String(code ?? signal);
      for (const waiter of this.waiting) {
        waiter.reject(new Error(`the worker process exited (${this.exitedWith})`));
      }
      this.waiting.clear();
    });
  }

  get alive(): boolean {
    return this.exitedWith === undefined;
  }

  send(message: ToSoakWorker): void {
    if (this.alive && this.child.connected) this.child.send(message);
  }

  /** The next message of this type, within `timeoutMs`. */
  next<T extends FromSoakWorker['type']>(
    type: T,
    timeoutMs: number,
  ): Promise<Extract<FromSoakWorker, { type: T }>> {
    if (!this.alive) {
      return Promise.reject(new Error(`the worker process exited (${this.exitedWith})`));
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        type,
        resolve: (message: FromSoakWorker) => {
          clearTimeout(timer);
          resolve(message as Extract<FromSoakWorker, { type: T }>);
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.waiting.delete(waiter);
        reject(new Error(`no '${type}' from the worker within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.waiting.add(waiter);
    });
  }

  async sample(): Promise<SoakSample> {
    const reply = this.next('sample', SAMPLE_TIMEOUT_MS);
    this.send({ type: 'sample' });
    return (await reply).sample;
  }

  takePeak(): number {
    const peak = this.peakRss;
    this.peakRss = this.latest?.rss ?? 0;
    return peak;
  }

  /** Ends it if it is still there, and waits (bounded) for it to go. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    const gone = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await Promise.race([gone, sleep(5_000)]);
  }
}

const startWorkerProcess = async (dir: string, spec: SoakWorkerSpec): Promise<WorkerProcess> => {
  // Plain node, as the service runs from dist/: under tsx a loader thread adds to every RSS.
  const script = await transpileForNode(join(dir, 'js'), WORKER_SCRIPT, [
    'src',
    'streams',
    join('test', 'bench'),
  ]);
  const child = fork(script ?? join(ROOT, WORKER_SCRIPT), [], {
    execArgv: [...(script === undefined ? ['--import', 'tsx'] : []), '--expose-gc'],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const worker = new WorkerProcess(child);
  const ready = worker.next('ready', READY_TIMEOUT_MS);
  worker.send({ type: 'spec', spec });
  await ready;
  return worker;
};

// ---------------------------------------------------------------------------------------
// The traffic, and what the telemetry stand-in received

interface Published {
  messages: number;
  pushes: number;
  changesets: number;
  undecodable: number;
  large: number;
  slow: number;
}

/** Undecodable bodies, in turn: not JSON, no hgpush envelope, a push id that is not a number. */
const undecodableBody = (serial: number, repoUrl: string): string => {
  const tag = `soak-undecodable-${serial}`;
  switch (serial % 3) {
    case 0:
      return `{"payload": {"type": "changegroup.1", "data": "${tag}"`;
    case 1:
      return JSON.stringify({ soak: tag, payload: `not an envelope` });
    default: {
      const message = JSON.parse(changegroupMessage(repoUrl, 1)) as {
        payload: { data: { pushlog_pushes: { pushid: unknown }[] } };
      };
      message.payload.data.pushlog_pushes[0]!.pushid = tag;
      return JSON.stringify(message);
    }
  }
};

/** The pings the telemetry stand-in received, checked against what was published. */
class Received {
  readonly got = new Set<string>();
  duplicates = 0;
  unexpected = 0;
  readonly wrong: string[] = [];
  requests = 0;

  constructor(
    private readonly fx: Fixtures,
    private readonly expected: Map<string, Expected>,
  ) {}

  /** Takes the pings received since the last call out of the fixture server, and its request log. */
  ingest(): void {
    for (const [path, body] of this.fx.tmo.received) {
      this.fx.tmo.received.delete(path);
      const ping = body as { changesetID?: string; reviewSystemUsed?: string; diffstat?: unknown };
      const node = ping.changesetID ?? '';
      const want = this.expected.get(node);
      if (want === undefined) {
        this.unexpected += 1;
      } else if (this.got.has(node)) {
        this.duplicates += 1;
      } else {
        this.got.add(node);
        const diffstat = (ping.diffstat ?? null) as Totals | null;
        const diffstatOk =
          want.diffstat === null
            ? diffstat === null
            : sameTotals(diffstat ?? undefined, want.diffstat);
        if (ping.reviewSystemUsed !== want.kind || !diffstatOk) {
          this.wrong.push(
            `${node.slice(0, 12)} (push ${want.pushId}${want.large ? ', large' : ''}${want.slow ? ', slow' : ''}): ` +
              `${ping.reviewSystemUsed} ${JSON.stringify(diffstat)}, expected ${want.kind} ${JSON.stringify(want.diffstat)}`,
          );
        }
      }
    }
    // The fixture servers log every request line; only their number is of use here.
    for (const upstream of [this.fx.hg, this.fx.bmo, this.fx.tmo]) {
      this.requests += upstream.requests.length;
      upstream.requests.length = 0;
    }
  }

  get missing(): number {
    return this.expected.size - this.got.size;
  }
}

// ---------------------------------------------------------------------------------------
// The run

interface Minute {
  readonly minute: number;
  readonly seconds: number;
  readonly published: Published;
  readonly pings: number;
  readonly sample: SoakSample;
  readonly peakRss: number;
  readonly transient: number;
}

const header = () =>
  console.log(
    [
      'min',
      'published',
      'undecod.',
      'acked',
      'parked',
      'requeued',
      'pings',
      '503s',
      'pings/s',
      'acks/s',
      'RSS MB',
      'peak RSS',
      'heap MB',
      'heap after GC',
    ]
      .map((h, i) => (i === 0 ? h.padStart(3) : h.padStart(i >= 12 ? 13 : 9)))
      .join(' '),
  );

const row = (m: Minute, previous: Minute | undefined) => {
  const elapsed = m.seconds - (previous?.seconds ?? 0);
  const c = m.sample.counts;
  const pingsPerS = (m.pings - (previous?.pings ?? 0)) / elapsed;
  const acksPerS = (c.acked - (previous?.sample.counts.acked ?? 0)) / elapsed;
  const cells = [
    m.published.messages,
    m.published.undecodable,
    c.acked,
    c.parkedUnread + c.parkedFailed,
    c.requeued,
    m.pings,
    m.transient,
    pingsPerS.toFixed(1),
    acksPerS.toFixed(1),
    mb(m.sample.rss),
    mb(m.peakRss),
  ].map((v) => String(v).padStart(9));
  const heap = [mb(m.sample.heapUsed), mb(m.sample.liveHeap)].map((v) => v.padStart(13));
  console.log([String(m.minute).padStart(3), ...cells, ...heap].join(' '));
};

interface RunState {
  user?: PulseUser;
  admin?: Admin;
  fx?: Fixtures;
  worker?: WorkerProcess;
  exchange?: string;
  names?: ReturnType<typeof pulseNames>;
  dir?: string;
}

let interrupted = false;

const soak = async (options: Options, state: RunState): Promise<boolean> => {
  const { minutes, rate, prefetch } = options;
  const dir = mkdtempSync(join(tmpdir(), 'soak-bench-'));
  state.dir = dir;

  const largePath = join(dir, 'large.patch');
  const large = generatePatch(largePath, LARGE_PATCH_BYTES);
  const maxMessages = Math.ceil(minutes * 60 * rate) + 1;
  const data: SoakData = soakFixtures({
    maxPushes: maxMessages,
    largePatch: { path: largePath, totals: large },
  });

  const run = randomBytes(4).toString('hex');
  const user = await createPulseUser();
  state.user = user;
  const admin = await Admin.connect();
  state.admin = admin;
  const exchange = `exchange/ctssoak-${run}/hgpushes`;
  state.exchange = exchange;
  await declareExchange(exchange);
  const queueName = `soak-${run}`;
  const names = pulseNames(user.username, queueName);
  state.names = names;

  const fx = await startFixtures({ data, latencyMs: LATENCY_MS });
  state.fx = fx;
  const transient = new SometimesMatch(/^/, TRANSIENT_SHARE);
  fx.fail({ match: transient, status: 503 });

  const spec: SoakWorkerSpec = {
    env: {
      ...user.env(queueName, SOAK_REPO),
      PULSE_EXCHANGE: exchange,
      ...fx.env,
      STREAM_DEADLINE_SECONDS: String(STREAM_DEADLINE_SECONDS),
    },
    prefetch,
    databasePath: join(dir, 'store.sqlite'),
  };
  const worker = await startWorkerProcess(dir, spec);
  state.worker = worker;

  console.log(
    `soak: ${minutes} min at ${rate} messages/s (pushes of 1-${MAX_CHANGESETS_PER_PUSH} changesets), ` +
      `prefetch ${prefetch}, ${LATENCY_MS} ms added to every upstream answer; ` +
      `${TRANSIENT_SHARE * 100}% of all requests answered 503; every ${UNDECODABLE_EVERY_S} s an ` +
      `undecodable message, every ${LARGE_EVERY_S} s a large changeset (patch ${mb(large.bytes)} MB, ` +
      `${showTotals(large)}), every ${SLOW_EVERY_S} s a patch trickled a byte every ${TRICKLE_MS} ms ` +
      `(stream deadline ${STREAM_DEADLINE_SECONDS} s)`,
  );
  console.log(
    `worker: the real Worker in its own process (plain node --expose-gc), telemetry sink, ` +
      `SQLite store in a temporary file; queue ${names.queue} bound to ${exchange}; ` +
      `${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(1)}`,
  );
  header();

  const expected = new Map<string, Expected>();
  const received = new Received(fx, expected);
  const undecodables = new Set<string>();
  const published: Published = {
    messages: 0,
    pushes: 0,
    changesets: 0,
    undecodable: 0,
    large: 0,
    slow: 0,
  };
  const repoUrl = fx.repo(SOAK_REPO);
  const ingestTimer = setInterval(() => received.ingest(), 1000);
  const minuteRows: Minute[] = [];
  try {
    const start = Date.now();
    const end = start + minutes * 60_000;
    let nextUndecodable = 5;
    let nextLarge = 10;
    let nextSlow = 15;
    let nextMinute = 1;
    let pushId = 0;
    for (let slot = 0; slot < maxMessages && !interrupted; slot += 1) {
      const due = start + (slot * 1000) / rate;
      // Samples fall due between slots; the last one ends the traffic.
      while (nextMinute <= minutes && Date.now() >= start + nextMinute * 60_000) {
        received.ingest();
        const sample = await worker.sample();
        const minute: Minute = {
          minute: nextMinute,
          seconds: (Date.now() - start) / 1000,
          published: { ...published },
          pings: received.got.size,
          sample,
          peakRss: Math.max(worker.takePeak(), sample.rss),
          transient: transient.hits,
        };
        row(minute, minuteRows.at(-1));
        minuteRows.push(minute);
        nextMinute += 1;
      }
      if (due >= end || Date.now() >= end) break;
      if (worker.failure !== undefined || !worker.alive) {
        throw new Error(`the worker stopped: ${worker.failure ?? worker.exitedWith}`);
      }
      await sleep(Math.max(0, due - Date.now()));
      const at = (due - start) / 1000;
      if (at >= nextUndecodable) {
        nextUndecodable += UNDECODABLE_EVERY_S;
        const body = undecodableBody(published.undecodable, repoUrl);
        undecodables.add(body);
        await admin.publish(SOAK_REPO, body, exchange);
        published.undecodable += 1;
      } else {
        pushId += 1;
        const isLarge = at >= nextLarge;
        const isSlow = !isLarge && at >= nextSlow;
        if (isLarge) nextLarge += LARGE_EVERY_S;
        if (isSlow) nextSlow += SLOW_EVERY_S;
        const nodes = data.addPush(pushId, { large: isLarge, slow: isSlow });
        for (const [node, want] of nodes) {
          expected.set(node, want);
          if (want.slow) fx.fail({ match: rawRevRequest(node), trickleMs: TRICKLE_MS, times: 1 });
        }
        await admin.publish(SOAK_REPO, changegroupMessage(repoUrl, pushId), exchange);
        published.pushes += 1;
        published.changesets += nodes.size;
        if (isLarge) published.large += 1;
        if (isSlow) published.slow += 1;
      }
      published.messages += 1;
    }
    // The last minute's sample was taken as the traffic ended (the loop takes it first).
    while (nextMinute <= minutes && !interrupted) {
      await sleep(Math.max(0, start + nextMinute * 60_000 - Date.now()));
      received.ingest();
      const sample = await worker.sample();
      const minute: Minute = {
        minute: nextMinute,
        seconds: (Date.now() - start) / 1000,
        published: { ...published },
        pings: received.got.size,
        sample,
        peakRss: Math.max(worker.takePeak(), sample.rss),
        transient: transient.hits,
      };
      row(minute, minuteRows.at(-1));
      minuteRows.push(minute);
      nextMinute += 1;
    }

    // Let what is in flight finish: every ping in, every undecodable parked, nothing left.
    const drainStart = Date.now();
    let drained = false;
    while (!interrupted && Date.now() - drainStart < DRAIN_TIMEOUT_MS) {
      received.ingest();
      const status = worker.latest;
      const depth = await admin.depth(names.queue);
      if (
        received.missing === 0 &&
        status !== undefined &&
        status.counts.parkedUnread >= published.undecodable &&
        status.inFlight === 0 &&
        depth === 0
      ) {
        drained = true;
        break;
      }
      if (!worker.alive) break;
      await sleep(500);
    }
    const drainSeconds = (Date.now() - drainStart) / 1000;

    const stopped = worker.next('stopped', STOP_TIMEOUT_MS);
    worker.send({ type: 'stop' });
    const final = await stopped;
    received.ingest();
    const parked = await admin.drain(names.failedQueue);
    const parkedBodies = parked.map((message) => message.content.toString('utf8'));
    const parkedOurs = parkedBodies.filter((body) => undecodables.has(body));
    const parkedOthers = parkedBodies.length - parkedOurs.length;
    return report({
      options,
      published,
      received,
      minutes: minuteRows,
      final,
      drained,
      drainSeconds,
      undecodableParked: new Set(parkedOurs).size,
      parkedOthers,
      transient,
      data,
    });
  } finally {
    clearInterval(ingestTimer);
  }
};

const report = (r: {
  options: Options;
  published: Published;
  received: Received;
  minutes: Minute[];
  final: Extract<FromSoakWorker, { type: 'stopped' }>;
  drained: boolean;
  drainSeconds: number;
  undecodableParked: number;
  parkedOthers: number;
  transient: SometimesMatch;
  data: SoakData;
}): boolean => {
  const { published: p, received, final } = r;
  const c = final.sample.counts;
  const totalSeconds = r.minutes.at(-1)?.seconds ?? 0;
  console.log(
    `\nafter the traffic: drained in ${r.drainSeconds.toFixed(1)} s${r.drained ? '' : ' (NOT drained within the bound)'}; ` +
      `worker stopped: RSS ${mb(final.sample.rss)} MB, heap ${mb(final.sample.heapUsed)} MB, ` +
      `${mb(final.sample.liveHeap)} MB after GC; peak RSS of the process ${mb(final.sample.maxRss)} MB`,
  );
  console.log(
    `published    ${p.messages} messages: ${p.pushes} pushes (${p.changesets} changesets; ` +
      `${p.large} with a large changeset, ${p.slow} with a trickled patch) and ${p.undecodable} undecodable`,
  );
  console.log(
    `worker       ${c.received} deliveries; ${c.acked} acked, ${c.requeued} requeued, ${c.deferred} deferred, ` +
      `${c.parkedUnread} parked unread (undecodable), ${c.parkedFailed} parked after failing; ` +
      `${c.pingsSent} pings sent, ${c.changesetsFailed} changeset failures; ledger: ${final.ledger} ` +
      `changesets recorded, watermark push ${final.watermark ?? 'none'}`,
  );
  const rate = received.got.size / Math.max(totalSeconds, 1);
  console.log(
    `throughput   ${received.got.size} pings in ${totalSeconds.toFixed(0)} s of traffic: ` +
      `${rate.toFixed(1)} pings/s, ${(c.acked / Math.max(totalSeconds, 1)).toFixed(1)} acks/s`,
  );
  console.log(
    `transient    ${r.transient.hits} of ${r.transient.seen} requests answered 503 ` +
      `(${((r.transient.hits / Math.max(r.transient.seen, 1)) * 100).toFixed(1)}%), retried by the clients`,
  );
  const slow = r.data.slowPatchMs;
  const slowOk = r.data.slowPatches.finished >= p.slow;
  console.log(
    `slow         ${r.data.slowPatches.finished} of ${r.data.slowPatches.started} trickled-patch reads ` +
      `ran to the end, in ${slow.length === 0 ? '-' : `${(Math.min(...slow) / 1000).toFixed(1)}-${(Math.max(...slow) / 1000).toFixed(1)} s`} ` +
      `(stream deadline ${STREAM_DEADLINE_SECONDS} s): ${verdict(slowOk)}`,
  );
  const pingsOk =
    received.missing === 0 && received.wrong.length === 0 && received.unexpected === 0;
  console.log(
    `pings        expected ${received.got.size + received.missing}, received ${received.got.size}, ` +
      `missing ${received.missing}, wrong ${received.wrong.length}, unexpected ${received.unexpected}, ` +
      `sent twice ${received.duplicates}: ${verdict(pingsOk)}`,
  );
  for (const line of received.wrong.slice(0, 10)) console.log(`             wrong: ${line}`);
  const parkedOk = r.undecodableParked === p.undecodable && r.parkedOthers === 0;
  console.log(
    `failed queue ${r.undecodableParked} of ${p.undecodable} undecodable messages there, ` +
      `${r.parkedOthers} other messages: ${verdict(parkedOk)}`,
  );

  const base = r.minutes.find((m) => m.minute === BASE_MINUTE);
  const last = r.minutes.at(-1);
  let memoryOk = true;
  if (base === undefined || last === undefined || last.minute <= BASE_MINUTE) {
    console.log(
      `memory       not judged: growth is measured from minute ${BASE_MINUTE} to the last, ` +
        `and this run has ${r.minutes.length} minute(s)`,
    );
  } else {
    const heapGrowth = (last.sample.liveHeap - base.sample.liveHeap) / base.sample.liveHeap;
    const rssGrowth = (last.sample.rss - base.sample.rss) / base.sample.rss;
    const rssAfterGcGrowth =
      (last.sample.rssAfterGc - base.sample.rssAfterGc) / base.sample.rssAfterGc;
    memoryOk = heapGrowth <= GROWTH_LIMIT;
    console.log(
      `memory       heap after a full GC, minute ${BASE_MINUTE} -> ${last.minute}: ` +
        `${mb(base.sample.liveHeap)} -> ${mb(last.sample.liveHeap)} MB (${pct(heapGrowth)}; ` +
        `limit +${GROWTH_LIMIT * 100}%): ${verdict(memoryOk)}`,
    );
    console.log(
      `             RSS (not judged) minute ${BASE_MINUTE} -> ${last.minute}: ${mb(base.sample.rss)} -> ` +
        `${mb(last.sample.rss)} MB (${pct(rssGrowth)}); right after the GC ${mb(base.sample.rssAfterGc)} -> ` +
        `${mb(last.sample.rssAfterGc)} MB (${pct(rssAfterGcGrowth)})`,
    );
  }
  const ok = r.drained && pingsOk && parkedOk && slowOk && memoryOk && c.parkedFailed === 0;
  return ok;
};

/** Removes everything the run made; answers what could not be removed. */
const cleanUp = async (state: RunState): Promise<string[]> => {
  const left: string[] = [];
  await state.worker?.kill();
  await state.fx?.close().catch(() => undefined);
  const { names } = state;
  if (state.admin !== undefined && names !== undefined) {
    // Everything the worker declared: its queue, the failed queue, the delay queues, and
    // the failed, delay and retry exchanges.
    await state.admin.removeWorkerObjects(names);
    const queues = [names.queue, names.failedQueue, ...names.retrySteps.map((s) => s.queue)];
    for (const queue of queues) {
      if (await state.admin.queueExists(queue)) left.push(queue);
    }
  }
  if (names !== undefined) {
    const exchanges = [names.failedExchange, names.delayExchange, names.retryExchange];
    for (const exchange of exchanges) {
      // removeWorkerObjects removes them; once more in case the admin never connected.
      await deleteExchange(exchange);
      if (await exchangeExists(exchange)) left.push(exchange);
    }
  }
  if (state.exchange !== undefined) {
    await deleteExchange(state.exchange);
    if (await exchangeExists(state.exchange)) left.push(state.exchange);
  }
  await state.admin?.close().catch(() => undefined);
  if (state.user !== undefined) {
    await state.user.remove();
    if (await userExists(state.user.username)) left.push(`user ${state.user.username}`);
  }
  if (state.dir !== undefined) rmSync(state.dir, { recursive: true, force: true });
  return left;
};

const main = async (): Promise<number> => {
  let options: Options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
  }
  configureLog({ level: 'error' });
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    console.log('\ninterrupted: stopping the traffic, then cleaning up');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const state: RunState = {};
  let ok = false;
  try {
    ok = await soak(options, state);
  } catch (error) {
    console.error(
      `soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
  }
  const left = await cleanUp(state).catch((error: unknown) => [`cleanup failed: ${String(error)}`]);
  console.log(
    `cleanup      ${left.length === 0 ? 'queues, exchanges, user and temporary files removed: ok' : `LEFT: ${left.join(', ')}`}`,
  );
  ok = ok && left.length === 0 && !interrupted;
  console.log(`\nsoak         ${ok ? 'PASSED' : 'FAILED'}`);
  return ok ? 0 : 1;
};

process.exitCode = await main();
