/**
 * What one HTTP request costs the client in CPU, layer by layer, in a fresh process as a
 * command runs it (code not yet optimized): Node's own client with keep-alive, the same with
 * an AbortSignal on each request, the service's Http (slots, retry policy, deadline), and the
 * same with its host's health (circuit breaker), as the commands build it.
 * A loopback server in a child process answers each request with a small JSON body.
 *
 *   npm run bench:request-cost [-- N]      (N requests per run, default 3600: a 300-push backfill's)
 *
 * Each way runs three times, alternating, each time in a process of its own; it prints the
 * median CPU (user + system) per request. No goal: it is how the request path's cost was
 * found and is checked (docs/benchmarks.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { hostHealth } from '../../src/clients/index.js';
import { HostLimits } from '../../src/clients/hostLimits.js';
import { Http } from '../../src/clients/http.js';
import { median } from './support/benchStore.js';

const WAYS = ['node', 'node+signal', 'Http', 'Http+health'] as const;
type Way = (typeof WAYS)[number];
const CONCURRENCY = 10;
const RUNS = 3;

const SERVER = `
const body = JSON.stringify({ node: 'a'.repeat(40), desc: 'x'.repeat(1500), files: ['a/b.js'] });
const server = require('node:http').createServer((request, response) => {
  request.resume();
  request.on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end(body));
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));`;

/** One request with Node's client, its body read whole and parsed. */
const nodeRequest = (agent: http.Agent, url: string, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const request = http.request(url, { agent, headers: { 'user-agent': 'bench' }, signal });
    request.once('error', reject);
    request.once('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('end', () => {
        JSON.parse(Buffer.concat(chunks).toString('utf8'));
        resolve();
      });
    });
    request.end();
  });

/** Runs `count` requests the given way, CONCURRENCY at a time: CPU µs per request. */
const measure = async (way: Way, url: string, count: number): Promise<number> => {
  const agent = new http.Agent({ keepAlive: true });
  const client = new Http(new HostLimits(CONCURRENCY));
  const watched = new Http(new HostLimits(CONCURRENCY, hostHealth({})));
  const readJson = async (answer: { text(): Promise<string> }) => JSON.parse(await answer.text());
  const one: Record<Way, () => Promise<unknown>> = {
    node: () => nodeRequest(agent, url),
    'node+signal': () => nodeRequest(agent, url, new AbortController().signal),
    Http: () => client.request({ url }, readJson),
    'Http+health': () => watched.request({ url }, readJson),
  };
  let started = 0;
  const lane = async () => {
    while (started < count) {
      started += 1;
      await one[way]();
    }
  };
  const before = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / count;
};

const runChild = (way: Way, url: string, count: number): Promise<number> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), '--child', way, url, String(count)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('close', (code) =>
      code === 0 ? resolve(Number(out.trim())) : reject(new Error(`${way}: exit ${code}`)),
    );
  });

const startServer = (): Promise<{ url: string; server: ChildProcess }> =>
  new Promise((resolve) => {
    const server = spawn(process.execPath, ['-e', SERVER], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    server.stdout!.once('data', (port: Buffer) =>
      resolve({ url: `http://127.0.0.1:${port.toString().trim()}/json-rev/0`, server }),
    );
  });

if (process.argv[2] === '--child') {
  const [way, url, count] = process.argv.slice(3) as [Way, string, string];
  console.log((await measure(way, url, Number(count))).toFixed(1));
  process.exit(0);
} else {
  const count = Number(process.argv[2] ?? 3600);
  if (!Number.isSafeInteger(count) || count < 1) throw new Error('N must be a positive number');
  const { url, server } = await startServer();
  const results = new Map<Way, number[]>(WAYS.map((way) => [way, []]));
  for (let run = 0; run < RUNS; run += 1) {
    for (const way of WAYS) results.get(way)!.push(await runChild(way, url, count));
  }
  server.kill();
  console.log(`${count} requests per run, ${CONCURRENCY} at a time, node ${process.version}:`);
  for (const [way, cpu] of results) {
    const all = cpu.map((us) => us.toFixed(0)).join(', ');
    console.log(
      `${way.padEnd(12)} median ${median(cpu).toFixed(0)} µs of CPU per request (${all})`,
    );
  }
}
