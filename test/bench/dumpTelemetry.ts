/**
 * Benchmark of the built `dump-telemetry` on one changeset with a ~200 MB patch, against
 * the same two downloads by curl: `curl -s <json-rev> -o /dev/null`, then
 * `curl -s <raw-rev> | diffstat -s`.
 *
 *   npm run build && npx tsx test/bench/dumpTelemetry.ts [sizeMB] [runs]
 *   (or DUMP_BENCH_MB, DUMP_BENCH_RUNS; defaults 200 and 3; DUMP_BENCH_COMMAND times another
 *   build of the command, for an A/B)
 *
 * The patch is generated into a temporary file (a fixed seed, so runs compare across
 * commits) and served by the fixture server as the raw-rev of a changeset whose bug has a
 * Phabricator request, so that dump-telemetry streams the whole patch through its diffstat.
 * Its json-rev carries `files` and `diff` as hg.mozilla.org's would, about twice the patch,
 * written beside it as a stream from the patch (never held) and served from disk too.
 *
 * Goals: dump-telemetry within 1.5x of the two curl downloads, peak RSS under 150 MB, and
 * the ping's diffstat equal to diffstat's summary. Wall time is measured around each child;
 * peak RSS is GNU time's %M (the kernel's maxrss for the child, taken at wait4), or, without
 * /usr/bin/time, VmHWM read from /proc/<pid>/status every 5 ms.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  createReadStream,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FixtureData } from '../support/data/fixtureData.js';
import { startFixtures } from '../support/standIns/fixtureServer.js';
import { withoutFilesAndDiff, writeJsonRevFile } from '../support/data/hgJsonRev.js';
import { syntheticFixtures } from '../support/data/syntheticFixtures.js';
import {
  generatePatch,
  parseDiffstatSummary,
  sameTotals,
  showTotals,
  type Totals,
} from './support/patch.js';
import { commandPath } from '../support/cli.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The command timed: the build's, or another (DUMP_BENCH_COMMAND, an A/B against an older build). */
const BUILT = process.env.DUMP_BENCH_COMMAND ?? commandPath('dumpTelemetry');
const REPO = 'integration/autoland';
const MB = 1e6;
const GOAL_RATIO = 1.5;
const GOAL_RSS = 150 * MB;
const GNU_TIME = '/usr/bin/time';

interface Run {
  seconds: number;
  /** Bytes, or undefined when it could not be measured. */
  peakRss: number | undefined;
  stdout: string;
  stderr: string;
  code: number | null;
}

// ---------------------------------------------------------------------------------------
// Measuring a child

const hasGnuTime = (): boolean =>
  existsSync(GNU_TIME) && spawnSync(GNU_TIME, ['-f', '%M', 'true']).status === 0;

/** VmHWM (peak resident set) of a live process, in bytes. */
const vmHwm = (pid: number): number | undefined => {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
};

/** Runs `argv`, timing it from spawn to exit, and takes its peak RSS the best way there is. */
const measure = (
  argv: string[],
  options: { env: Record<string, string>; cwd: string; gnuTime: boolean; dir: string },
): Promise<Run> =>
  new Promise((resolve, reject) => {
    const rssFile = join(options.dir, 'maxrss');
    rmSync(rssFile, { force: true });
    const [command, ...args] = options.gnuTime
      ? [GNU_TIME, '-f', '%M', '-o', rssFile, ...argv]
      : argv;
    const start = process.hrtime.bigint();
    const child = spawn(command!, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let polled: number | undefined;
    const poll = options.gnuTime
      ? undefined
      : setInterval(() => {
          const now = child.pid === undefined ? undefined : vmHwm(child.pid);
          if (now !== undefined) polled = Math.max(polled ?? 0, now);
        }, 5);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (poll !== undefined) clearInterval(poll);
      let peakRss = polled;
      if (options.gnuTime && existsSync(rssFile)) {
        const kb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
        peakRss = Number.isFinite(kb) ? kb * 1024 : undefined;
      }
      resolve({ seconds, peakRss, stdout, stderr, code });
    });
  });

// ---------------------------------------------------------------------------------------
// Checks and the report

const show = showTotals;
const same = sameTotals;
const mb = (bytes: number | undefined) => (bytes === undefined ? '?' : (bytes / MB).toFixed(1));
const verdict = (ok: boolean) => (ok ? 'ok' : 'MISSED');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Warns when some source is newer than the build the benchmark runs. */
const staleBuild = (): string | undefined => {
  const built = statSync(BUILT).mtimeMs;
  for (const dir of ['src', 'streams']) {
    const files = readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' });
    const newer = files.find(
      (f) => f.endsWith('.ts') && statSync(join(ROOT, dir, f)).mtimeMs > built,
    );
    if (newer !== undefined) return join(dir, newer);
  }
  return undefined;
};

const parseArgs = (argv: string[], env: NodeJS.ProcessEnv) => {
  const sizeMb = Number(argv[0] ?? env.DUMP_BENCH_MB ?? 200);
  const runs = Number(argv[1] ?? env.DUMP_BENCH_RUNS ?? 3);
  if (!(sizeMb > 0) || !Number.isInteger(runs) || runs < 1) {
    throw new Error('usage: tsx test/bench/dumpTelemetry.ts [sizeMB > 0] [runs >= 1]');
  }
  return { sizeMb, runs };
};

const main = async (argv = process.argv.slice(2), env = process.env): Promise<number> => {
  const { sizeMb, runs } = parseArgs(argv, env);
  if (!existsSync(BUILT)) {
    console.error(`${BUILT} is missing: run \`npm run build\` first.`);
    return 2;
  }
  const stale = staleBuild();
  if (stale !== undefined) {
    console.log(`warning: ${stale} is newer than the build; run \`npm run build\` to bench it`);
  }
  const diffstatMissing = spawnSync('diffstat', ['-V']).error !== undefined;
  const curlMissing = spawnSync('curl', ['--version']).error !== undefined;
  const gnuTime = hasGnuTime();

  const dir = mkdtempSync(join(tmpdir(), 'dump-telemetry-bench-'));
  const path = join(dir, 'big.patch');
  const fixtures: { close(): Promise<void> }[] = [];
  try {
    const genStart = process.hrtime.bigint();
    const truth = generatePatch(path, sizeMb * MB);
    const genSeconds = Number(process.hrtime.bigint() - genStart) / 1e9;
    console.log(
      `patch        ${mb(truth.bytes)} MB, ${show(truth)} ` +
        `(${truth.additions + truth.deletions} changed lines), made in ${genSeconds.toFixed(1)} s`,
    );

    // One changeset (serial 0 of the synthetic repository: its bug has a Phabricator
    // request), whose raw-rev is the big patch and whose json-rev carries its diff, both
    // streamed from disk on every request.
    const synthetic = syntheticFixtures({ pushes: 1 });
    const node = synthetic.nodes(1)[0]!;
    if (synthetic.kindOf(node) !== 'phabricator') throw new Error('expected a phabricator node');
    const jsonRevPath = join(dir, 'json-rev.json');
    const changeset = withoutFilesAndDiff(
      synthetic.changeset(REPO, node) as Record<string, unknown>,
    );
    const jsonRevStart = process.hrtime.bigint();
    const jsonRevBytes = writeJsonRevFile(jsonRevPath, changeset, path);
    console.log(
      `json-rev     ${mb(jsonRevBytes)} MB (${(jsonRevBytes / truth.bytes).toFixed(2)}x the patch), ` +
        `made in ${(Number(process.hrtime.bigint() - jsonRevStart) / 1e9).toFixed(1)} s`,
    );
    const served = (file: string) => createReadStream(file, { highWaterMark: 1 << 16 });
    const data: FixtureData = {
      ...synthetic,
      changeset: (repoPath, n) =>
        repoPath === REPO && n === node ? served(jsonRevPath) : synthetic.changeset(repoPath, n),
      patch: (repoPath, n) => (repoPath === REPO && n === node ? served(path) : undefined),
    };
    const fx = await startFixtures({ data });
    fixtures.push(fx);
    const repository = fx.repo(REPO);
    const rawRev = `${repository}/raw-rev/${node}`;
    const jsonRev = `${repository}/json-rev/${node}`;
    console.log(`changeset    ${node} at ${repository} (raw-rev ${rawRev})`);
    console.log(
      `peak RSS by  ${gnuTime ? `${GNU_TIME} -f %M (maxrss at exit)` : 'VmHWM in /proc/<pid>/status, polled every 5 ms'}`,
    );

    const childEnv = {
      PATH: env.PATH ?? '/usr/bin:/bin',
      HOME: env.HOME ?? dir,
      ALLOWED_HOSTS: fx.env.ALLOWED_HOSTS!,
      BMO_API_URL: fx.env.BMO_API_URL!,
      DEBUG: 'false',
    };
    // The temporary directory as cwd, so that no .env of the checkout leaks in.
    const common = { env: childEnv, cwd: dir, gnuTime, dir };
    const ours: Run[] = [];
    const theirs: Run[] = [];
    let ping: { reviewSystemUsed?: string; diffstat?: Totals | null } | undefined;
    let gnuTotals: Totals | undefined;
    for (let i = 0; i < runs; i += 1) {
      const run = await measure(
        [process.execPath, BUILT, '--target-repo', repository, node],
        common,
      );
      if (run.code !== 0) {
        throw new Error(`dump-telemetry exited with ${run.code}:\n${run.stderr}`);
      }
      ping = JSON.parse(run.stdout) as typeof ping;
      ours.push(run);
      console.log(
        `run ${i + 1}        dump-telemetry ${run.seconds.toFixed(3)} s, peak RSS ${mb(run.peakRss)} MB`,
      );
      if (diffstatMissing || curlMissing) continue;
      // What dump-telemetry downloads, in its order: json-rev, then the patch to count.
      const gnu = await measure(
        [
          'bash',
          '-c',
          'set -o pipefail; curl -sf "$1" -o /dev/null && curl -sf "$2" | diffstat -s',
          'bench',
          jsonRev,
          rawRev,
        ],
        common,
      );
      if (gnu.code !== 0) throw new Error(`curl | diffstat exited with ${gnu.code}: ${gnu.stderr}`);
      gnuTotals = parseDiffstatSummary(gnu.stdout);
      if (gnuTotals === undefined) throw new Error(`unexpected diffstat output: ${gnu.stdout}`);
      theirs.push(gnu);
      console.log(
        `             curl json-rev; curl raw-rev | diffstat -s ${gnu.seconds.toFixed(3)} s, ` +
          `peak RSS ${mb(gnu.peakRss)} MB`,
      );
    }

    const oursBest = Math.min(...ours.map((r) => r.seconds));
    const oursMedian = median(ours.map((r) => r.seconds));
    const peak = Math.max(...ours.map((r) => r.peakRss ?? 0));
    const rate = (s: number) => `${(truth.bytes / MB / s).toFixed(0)} MB/s`;
    console.log('');
    console.log(
      `dump-telemetry   best ${oursBest.toFixed(3)} s (${rate(oursBest)}), median ` +
        `${oursMedian.toFixed(3)} s, of ${runs}; peak RSS ${mb(peak)} MB`,
    );
    let ratioOk: boolean | undefined;
    if (theirs.length > 0) {
      const best = Math.min(...theirs.map((r) => r.seconds));
      const med = median(theirs.map((r) => r.seconds));
      console.log(
        `curl, diffstat   best ${best.toFixed(3)} s (${rate(best)}), median ${med.toFixed(3)} s, ` +
          `of ${runs}; peak RSS ${mb(Math.max(...theirs.map((r) => r.peakRss ?? 0)))} MB`,
      );
      const ratio = oursBest / best;
      ratioOk = ratio <= GOAL_RATIO;
      console.log(
        `ratio            ${ratio.toFixed(2)}x best/best, ${(oursMedian / med).toFixed(2)}x ` +
          `median/median (goal <= ${GOAL_RATIO}x): ${verdict(ratioOk)}`,
      );
    } else {
      console.log(
        `curl, diffstat   skipped: ${diffstatMissing ? 'diffstat (apt-get install diffstat)' : ''}` +
          `${diffstatMissing && curlMissing ? ' and ' : ''}${curlMissing ? 'curl' : ''} not found`,
      );
    }
    const rssOk = peak > 0 && peak < GOAL_RSS;
    console.log(`peak RSS         ${mb(peak)} MB (goal < ${GOAL_RSS / MB} MB): ${verdict(rssOk)}`);

    const diffstat = ping?.diffstat ?? undefined;
    console.log(
      `ping             ${ping?.reviewSystemUsed}, diffstat ${diffstat ? show(diffstat) : String(diffstat)}`,
    );
    const truthOk = same(diffstat, truth);
    console.log(`                 vs the generator's count: ${truthOk ? 'equal' : 'DIFFER'}`);
    let gnuOk: boolean | undefined;
    if (gnuTotals !== undefined) {
      gnuOk = same(diffstat, gnuTotals);
      console.log(
        `                 vs diffstat -s (${show(gnuTotals)}): ${gnuOk ? 'equal' : 'DIFFER'}`,
      );
    }
    const ok =
      ping?.reviewSystemUsed === 'phabricator' &&
      truthOk &&
      gnuOk !== false &&
      ratioOk !== false &&
      rssOk;
    console.log(`goals            ${ok ? 'all met' : 'NOT all met'}`);
    return ok ? 0 : 1;
  } finally {
    for (const fx of fixtures) await fx.close();
    rmSync(dir, { recursive: true, force: true });
  }
};

process.exitCode = await main();
