/**
 * Benchmark of streaming JSON parsers on a json-rev answer of about 200 MB (a generated patch's
 * `files` and `diff`, as hg.mozilla.org writes them), downloaded from loopback: our field
 * picker against `@streamparser/json` and `stream-json` (with a filter that skips every field
 * but the kept ones), and against the download alone (node, and curl).
 *
 *   npx tsx test/bench/jsonParsers.ts [patchMB] [runs]   (or JSON_BENCH_MB, JSON_BENCH_RUNS;
 *   defaults 120, giving a json-rev of about 200 MB, and 3)
 *
 * The two candidates are not dependencies of the service: install them for the measurement
 * only (`npm install --no-save @streamparser/json stream-json`, or, where something else may
 * prune node_modules meanwhile, `npm install --prefix DIR ...` and JSON_BENCH_PREFIX=DIR);
 * a missing one is reported as such. Each run is a fresh plain-node process (the sources transpiled, as in diffstat.ts);
 * wall time is from spawn to exit, peak RSS is GNU time's %M. A candidate passes if its median
 * is within 1.5x of the node download's and its peak RSS under 150 MB, and it picks the same
 * fields as ours. MB here is 10^6 bytes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CHANGESET_FIELDS } from '../../src/clients/json/jsonRev.js';
import { JsonFieldPicker } from '../../src/clients/json/picker.js';
import { withoutFilesAndDiff, writeJsonRevFile } from '../support/data/hgJsonRev.js';
import { syntheticFixtures } from '../support/data/syntheticFixtures.js';
import { generatePatch } from './support/patch.js';
import { transpileForNode } from './support/plainNode.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SELF = relative(ROOT, fileURLToPath(import.meta.url));
const MB = 1e6;
const GOAL_RATIO = 1.5;
const GOAL_RSS = 150 * MB;
const GNU_TIME = '/usr/bin/time';

type Fields = Record<string, unknown>;
/** Feeds a response to one parser; resolves with the kept fields (none for the download). */
type Parse = (response: IncomingMessage) => Promise<Fields>;

const download: Parse = async (response) => {
  for await (const chunk of response) void chunk;
  return {};
};

const ours: Parse = async (response) => {
  const picker = new JsonFieldPicker(CHANGESET_FIELDS, 8 * 1024 * 1024);
  for await (const chunk of response) picker.push(chunk as Buffer);
  return picker.end();
};

// The candidates are imported by a name held in a variable, so that type-checking the
// checkout does not need them installed; these are the parts of their APIs used here.
interface StreamParserJson {
  JSONParser: new (options: { paths: string[]; keepStack: boolean }) => {
    onValue: (value: { value: unknown; key: string | number | undefined }) => void;
    write(chunk: Buffer): void;
    end(): void;
    readonly isEnded: boolean;
  };
}
type Stack = readonly (string | number | null)[];
type Step = unknown;
interface StreamJson {
  chain: (steps: Step[]) => AsyncIterable<{ key: string; value: unknown }>;
  parser: (options: { streamValues: boolean }) => Step;
  ignore: (options: { filter: (stack: Stack) => boolean }) => Step;
  streamObject: () => Step;
}
/** From the checkout's node_modules, or from JSON_BENCH_PREFIX's (`npm install --prefix`). */
const load = async (name: string): Promise<unknown> => {
  const prefix = process.env.JSON_BENCH_PREFIX;
  if (prefix === undefined) return import(name);
  const resolved = createRequire(join(prefix, 'node_modules', 'bench.js')).resolve(name);
  // A CommonJS build (what require resolves to) has its exports under `default` too.
  const module = (await import(pathToFileURL(resolved).href)) as Record<string, unknown>;
  const { default: commonJs } = module;
  return typeof commonJs === 'object' && commonJs !== null ? { ...commonJs, ...module } : module;
};

/** Emits only the kept top-level fields; keepStack false drops everything else once read. */
const streamparser: Parse = async (response) => {
  const { JSONParser } = (await load('@streamparser/json')) as StreamParserJson;
  const parser = new JSONParser({
    paths: [...CHANGESET_FIELDS].map((field) => `$.${field}`),
    keepStack: false,
  });
  const fields: Fields = {};
  parser.onValue = ({ value, key }) => {
    if (typeof key === 'string') fields[key] = value;
  };
  for await (const chunk of response) parser.write(chunk as Buffer);
  // It ends by itself after the root object; end() then would throw.
  if (!parser.isEnded) parser.end();
  return fields;
};

/** Packed tokens only; `ignore` drops every top-level field but the kept ones. */
const streamJson: Parse = async (response) => {
  const { chain, parser, ignore, streamObject }: StreamJson = {
    chain: ((await load('stream-chain')) as { default: StreamJson['chain'] }).default,
    parser: ((await load('stream-json')) as Pick<StreamJson, 'parser'>).parser,
    ignore: ((await load('stream-json/filters/ignore.js')) as Pick<StreamJson, 'ignore'>).ignore,
    streamObject: (
      (await load('stream-json/streamers/stream-object.js')) as Pick<StreamJson, 'streamObject'>
    ).streamObject,
  };
  const skipped = (stack: Stack) => stack.length === 1 && !CHANGESET_FIELDS.has(String(stack[0]));
  const pipeline = chain([
    response,
    parser({ streamValues: false }),
    ignore({ filter: skipped }),
    streamObject(),
  ]);
  const fields: Fields = {};
  for await (const { key, value } of pipeline) fields[key] = value;
  return fields;
};

const PARSERS: Record<string, Parse> = {
  download,
  ours,
  '@streamparser/json': streamparser,
  'stream-json': streamJson,
};

/** Child mode: one download through one parser; prints the kept fields as JSON. */
const parseMode = async (name: string, url: string): Promise<void> => {
  const start = process.hrtime.bigint();
  const response = await new Promise<IncomingMessage>((resolve, reject) =>
    get(url, resolve).on('error', reject),
  );
  const fields = await PARSERS[name]!(response);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(JSON.stringify({ seconds, fields }));
};

interface Run {
  /** From spawn to exit. */
  seconds: number;
  peakRss: number;
  stdout: string;
}

const measure = (argv: string[], rssFile: string): Promise<Run> =>
  new Promise((resolve, reject) => {
    rmSync(rssFile, { force: true });
    const start = process.hrtime.bigint();
    const child = spawn(GNU_TIME, ['-f', '%M', '-o', rssFile, ...argv], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (code !== 0) return reject(new Error(`${argv.join(' ')} exited with ${code}`));
      const kb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
      resolve({ seconds, peakRss: kb * 1024, stdout });
    });
  });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const installed = (name: string) =>
  existsSync(join(process.env.JSON_BENCH_PREFIX ?? ROOT, 'node_modules', name, 'package.json'));

const main = async (argv = process.argv.slice(2), env = process.env): Promise<number> => {
  if (argv[0] === '--parse') {
    await parseMode(argv[1]!, argv[2]!);
    return 0;
  }
  const patchMb = Number(argv[0] ?? env.JSON_BENCH_MB ?? 120);
  const runs = Number(argv[1] ?? env.JSON_BENCH_RUNS ?? 3);
  if (!(patchMb > 0) || !Number.isInteger(runs) || runs < 1) {
    throw new Error('usage: tsx test/bench/jsonParsers.ts [patchMB > 0] [runs >= 1]');
  }
  if (spawnSync(GNU_TIME, ['-f', '%M', 'true']).status !== 0) {
    throw new Error(`${GNU_TIME} is needed for peak RSS (apt-get install time)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'json-parsers-bench-'));
  const server = createServer((_, response) => {
    const file = join(dir, 'json-rev.json');
    const length = statSync(file).size;
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': length });
    createReadStream(file, { highWaterMark: 1 << 16 }).pipe(response);
  });
  try {
    const patch = generatePatch(join(dir, 'big.patch'), patchMb * MB);
    const synthetic = syntheticFixtures({ pushes: 1 });
    const node = synthetic.nodes(1)[0]!;
    const changeset = withoutFilesAndDiff(
      synthetic.changeset('integration/autoland', node) as Fields,
    );
    const bytes = writeJsonRevFile(join(dir, 'json-rev.json'), changeset, join(dir, 'big.patch'));
    console.log(
      `json-rev     ${(bytes / MB).toFixed(1)} MB (patch ${(patch.bytes / MB).toFixed(1)} MB)`,
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/json-rev`;
    const script = await transpileForNode(join(dir, 'js'), SELF, [
      'src',
      join('test', 'bench'),
      join('test', 'support'),
    ]);
    const self = script !== undefined ? [script] : [...process.execArgv, join(ROOT, SELF)];
    const rssFile = join(dir, 'maxrss');
    const rows: { name: string; med: number; own: number; rss: number; same: boolean }[] = [];
    let expected: string | undefined;
    const commands: [string, string[]][] = Object.keys(PARSERS).map((name) => [
      name,
      [process.execPath, ...self, '--parse', name, url],
    ]);
    commands.splice(1, 0, ['curl', ['curl', '-sf', url, '-o', '/dev/null']]);
    for (const [name, command] of commands) {
      if (
        name.includes('json') &&
        !installed(name === 'stream-json' ? name : '@streamparser/json')
      ) {
        console.log(`${name.padEnd(20)} not installed (npm install --no-save ${name})`);
        continue;
      }
      const done: Run[] = [];
      for (let i = 0; i < runs; i += 1) done.push(await measure(command, rssFile));
      const med = median(done.map((run) => run.seconds));
      const rss = Math.max(...done.map((run) => run.peakRss));
      const inner = done.map((run) =>
        run.stdout === ''
          ? undefined
          : (JSON.parse(run.stdout) as { seconds: number; fields: Fields }),
      );
      const own = inner[0] === undefined ? med : median(inner.map((run) => run!.seconds));
      const fields = JSON.stringify(inner[0]?.fields);
      if (name === 'ours') expected = fields;
      const same = name === 'download' || name === 'curl' || fields === expected;
      rows.push({ name, med, own, rss, same });
      console.log(
        `${name.padEnd(20)} median ${med.toFixed(3)} s from spawn, ${own.toFixed(3)} s from ` +
          `request (${(bytes / MB / own).toFixed(0)} MB/s); runs from request ` +
          `${inner.map((run, i) => (run?.seconds ?? done[i]!.seconds).toFixed(2)).join(' ')}; ` +
          `peak RSS ${(rss / MB).toFixed(1)} MB` +
          (same ? '' : '; its fields DIFFER from ours'),
      );
    }
    // From request to last byte, as a client sees it: node's start-up is no parser's.
    const base = rows.find((row) => row.name === 'download')!.own;
    console.log(
      `\ngoal: median <= ${GOAL_RATIO}x the node download's (from request), RSS < 150 MB`,
    );
    for (const row of rows.filter((r) => r.name !== 'download' && r.name !== 'curl')) {
      const ok = row.own <= GOAL_RATIO * base && row.rss < GOAL_RSS && row.same;
      const curl = rows.find((r) => r.name === 'curl')!.own;
      console.log(
        `${row.name.padEnd(20)} ${(row.own / base).toFixed(2)}x the node download ` +
          `(${(row.own / curl).toFixed(2)}x curl's): ${ok ? 'ok' : 'MISSED'}`,
      );
    }
    return 0;
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
};

process.exitCode = await main();
