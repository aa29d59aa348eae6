/**
 * Benchmark of the streaming diffstat counter against GNU diffstat on one large patch.
 *
 *   npx tsx test/bench/diffstat.ts [sizeMB] [runs]   (or DIFFSTAT_BENCH_MB, DIFFSTAT_BENCH_RUNS)
 *
 * Goal: the counter at least as fast as `diffstat -s` on the same generated patch (~200 MB by
 * default), with totals equal to diffstat's and to the generator's; its peak RSS is reported.
 * MB here is 10^6 bytes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DiffstatCounter } from '../../src/rules/diffstat.js';
import {
  generatePatch,
  parseDiffstatSummary,
  sameTotals,
  showTotals,
  type Totals,
} from './support/patch.js';
import { transpileForNode } from './support/plainNode.js';

interface Timing {
  totals: Totals;
  /** Wall-clock seconds of the best run. */
  seconds: number;
}

interface Measurement extends Timing {
  /** User + system CPU seconds of the best run (reads happen on libuv's thread pool). */
  cpuSeconds: number;
  /** Highest process.memoryUsage.rss() seen while counting, in bytes. */
  sampledPeakRss: number;
  /**
   * process.resourceUsage().maxRSS of the counting process, in bytes. On Linux it keeps the
   * parent's RSS across exec, so it can only overstate the child's.
   */
  maxRss: number;
  /** VmHWM, the peak RSS of the counting process's own image, in bytes (Linux only). */
  highWaterRss: number | null;
  /** RSS before the first chunk, in bytes: what node takes by itself. */
  baselineRss: number;
  /** Whether the counting process ran plain node (not tsx, whose loader costs ~35 MB). */
  plainNode: boolean;
}

/** The best run, and the highest RSS of all runs. */
type Measured = Measurement & { peakRss: number };

/**
 * stream  the counter as the service uses it, fed by createReadStream
 * reuse   the counter fed from one reused buffer: its RSS is the counter's own, without the
 *         1 MiB chunks that a stream allocates and leaves to the collector
 */
type Variant = 'stream' | 'reuse';
const VARIANTS: readonly Variant[] = ['stream', 'reuse'];

const MB = 1e6;
const CHUNK_SIZE = 1024 * 1024;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SELF = relative(ROOT, fileURLToPath(import.meta.url));

// ---------------------------------------------------------------------------------------
// Our counter, in a child process of its own so that its peak RSS is not the generator's

/**
 * Streams the file through the counter once, sampling RSS every 10 ms (between chunks: the
 * counter never blocks for long). Not at every chunk: each sample reads /proc, which would
 * cost ~10% of the time measured.
 */
const countOnce = async (path: string, variant: Variant) => {
  const baselineRss = process.memoryUsage.rss();
  let peakRss = baselineRss;
  const sample = () => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  };
  const timer = setInterval(sample, 10);
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  const counter = new DiffstatCounter();
  for await (const chunk of variant === 'reuse' ? reusedBuffer(path) : streamed(path)) {
    counter.push(chunk);
  }
  const totals = counter.result();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  clearInterval(timer);
  sample();
  return { totals, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, baselineRss, peakRss };
};

const streamed = (path: string): AsyncIterable<Buffer> =>
  createReadStream(path, { highWaterMark: CHUNK_SIZE });

/** The file through one buffer, each chunk counted before the next read overwrites it. */
async function* reusedBuffer(path: string): AsyncGenerator<Buffer> {
  const file = await open(path);
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_SIZE);
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, CHUNK_SIZE, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await file.close();
  }
}

const highWaterRss = (): number | null => {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return match === null ? null : Number(match[1]) * 1024;
  } catch {
    return null;
  }
};

/** Child mode: one run, printed as JSON on stdout. */
const countMode = async (path: string, variant: Variant): Promise<void> => {
  const run = await countOnce(path, variant);
  const measurement: Measurement = {
    totals: run.totals,
    seconds: run.seconds,
    cpuSeconds: run.cpuSeconds,
    sampledPeakRss: run.peakRss,
    maxRss: process.resourceUsage().maxRSS * 1024,
    highWaterRss: highWaterRss(),
    baselineRss: run.baselineRss,
    plainNode: process.execArgv.length === 0,
  };
  process.stdout.write(JSON.stringify(measurement));
};

/**
 * The best of `runs` runs, each in a fresh process: in one process, the chunks that earlier
 * runs left for the collector would count against a later run's RSS.
 */
const measureOurs = (script: string | undefined, path: string, runs: number, variant: Variant) => {
  const args = script !== undefined ? [script] : [...process.execArgv, join(ROOT, SELF)];
  let best: Measurement | undefined;
  let peak = 0;
  for (let i = 0; i < runs; i += 1) {
    const child = spawnSync(process.execPath, [...args, '--count', path, variant], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (child.status !== 0) throw new Error(`counting failed: ${child.status ?? child.signal}`);
    const run = JSON.parse(child.stdout) as Measurement;
    peak = Math.max(peak, run.highWaterRss ?? run.maxRss, run.sampledPeakRss);
    if (best === undefined || run.seconds < best.seconds) best = run;
  }
  return { ...best!, peakRss: peak };
};

// ---------------------------------------------------------------------------------------
// GNU diffstat

const runDiffstat = (path: string): Promise<{ seconds: number; out: string }> =>
  new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn('diffstat', ['-s', path], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (out += text));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (code !== 0) reject(new Error(`diffstat exited with ${code}`));
      else resolve({ seconds, out });
    });
  });

/** Best of `runs` runs of `diffstat -s`, or undefined when diffstat is not installed. */
const measureDiffstat = async (path: string, runs: number): Promise<Timing | undefined> => {
  if (spawnSync('diffstat', ['-V']).error !== undefined) return undefined;
  let best: Timing | undefined;
  for (let i = 0; i < runs; i += 1) {
    const run = await runDiffstat(path);
    const totals = parseDiffstatSummary(run.out);
    if (totals === undefined) throw new Error(`unexpected diffstat output: ${run.out}`);
    if (best === undefined || run.seconds < best.seconds) best = { seconds: run.seconds, totals };
  }
  return best;
};

// ---------------------------------------------------------------------------------------
// The report

const mb = (bytes: number) => (bytes / MB).toFixed(1);
const rate = (bytes: number, seconds: number) => bytes / MB / seconds;
const show = showTotals;
const same = sameTotals;
const verdict = (ok: boolean) => (ok ? 'ok' : 'MISSED');

/** Wall-clock speed decides; speed per CPU second shows what a busy machine took away. */
const reportOurs = (label: string, bytes: number, m: Measured) => {
  const speed = rate(bytes, m.seconds);
  const cpuSpeed = rate(bytes, m.cpuSeconds).toFixed(0);
  console.log(
    `${label.padEnd(10)} ${speed.toFixed(0).padStart(5)} MB/s  ${m.seconds.toFixed(3)} s wall, ` +
      `${m.cpuSeconds.toFixed(3)} s CPU (${cpuSpeed} MB/CPU-s); peak RSS ${mb(m.peakRss)} MB`,
  );
  return speed;
};

const parseArgs = (argv: string[], env: NodeJS.ProcessEnv) => {
  const sizeMb = Number(argv[0] ?? env.DIFFSTAT_BENCH_MB ?? 200);
  const runs = Number(argv[1] ?? env.DIFFSTAT_BENCH_RUNS ?? 3);
  if (!(sizeMb > 0) || !Number.isInteger(runs) || runs < 1) {
    throw new Error('usage: tsx test/bench/diffstat.ts [sizeMB > 0] [runs >= 1]');
  }
  return { sizeMb, runs };
};

const main = async (argv = process.argv.slice(2), env = process.env): Promise<void> => {
  if (argv[0] === '--count') {
    return countMode(argv[1]!, VARIANTS.find((variant) => variant === argv[2]) ?? 'stream');
  }
  const { sizeMb, runs } = parseArgs(argv, env);
  const dir = mkdtempSync(join(tmpdir(), 'diffstat-bench-'));
  const path = join(dir, 'big.patch');
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  // A stopped run must not leave a 200 MB file behind.
  process.once('SIGINT', () => {
    removeDir();
    process.exit(130);
  });
  try {
    const genStart = process.hrtime.bigint();
    const truth = generatePatch(path, sizeMb * MB);
    const genSeconds = Number(process.hrtime.bigint() - genStart) / 1e9;
    const lines = truth.additions + truth.deletions;
    console.log(
      `patch      ${mb(truth.bytes)} MB, ${show(truth)} (${lines} changed lines), ` +
        `made in ${genSeconds.toFixed(1)} s`,
    );

    const script = await transpileForNode(join(dir, 'js'), SELF, ['src', join('test', 'bench')]);
    const ours = measureOurs(script, path, runs, 'stream');
    const reuse = measureOurs(script, path, runs, 'reuse');
    console.log(`runs       best of ${runs} for each, each in a fresh node process`);
    const speed = reportOurs('ours', truth.bytes, ours);
    reportOurs('ours/reuse', truth.bytes, reuse);
    const peak = ours.peakRss;
    const alone = `${ours.plainNode ? 'node' : 'node + tsx'} alone ${mb(ours.baselineRss)} MB`;
    console.log(`peak RSS   ${mb(peak)} MB, highest of ${runs} runs (${alone}; most of the rest`);
    console.log('           is 1 MiB stream chunks awaiting GC: compare ours/reuse)');
    console.log(
      `           best run: VmHWM ${mb(ours.highWaterRss ?? NaN)}, sampled ` +
        `${mb(ours.sampledPeakRss)}, maxRSS ${mb(ours.maxRss)} MB (maxRSS keeps the parent's)`,
    );

    const gnu = await measureDiffstat(path, runs);
    const gnuSpeed = (timing: Timing) => rate(truth.bytes, timing.seconds);
    if (gnu === undefined) {
      console.log('diffstat   skipped: GNU diffstat not found (apt-get install diffstat)');
    } else {
      console.log(
        `diffstat   ${gnuSpeed(gnu).toFixed(0).padStart(5)} MB/s  ${gnu.seconds.toFixed(3)} s ` +
          `wall, best of ${runs}`,
      );
    }

    if (gnu === undefined) console.log('goal       ours / diffstat: not measured');
    else {
      const ratio = speed / gnuSpeed(gnu);
      console.log(`goal       ours / diffstat = ${ratio.toFixed(2)}x >= 1: ${verdict(ratio >= 1)}`);
    }

    const agree = (other: Totals) => (same(ours.totals, other) ? 'agree' : 'DIFFER');
    console.log(`totals     ours ${show(ours.totals)}`);
    console.log(`           vs the generator's count: ${agree(truth)}`);
    console.log(`           vs the reused buffer's: ${agree(reuse.totals)}`);
    if (gnu !== undefined) {
      console.log(`           vs diffstat -s (${show(gnu.totals)}): ${agree(gnu.totals)}`);
    }
  } finally {
    removeDir();
  }
};

await main();
