/**
 * `npm run stand-in` as the README has a newcomer use it: start it, take the settings it
 * prints (through a shell, so the whole stdout must be valid shell), run the built commands
 * with exactly those settings and the example lines it printed, and stop it with Ctrl-C
 * (SIGINT to its process group, as a terminal sends it). Needs the local RabbitMQ with the
 * guest account, as the worker's other tests do.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import amqplib from 'amqplib';
import { pulseNames } from '../streams/pulse/connection/names.js';
import { commandPath, runCommand, type Finished } from './support/cli.js';
import { recordedFixtures } from './support/data/fixtureData.js';
import { brokerEntities } from './support/standIns/standInBroker.js';
import { until } from './support/wait.js';
import { ROOT } from './support/root.js';

// Read from the checkout, not the copy beside the transpiled tests (dist/tests/).
const pkg = JSON.parse(
  readFileSync(join(ROOT, 'package.json'), 'utf8'),
) as typeof import('../package.json');

const REPO = 'integration/autoland';
const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
const run = promisify(execFile);

/** Only what npm, tsx and node need: no setting leaks in from the test runner. */
const baseEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  ...extra,
});

interface StandIn {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  readonly finished: Promise<Finished>;
}

const launch = (command: string, args: string[], env: Record<string, string>): StandIn => {
  // A process group of its own, so a test can signal it as a terminal's Ctrl-C does.
  const child = spawn(command, args, { cwd: ROOT, env, detached: true, stdio: 'pipe' });
  child.stdin!.end();
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const finished = new Promise<Finished>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, finished };
};

/** Stops a stand-in a failed test left running, so it too removes what it made. */
const stopOnTeardown = (t: ExecutionContext, standIn: StandIn) =>
  t.teardown(async () => {
    if (standIn.child.exitCode !== null || standIn.child.signalCode !== null) return;
    process.kill(-standIn.child.pid!, 'SIGTERM');
    await standIn.finished;
  });

/** Waits for the last line the stand-in prints on stdout. */
const printed = async (standIn: StandIn): Promise<string> => {
  await until(
    'the stand-in to print its settings',
    () => /^# Ctrl-C.*\n/m.test(standIn.stdout()) || standIn.child.exitCode !== null,
    20_000,
  );
  return standIn.stdout();
};

/** The environment a shell has after evaluating `text`: only the names it exports. */
const evaluated = async (text: string): Promise<Record<string, string>> => {
  const names = [...text.matchAll(/^export ([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((m) => m[1]!);
  const { stdout } = await run('sh', ['-c', 'eval "$1" && env -0', 'sh', text], {
    env: { PATH: process.env.PATH ?? '' },
  });
  const all = new Map(
    stdout
      .split('\0')
      .filter((entry) => entry.includes('='))
      .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
  return Object.fromEntries(names.map((name) => [name, all.get(name) ?? '']));
};

/** The example command lines: `#   npx ...` and `#   npm ...`, as words. */
const examples = (text: string): string[][] =>
  [...text.matchAll(/^#\s+((?:npx|npm) .*)$/gm)].map((m) => m[1]!.trim().split(/\s+/));

const example = (lines: string[][], first: string, second: string): string[] => {
  const line = lines.find((words) => words[0] === first && words[1] === second);
  if (line === undefined) throw new Error(`no example line starts with ${first} ${second}`);
  return line;
};

/** `npx <bin> ARGS` as the built command: package.json's bin says which file. */
const binCommand = (bin: string) => {
  const file = (pkg.bin as Record<string, string>)[bin];
  if (file === undefined) throw new Error(`package.json has no bin ${bin}`);
  // dist/bin/<command>.js: the file names the command.
  return basename(file, '.js') as Parameters<typeof runCommand>[0];
};

const pingsLogged = (stderr: string): string[] =>
  [...stderr.matchAll(/tmo ping #\d+: ([0-9a-f]{12}) /g)].map((m) => m[1]!);

const changesetsOf = (start: number, end: number): string[] => {
  const { pushes } = recordedFixtures().pushlog(REPO)!;
  return Object.entries(pushes)
    .filter(([id]) => Number(id) > start && Number(id) <= end)
    .flatMap(([, push]) => push.changesets.map((node) => node.slice(0, 12)));
};

/** Whether the broker has this exchange or queue; a channel each, as a miss closes it. */
const brokerHas = async (kind: 'exchange' | 'queue', name: string): Promise<boolean> => {
  const connection = await amqplib.connect(AMQP_URL);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    await (kind === 'exchange' ? channel.checkExchange(name) : channel.checkQueue(name));
    return true;
  } catch {
    return false;
  } finally {
    await connection.close().catch(() => undefined);
  }
};

const queueDepth = async (queue: string): Promise<number> => {
  const connection = await amqplib.connect(AMQP_URL);
  try {
    return (await (await connection.createChannel()).checkQueue(queue)).messageCount;
  } finally {
    await connection.close().catch(() => undefined);
  }
};

test('npm run stand-in: its printed settings and examples work with the built commands; Ctrl-C cleans up', async (t) => {
  const standIn = launch('npm', ['run', '-s', 'stand-in'], baseEnv());
  stopOnTeardown(t, standIn);
  const stdout = await printed(standIn);
  t.log(stdout);

  // The whole stdout is shell: exports and comments only.
  const env = await evaluated(stdout);
  for (const name of ['BMO_API_URL', 'TMO_BASE_URL', 'ALLOWED_HOSTS', 'DATABASE_URL']) {
    t.truthy(env[name], name);
  }
  t.like(env, {
    PULSE_HOST: '127.0.0.1',
    PULSE_PORT: '5672',
    PULSE_SSL: 'false',
    PULSE_USERNAME: 'guest',
    PULSE_PASSWORD: 'guest',
    PULSE_QUEUE_ROUTING_KEY: '#',
  });
  t.regex(env.PULSE_EXCHANGE!, /^exchange\/stand-in\/[0-9a-f]+$/);
  t.regex(env.DATABASE_URL!, /^sqlite:\/.+\/stand-in\.sqlite$/);
  const storeDir = dirname(env.DATABASE_URL!.slice('sqlite:'.length));
  t.true(existsSync(storeDir));
  t.false(storeDir.startsWith(ROOT), 'the store is outside the checkout');
  const hgUrl = `http://${env.ALLOWED_HOSTS!.split(',')[0]}`;
  t.true(stdout.includes(`#   ${hgUrl}/${REPO} `), 'the repository is listed');
  const lines = examples(stdout);

  // dump-telemetry: one ping on stdout.
  const [, dumpBin, ...dumpArgs] = example(lines, 'npx', 'dump-telemetry');
  const dumped = await runCommand(binCommand(dumpBin!), dumpArgs, env);
  t.is(dumped.code, 0, dumped.stderr);
  const ping = JSON.parse(dumped.stdout) as { changesetID: string; repository: string };
  t.true(ping.changesetID.startsWith(dumpArgs.at(-1)!));
  t.is(ping.repository, `${hgUrl}/${REPO}`);

  // backfill-pushlog: every changeset of its range reaches the telemetry stand-in.
  const [, backfillBin, ...backfillArgs] = example(lines, 'npx', 'backfill-pushlog');
  const backfilled = await runCommand(binCommand(backfillBin!), backfillArgs, env);
  t.is(backfilled.code, 0, backfilled.stderr);
  const [start, end] = backfillArgs.slice(-2).map(Number) as [number, number];
  const backfillNodes = changesetsOf(start, end);
  t.true(backfillNodes.length > 0);
  await until('the backfill pings in the stand-in log', () =>
    backfillNodes.every((node) => pingsLogged(standIn.stderr()).includes(node)),
  );

  // The worker: publish as printed, then consume with the printed Pulse settings.
  const publishLine = example(lines, 'npm', 'run');
  t.true(publishLine.includes('publish'));
  const published = await run(publishLine[0]!, publishLine.slice(1), {
    cwd: ROOT,
    env: baseEnv(),
  });
  t.regex(published.stderr, /published line \d+ .*push (\d+)/);
  const push = Number(/push (\d+)/.exec(published.stderr)![1]);
  const queue = pulseNames(env.PULSE_USERNAME!, env.PULSE_QUEUE_NAME!).queue;
  t.is(await queueDepth(queue), 1, 'the message waits in the queue for the worker');
  const [, workerBin, ...workerArgs] = example(lines, 'npx', 'process-queue-messages');
  const worked = await runCommand(binCommand(workerBin!), workerArgs, env);
  t.is(worked.code, 0, worked.stderr);
  const settled = worked.stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { action?: string; push?: number });
  t.true(
    settled.some((line) => line.action === 'ack' && line.push === push),
    worked.stderr,
  );
  t.is(await queueDepth(queue), 0, 'acked');
  const workerNodes = changesetsOf(push - 1, push);
  await until('the worker pings in the stand-in log', () =>
    workerNodes.every((node) => pingsLogged(standIn.stderr()).includes(node)),
  );

  // telemetry-status, when it is built.
  if (existsSync(commandPath('telemetryStatus'))) {
    const [, statusBin, ...statusArgs] = example(lines, 'npx', 'telemetry-status');
    const status = await runCommand(binCommand(statusBin!), statusArgs, env);
    t.is(status.code, 0, status.stderr);
    t.true(status.stdout.includes(`${hgUrl}/${REPO}`), status.stdout);
  } else {
    t.log('dist/bin/telemetryStatus.js is absent: telemetry-status not checked');
  }

  // Every request is logged, one line each.
  t.regex(standIn.stderr(), /^\S+ hg {2}GET \/integration\/autoland\/json-pushes\?\S+ -> 200 /m);
  t.regex(standIn.stderr(), /^\S+ bmo GET \/rest\/bug\/\d+\/history -> 200 /m);
  t.regex(standIn.stderr(), /^\S+ tmo PUT \/submit\/\S+ -> 200 /m);

  // Ctrl-C: exit 0, the store's directory, the exchange and the queues gone.
  const names = brokerEntities(pulseNames(env.PULSE_USERNAME!, env.PULSE_QUEUE_NAME!));
  t.true(names.queues.includes(queue));
  const declared = await Promise.all(names.queues.map((name) => brokerHas('queue', name)));
  t.true(declared.every(Boolean), 'the worker declared all of its queues');
  process.kill(-standIn.child.pid!, 'SIGINT');
  const stopped = await standIn.finished;
  t.is(stopped.code, 0, stopped.stderr.split('\n').slice(-5).join('\n'));
  t.is(stopped.signal, null);
  t.false(existsSync(storeDir));
  for (const name of [env.PULSE_EXCHANGE!, ...names.exchanges]) {
    t.false(await brokerHas('exchange', name), name);
  }
  for (const name of names.queues) t.false(await brokerHas('queue', name), name);
});

/** The stand-in's store directories in `dir` (tsx keeps its cache in TMPDIR too). */
const storesIn = (dir: string): string[] =>
  readdirSync(dir).filter((name) => name.startsWith('cts-stand-in-'));

/** Three consecutive free loopback ports, held until `release`. */
const threeFreePorts = async (): Promise<{ base: number; release(): Promise<void> }> => {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    const held: Server[] = [];
    try {
      for (let port = base; port < base + 3; port += 1) {
        const server = createServer();
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, '127.0.0.1', resolve);
        });
        held.push(server);
      }
      const release = async () => {
        for (const server of held) await new Promise((resolve) => server.close(resolve));
      };
      return { base, release };
    } catch {
      for (const server of held) server.close();
    }
  }
  throw new Error('no three consecutive free ports');
};

test('--port-base puts hg, Bugzilla and telemetry on N, N+1, N+2; SIGTERM to the process stops it with exit 0', async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'cts-stand-in-test-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const ports = await threeFreePorts();
  await ports.release();
  const { base } = ports;
  const standIn = launch(
    process.execPath,
    ['--import', 'tsx', 'test/support/standIn.ts', '--port-base', String(base)],
    baseEnv({ TMPDIR: tmp }),
  );
  stopOnTeardown(t, standIn);
  const stdout = await printed(standIn);
  t.true(
    stdout.includes(`export ALLOWED_HOSTS=127.0.0.1:${base},github.com\n`),
    stdout + standIn.stderr(),
  );
  t.true(stdout.includes(`export BMO_API_URL=http://127.0.0.1:${base + 1}/rest\n`));
  t.true(stdout.includes(`export TMO_BASE_URL=http://127.0.0.1:${base + 2}/submit\n`));
  t.is(storesIn(tmp).length, 1, 'its store directory, in TMPDIR');
  process.kill(standIn.child.pid!, 'SIGTERM');
  const stopped = await standIn.finished;
  t.is(stopped.code, 0, stopped.stderr);
  t.regex(stopped.stderr, /SIGTERM: stopping/);
  t.deepEqual(storesIn(tmp), []);
});

test('a port of --port-base in use: exit 1 naming it, nothing left behind', async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'cts-stand-in-test-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const ports = await threeFreePorts();
  t.teardown(() => ports.release());
  const standIn = launch(
    process.execPath,
    ['--import', 'tsx', 'test/support/standIn.ts', '--port-base', String(ports.base)],
    baseEnv({ TMPDIR: tmp }),
  );
  stopOnTeardown(t, standIn);
  const stopped = await standIn.finished;
  t.is(stopped.code, 1);
  t.is(stopped.stdout, '');
  t.regex(stopped.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${ports.base}\\b`));
  t.deepEqual(storesIn(tmp), []);
});
