/**
 * Benchmark of the streaming diffstat counter against GNU diffstat on one large patch.
 *
 *   npx tsx test/bench/diffstat.ts [sizeMB] [runs]      (or DIFFSTAT_BENCH_MB, DIFFSTAT_BENCH_RUNS)
 *
 * Goal (the issue): at least 800 MB/s on one core, no slower than `diffstat -s`, and a peak
 * RSS under 100 MB however large the patch.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, writeSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DiffstatCounter } from '../../src/rules/diffstat.js';

interface Totals {
  changedFiles: number;
  additions: number;
  deletions: number;
}

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
  /** process.resourceUsage().maxRSS of the whole counting process, in bytes. */
  maxRss: number;
  /** RSS just before the first chunk, in bytes: what node and tsx take by themselves. */
  baselineRss: number;
}

const MiB = 1024 * 1024;
const CHUNK_SIZE = MiB;
const GOAL_MB_PER_S = 800;
const GOAL_RSS = 100 * MiB;

/** A fixed seed keeps every run on the same patch, so figures compare across commits. */
const xorshift = (seed: number) => {
  let state = seed >>> 0 || 1;
  return (bound: number): number => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state % bound;
  };
};

const WORDS = [
  'const', 'let', 'return', 'if', 'else', 'nsresult', 'rv', 'aFrame', 'mozilla', 'dom',
  'RefPtr<Element>', 'nullptr', '=', '==', '->', '(', ')', '{', '}', ';', 'NS_ENSURE_SUCCESS',
  'this', 'self', 'await', 'function', 'width', 'height', '0', '1', '"string"', 'café', '//',
]; // prettier-ignore

/**
 * Source-like lines of 0 to ~120 characters (mean about 45), a few non-ASCII; some begin
 * with `--` or `++` so that hunk lines such as `--- x` and `+++ y` are part of the load.
 */
const linePool = (random: (bound: number) => number): string[] => {
  const pool: string[] = [];
  for (let i = 0; i < 4096; i += 1) {
    const indent = ' '.repeat(2 * random(5));
    const words: string[] = [];
    const wanted = random(8) === 0 ? 0 : 1 + random(20);
    for (let w = 0; w < wanted; w += 1) words.push(WORDS[random(WORDS.length)]!);
    const lead = i % 97 === 0 ? '-- ' : i % 89 === 0 ? '++' : '';
    pool.push(lead + indent + words.join(' '));
  }
  return pool;
};

/** Writes through a 1 MiB buffer so that generating never holds the patch in memory. */
const batchedWriter = (fd: number) => {
  let parts: string[] = [];
  let size = 0;
  let written = 0;
  const flush = () => {
    written += writeSync(fd, parts.join(''));
    parts = [];
    size = 0;
  };
  return {
    write(text: string) {
      parts.push(text);
      size += text.length;
      if (size >= CHUNK_SIZE) flush();
    },
    close(): number {
      flush();
      return written;
    },
  };
};

/** One file's diff: modified with several hunks, or (one in 20) added, or deleted. */
const fileDiff = (
  index: number,
  random: (bound: number) => number,
  pool: string[],
  totals: Totals,
): string => {
  const path = `dom/module${index % 211}/File${index}.cpp`;
  const pick = () => pool[random(pool.length)]!;
  const out = [`diff --git a/${path} b/${path}\n`];
  const kind = random(20);
  if (kind <= 1) {
    const lines = 1 + random(300);
    const sign = kind === 0 ? '+' : '-';
    out.push(kind === 0 ? 'new file mode 100644\n' : 'deleted file mode 100644\n');
    out.push(kind === 0 ? `--- /dev/null\n+++ b/${path}\n` : `--- a/${path}\n+++ /dev/null\n`);
    out.push(kind === 0 ? `@@ -0,0 +1,${lines} @@\n` : `@@ -1,${lines} +0,0 @@\n`);
    for (let i = 0; i < lines; i += 1) out.push(sign, pick(), '\n');
    if (kind === 0) totals.additions += lines;
    else totals.deletions += lines;
  } else {
    out.push(`--- a/${path}\n+++ b/${path}\n`);
    let line = 1 + random(50);
    for (let hunks = 1 + random(8); hunks > 0; hunks -= 1) {
      // git apply calls a hunk with no change corrupt, and diffstat does not count it.
      const removed = random(30);
      const added = removed === 0 ? 1 + random(29) : random(30);
      const context = 3;
      const before = line + removed + 2 * context;
      out.push(`@@ -${line},${removed + 2 * context} +${line},${added + 2 * context} @@\n`);
      for (let i = 0; i < context; i += 1) out.push(' ', pick(), '\n');
      for (let i = 0; i < removed; i += 1) out.push('-', pick(), '\n');
      for (let i = 0; i < added; i += 1) out.push('+', pick(), '\n');
      for (let i = 0; i < context; i += 1) out.push(' ', pick(), '\n');
      totals.additions += added;
      totals.deletions += removed;
      line = before + random(200);
    }
  }
  totals.changedFiles += 1;
  return out.join('');
};

/** Writes an `hg export --git` patch of about `bytes` bytes; answers its true totals. */
const generatePatch = (path: string, bytes: number): Totals & { bytes: number } => {
  const random = xorshift(0x5eed);
  const pool = linePool(random);
  const totals: Totals = { changedFiles: 0, additions: 0, deletions: 0 };
  const fd = openSync(path, 'w');
  const writer = batchedWriter(fd);
  writer.write(
    '# HG changeset patch\n# User Bench <bench@example.com>\n# Date 1530120920 14400\n' +
      '# Node ID 62a578a28fe94efb7f03138bbfaa458d1c31314e\n' +
      '# Parent  3659a2ff799f0a531283d22d112b08eb23a9ced7\n' +
      'Bug 1 - Reformat the whole tree. r=bench\n\n',
  );
  // Lengths are counted in UTF-16 units; the few non-ASCII characters make the file a little
  // larger than asked, which does not matter for a throughput figure.
  let approx = 0;
  for (let index = 0; approx < bytes; index += 1) {
    const diff = fileDiff(index, random, pool, totals);
    approx += diff.length;
    writer.write(diff);
  }
  const written = writer.close();
  closeSync(fd);
  return { ...totals, bytes: written };
};

/** Streams the file through the counter once, sampling RSS at every chunk and every 5 ms. */
const countOnce = async (path: string): Promise<Measurement> => {
  const baselineRss = process.memoryUsage.rss();
  let sampledPeakRss = baselineRss;
  const sample = () => {
    sampledPeakRss = Math.max(sampledPeakRss, process.memoryUsage.rss());
  };
  const timer = setInterval(sample, 5);
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  const counter = new DiffstatCounter();
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_SIZE })) {
    counter.push(chunk as Buffer);
    sample();
  }
  const totals = counter.result();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  clearInterval(timer);
  sample();
  return {
    totals,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    sampledPeakRss,
    maxRss: process.resourceUsage().maxRSS * 1024,
    baselineRss,
  };
};

/**
 * Child mode: counting runs in a process of its own, so its peak RSS is not the generator's.
 * Prints the best of `runs` runs as JSON on stdout.
 */
const countMode = async (path: string, runs: number): Promise<void> => {
  let best: Measurement | undefined;
  let peak = 0;
  for (let i = 0; i < runs; i += 1) {
    const run = await countOnce(path);
    peak = Math.max(peak, run.sampledPeakRss);
    if (best === undefined || run.seconds < best.seconds) best = run;
  }
  process.stdout.write(JSON.stringify({ ...best, sampledPeakRss: peak }));
};

const measureOurs = (path: string, runs: number): Measurement => {
  const self = fileURLToPath(import.meta.url);
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, self, '--count', path, String(runs)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (child.status !== 0) throw new Error(`counting child failed: ${child.status ?? child.signal}`);
  return JSON.parse(child.stdout) as Measurement;
};

/** Parses ` 3 files changed, 10 insertions(+), 2 deletions(-)`; diffstat omits zero parts. */
const parseDiffstatSummary = (text: string): Totals | undefined => {
  const match = /(\d+) files? changed(?:, (\d+) insertions?\(\+\))?(?:, (\d+) deletions?\(-\))?/.exec(
    text,
  );
  if (match === null) return undefined;
  return {
    changedFiles: Number(match[1]),
    additions: Number(match[2] ?? 0),
    deletions: Number(match[3] ?? 0),
  };
};

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
    if (best === undefined || run.seconds < best.seconds) best = { ...run, totals };
  }
  return best;
};

const mb = (bytes: number) => (bytes / MiB).toFixed(1);
const show = (t: Totals) => `${t.changedFiles} files, +${t.additions} -${t.deletions}`;
const same = (a: Totals, b: Totals) =>
  a.changedFiles === b.changedFiles && a.additions === b.additions && a.deletions === b.deletions;
const verdict = (ok: boolean) => (ok ? 'ok' : 'MISSED');

const parseArgs = (argv: string[], env: NodeJS.ProcessEnv) => {
  const sizeMb = Number(argv[0] ?? env.DIFFSTAT_BENCH_MB ?? 200);
  const runs = Number(argv[1] ?? env.DIFFSTAT_BENCH_RUNS ?? 3);
  if (!(sizeMb > 0) || !Number.isInteger(runs) || runs < 1) {
    throw new Error('usage: tsx test/bench/diffstat.ts [sizeMB > 0] [runs >= 1]');
  }
  return { sizeMb, runs };
};

const main = async (argv = process.argv.slice(2), env = process.env): Promise<void> => {
  if (argv[0] === '--count') return countMode(argv[1]!, Number(argv[2] ?? 1));
  const { sizeMb, runs } = parseArgs(argv, env);
  const dir = mkdtempSync(join(tmpdir(), 'diffstat-bench-'));
  const path = join(dir, 'big.patch');
  try {
    const genStart = process.hrtime.bigint();
    const truth = generatePatch(path, sizeMb * MiB);
    const genSeconds = Number(process.hrtime.bigint() - genStart) / 1e9;
    const lines = truth.additions + truth.deletions;
    console.log(`patch      ${mb(truth.bytes)} MiB, ${show(truth)} (${lines} changed lines)`);
    console.log(`           generated in ${genSeconds.toFixed(1)} s at ${path}`);

    const ours = measureOurs(path, runs);
    const ourRate = truth.bytes / MiB / ours.seconds;
    const peak = Math.max(ours.maxRss, ours.sampledPeakRss);
    console.log(
      `ours       ${ourRate.toFixed(0)} MiB/s (best of ${runs}: ${ours.seconds.toFixed(3)} s wall, ` +
        `${ours.cpuSeconds.toFixed(3)} s CPU)  [goal >= ${GOAL_MB_PER_S}: ${verdict(ourRate >= GOAL_MB_PER_S)}]`,
    );
    console.log(
      `peak RSS   ${mb(peak)} MiB (maxRSS ${mb(ours.maxRss)}, sampled ${mb(ours.sampledPeakRss)}, ` +
        `node+tsx at start ${mb(ours.baselineRss)})  [goal < 100: ${verdict(peak < GOAL_RSS)}]`,
    );
    console.log(`totals     ${show(ours.totals)}  [generator's count: ${verdict(same(ours.totals, truth))}]`);

    const gnu = await measureDiffstat(path, runs);
    if (gnu === undefined) {
      console.log('diffstat   skipped: GNU diffstat not found (apt-get install diffstat)');
      return;
    }
    const gnuRate = truth.bytes / MiB / gnu.seconds;
    const ratio = ourRate / gnuRate;
    console.log(
      `diffstat   ${gnuRate.toFixed(0)} MiB/s (best of ${runs}: ${gnu.seconds.toFixed(3)} s wall)  ` +
        `totals ${show(gnu.totals)}`,
    );
    console.log(
      `ratio      ours / diffstat = ${ratio.toFixed(2)}x  [goal >= 1: ${verdict(ratio >= 1)}]`,
    );
    console.log(`agreement  ours vs diffstat -s: ${same(ours.totals, gnu.totals) ? 'agree' : 'DIFFER'}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

await main();
