/**
 * `npm run stand-in`: the recorded hg.mozilla.org, Bugzilla and telemetry (fixtures/, served
 * by `startFixtures()`) on three loopback ports, so the commands themselves can be tried
 * offline. It prints on stdout the settings to paste (`export ...` lines) and, as `#`
 * comments, the recorded repositories and one example command line for each tool, so the
 * whole stdout may be sourced. Until Ctrl-C (SIGINT) or SIGTERM it logs on stderr every
 * request it answers and every ping telemetry receives, one line each; then it closes its
 * servers, removes its temporary store and its RabbitMQ exchange and queues, and exits 0.
 *
 *   npm run -s stand-in [-- --port-base N]    hg on N, Bugzilla on N+1, telemetry on N+2
 *                                             (or STAND_IN_PORT_BASE; default: free ports)
 *   npm run -s stand-in -- publish EXCHANGE HG_URL [LINE]
 *        publishes line LINE (default 1) of fixtures/pulse/autoland.ndjson, its
 *        https://hg.mozilla.org URLs rewritten to HG_URL, to a stand-in's exchange
 *
 * For the worker it uses the local RabbitMQ (127.0.0.1:5672, guest/guest) and names of its
 * own only: a topic exchange `exchange/stand-in/<id>` and the queue the worker will use,
 * `queue/guest/stand-in-<id>`, declared (as the worker declares it) and bound up front so a
 * message published before the worker starts waits for it. Without a broker the HTTP
 * stand-ins still run; the worker's lines are left out.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Server, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { parseArgs } from 'node:util';
import amqplib from 'amqplib';
import { pulseNames, type PulseNames } from '../../streams/pulse/connection/names.js';
import { FIXTURES_DIR, recordedFixtures } from './data/fixtureData.js';
import { brokerEntities } from './standIns/standInBroker.js';
import { startFixtures, type Fixtures } from './standIns/fixtureServer.js';
import { gitHubExamples, startGitHub, type GitHubStandIn } from './standIns/githubStandIn.js';

const NAME = 'stand-in';
const PULSE_STREAM = join(FIXTURES_DIR, 'pulse', 'autoland.ndjson');
const EXAMPLE_REPO = 'integration/autoland';
const BROKER = { host: '127.0.0.1', port: 5672, username: 'guest', password: 'guest' };
const AMQP_URL = `amqp://${BROKER.username}:${BROKER.password}@${BROKER.host}:${BROKER.port}`;
const EXCHANGE_PREFIX = 'exchange/stand-in/';
/** Cleaning up never takes longer than this; past it the stand-in exits 1. */
const STOP_DEADLINE_MS = 10_000;

const USAGE = `usage: npm run -s stand-in [-- --port-base N]
       npm run -s stand-in -- publish EXCHANGE HG_URL [LINE]`;

const clock = (): string => new Date().toISOString().slice(11, 23);
/** One readable line on stderr. */
const say = (text: string): void => void process.stderr.write(`${clock()} ${text}\n`);
const describe = (error: unknown): string =>
  error instanceof Error ? error.message || String(error) : String(error);
const quit = (message: string, code: number): never => {
  process.stderr.write(`${NAME}: ${message}\n`);
  process.exit(code);
};

/** A value as a POSIX shell word: as it is when that is safe, else single-quoted. */
const shellWord = (value: string): string =>
  /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;

// ---------------------------------------------------------------------------------------
// What the recorded fixtures hold

interface RecordedRepo {
  readonly path: string;
  readonly first: number;
  readonly last: number;
}

/** Every repository with a recorded pushlog under fixtures/hg, with its push range. */
const recordedRepositories = (): RecordedRepo[] => {
  const hgDir = join(FIXTURES_DIR, 'hg');
  const data = recordedFixtures();
  return readdirSync(hgDir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file === 'json-pushes.json' || file.endsWith(`${sep}json-pushes.json`))
    .map((file) =>
      relative(hgDir, join(hgDir, dirname(file)))
        .split(sep)
        .join('/'),
    )
    .sort()
    .map((path) => {
      const ids = Object.keys(data.pushlog(path)!.pushes).map(Number);
      return { path, first: Math.min(...ids), last: Math.max(...ids) };
    });
};

interface Examples {
  /** A changeset of the first recorded push, 12 characters as the README writes them. */
  readonly node: string;
  /** The worker's push: the first recorded one, and its line in the Pulse recording. */
  readonly pulsePush: number;
  readonly pulseLine: number;
  /** The backfill's range (start excluded): every recorded push after the worker's. */
  readonly backfill: readonly [number, number];
}

const recordedPulse = (): string[] =>
  readFileSync(PULSE_STREAM, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');

/** A Pulse message's routing key and, for a changegroup of one push, that push. */
const readMessage = (line: string): { routingKey: string; type: string; push?: number } => {
  const message = JSON.parse(line) as {
    payload?: { type?: string; data?: { pushlog_pushes?: { pushid?: unknown }[] } };
    _meta?: { routing_key?: string };
  };
  const pushes = message.payload?.data?.pushlog_pushes ?? [];
  const push = pushes.length === 1 ? pushes[0]!.pushid : undefined;
  return {
    routingKey: message._meta?.routing_key ?? EXAMPLE_REPO,
    type: message.payload?.type ?? 'unknown',
    ...(typeof push === 'number' ? { push } : {}),
  };
};

/**
 * Examples that do not overlap, so each one does visible work with the one store: the
 * worker takes the first push, the backfill all the others.
 */
const examples = (): Examples => {
  const pushlog = recordedFixtures().pushlog(EXAMPLE_REPO)!;
  const ids = Object.keys(pushlog.pushes)
    .map(Number)
    .sort((a, b) => a - b);
  const first = ids[0]!;
  const index = recordedPulse().findIndex((line) => {
    const message = readMessage(line);
    return message.type === 'changegroup.1' && message.push === first;
  });
  if (index < 0) throw new Error(`${PULSE_STREAM} has no message for push ${first}`);
  return {
    node: pushlog.pushes[String(first)]!.changesets[0]!.slice(0, 12),
    pulsePush: first,
    pulseLine: index + 1,
    backfill: [first, pushlog.lastpushid],
  };
};

// ---------------------------------------------------------------------------------------
// The HTTP stand-ins

type UpstreamName = 'hg' | 'bmo' | 'tmo';

/**
 * `startFixtures()` on the recorded fixtures, with hold of its three servers (to log their
 * requests) and, with `portBase`, on ports base, base+1, base+2. fixtureServer.ts listens
 * on port 0 and keeps its servers to itself, so `listen` is wrapped while it starts them
 * (it starts hg, Bugzilla, telemetry, in that order, one after the other).
 */
const startStandIns = async (
  portBase: number | undefined,
): Promise<{ fx: Fixtures; servers: Map<UpstreamName, Server> }> => {
  const proto = Server.prototype as { listen?: (...args: unknown[]) => Server };
  const ownListen = Object.hasOwn(proto, 'listen');
  const listen = proto.listen!;
  const started: Server[] = [];
  let refuse: (error: Error) => void = () => undefined;
  const refused = new Promise<never>((_resolve, reject) => (refuse = reject));
  refused.catch(() => undefined);
  proto.listen = function (this: Server, ...args: unknown[]): Server {
    started.push(this);
    if (portBase !== undefined && args[0] === 0) args[0] = portBase + started.length - 1;
    const port = String(args[0]);
    // fixtureServer.ts waits for 'listening' only: a port in use would hang it.
    const onError = (error: Error) =>
      refuse(new Error(`cannot listen on 127.0.0.1:${port}: ${describe(error)}`));
    this.once('error', onError);
    this.once('listening', () => this.off('error', onError));
    return listen.apply(this, args);
  };
  try {
    const fx = await Promise.race([startFixtures(), refused]);
    const byUrl = new Map<string, UpstreamName>([
      [fx.hg.url, 'hg'],
      [fx.bmo.url, 'bmo'],
      [fx.tmo.url, 'tmo'],
    ]);
    const servers = new Map<UpstreamName, Server>();
    for (const server of started) {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const name = byUrl.get(url);
      if (name !== undefined) servers.set(name, server);
    }
    if (servers.size !== 3) {
      await fx.close();
      throw new Error('startFixtures() no longer starts its three servers as expected');
    }
    return { fx, servers };
  } catch (error) {
    for (const server of started) if (server.listening) server.close();
    throw error;
  } finally {
    if (ownListen) proto.listen = listen;
    else delete proto.listen;
  }
};

/** One stderr line per answered request, and one per ping telemetry receives. */
const logTraffic = (fx: Fixtures, servers: Map<UpstreamName, Server>): void => {
  for (const [name, server] of servers) {
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const began = Date.now();
      response.on('close', () => {
        const answered = response.writableFinished ? response.statusCode : 'aborted';
        say(
          `${name.padEnd(3)} ${request.method} ${request.url} -> ${answered} (${Date.now() - began} ms)`,
        );
      });
    });
  }
  let pings = 0;
  const received = fx.tmo.received;
  const record = received.set.bind(received);
  received.set = (path: string, ping: unknown) => {
    pings += 1;
    say(`tmo ping #${pings}: ${describePing(fx.hg.url, ping)}`);
    return record(path, ping);
  };
};

const describePing = (hgUrl: string, ping: unknown): string => {
  const p = (typeof ping === 'object' && ping !== null ? ping : {}) as Record<string, unknown>;
  const node = typeof p.changesetID === 'string' ? p.changesetID.slice(0, 12) : '?';
  const repo = typeof p.repository === 'string' ? p.repository.replace(`${hgUrl}/`, '') : '?';
  const diff = p.diffstat as
    { changedFiles?: number; additions?: number; deletions?: number } | undefined;
  const stat =
    diff === undefined || diff === null
      ? ''
      : `, ${diff.changedFiles} file${diff.changedFiles === 1 ? '' : 's'} +${diff.additions} -${diff.deletions}`;
  return `${node} ${String(p.reviewSystemUsed ?? '?')} (${repo}${stat})`;
};

// ---------------------------------------------------------------------------------------
// RabbitMQ: an exchange and queues of the stand-in's own

interface Broker {
  readonly exchange: string;
  readonly queueName: string;
  /** The worker's names for `queueName`: every queue and exchange it declares from them. */
  readonly names: PulseNames;
}

const connectBroker = () => amqplib.connect(AMQP_URL, { timeout: 3000 });

const setUpBroker = async (id: string): Promise<Broker> => {
  const broker: Broker = {
    exchange: `${EXCHANGE_PREFIX}${id}`,
    queueName: `stand-in-${id}`,
    names: pulseNames(BROKER.username, `stand-in-${id}`),
  };
  const connection = await connectBroker();
  try {
    const channel = await connection.createChannel();
    await channel.assertExchange(broker.exchange, 'topic', { durable: false, autoDelete: false });
    // Exactly as the worker asserts it (streams/pulse/connection/topology.ts), or its assertion would fail.
    await channel.assertQueue(broker.names.queue, {
      durable: true,
      exclusive: false,
      autoDelete: false,
    });
    await channel.bindQueue(broker.names.queue, broker.exchange, '#');
  } finally {
    await connection.close().catch(() => undefined);
  }
  return broker;
};

/** Deletes what the stand-in declared and what the worker declared from its names. */
const tearDownBroker = async (broker: Broker): Promise<void> => {
  const connection = await connectBroker();
  const problems: string[] = [];
  const { queues, exchanges } = brokerEntities(broker.names);
  const deletions = [
    ...queues.map((name) => ({ name, queue: true })),
    ...[...exchanges, broker.exchange].map((name) => ({ name, queue: false })),
  ];
  try {
    for (const { name, queue } of deletions) {
      // A channel each: a refusal closes the channel it happened on.
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      try {
        await (queue ? channel.deleteQueue(name) : channel.deleteExchange(name));
        await channel.close();
      } catch (error) {
        problems.push(`${name}: ${describe(error)}`);
      }
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
  if (problems.length > 0) throw new Error(`could not delete ${problems.join('; ')}`);
};

// ---------------------------------------------------------------------------------------
// What is printed

const settingsAndExamples = (
  fx: Fixtures,
  database: string,
  dir: string,
  broker: Broker | string,
  gh?: GitHubStandIn,
): string => {
  const ex = examples();
  const repo = fx.repo(EXAMPLE_REPO);
  const env: [string, string][] = [
    ['BMO_API_URL', fx.env.BMO_API_URL!],
    ['TMO_BASE_URL', fx.env.TMO_BASE_URL!],
    ['ALLOWED_HOSTS', `${fx.env.ALLOWED_HOSTS!}${gh === undefined ? '' : ',github.com'}`],
    ...(gh === undefined ? [] : gitHubExamples(gh).env),
    ['DATABASE_URL', database],
  ];
  if (typeof broker !== 'string') {
    env.push(
      ['PULSE_HOST', BROKER.host],
      ['PULSE_PORT', String(BROKER.port)],
      ['PULSE_SSL', 'false'],
      ['PULSE_VHOST', '/'],
      ['PULSE_USERNAME', BROKER.username],
      ['PULSE_PASSWORD', BROKER.password],
      ['PULSE_EXCHANGE', broker.exchange],
      ['PULSE_QUEUE_NAME', broker.queueName],
      ['PULSE_QUEUE_ROUTING_KEY', '#'],
    );
  }
  const repos = recordedRepositories();
  const width = Math.max(...repos.map((r) => fx.repo(r.path).length));
  const lines = [
    ...env.map(([name, value]) => `export ${name}=${shellWord(value)}`),
    '#',
    '# Recorded repositories on the hg.mozilla.org stand-in:',
    ...repos.map((r) => `#   ${fx.repo(r.path).padEnd(width)}  pushes ${r.first}-${r.last}`),
    '#',
    '# With the lines above pasted (or this output sourced), from the checkout:',
    '# the ping of one changeset, printed on stdout; nothing is sent:',
    `#   npx dump-telemetry --target-repo ${repo} ${ex.node}`,
    `# pushes ${ex.backfill[0] + 1}-${ex.backfill[1]} from the pushlog, their pings sent to the telemetry stand-in:`,
    `#   npx backfill-pushlog --yes ${repo} ${ex.backfill[0]} ${ex.backfill[1]}`,
  ];
  if (typeof broker === 'string') {
    lines.push(
      `# (the worker is left out: RabbitMQ at ${BROKER.host}:${BROKER.port} did not answer: ${broker};`,
      '#  start it, with the guest account, and run the stand-in again)',
    );
  } else {
    lines.push(
      `# the worker: publish the recorded Pulse message of push ${ex.pulsePush}, then consume it:`,
      `#   npm run -s stand-in -- publish ${broker.exchange} ${fx.hg.url} ${ex.pulseLine}`,
      '#   npx process-queue-messages --timeout 5',
    );
  }
  const removed = typeof broker === 'string' ? dir : `${dir}, ${broker.exchange} and its queues`;
  lines.push(
    '# what the store knows now:',
    '#   npx telemetry-status --pushlog',
    ...(gh === undefined ? [] : gitHubExamples(gh).lines),
    '#',
    "# Requests and pings are logged on the stand-in's stderr.",
    `# Ctrl-C here stops the stand-in and removes ${removed}.`,
  );
  return `${lines.join('\n')}\n`;
};

// ---------------------------------------------------------------------------------------
// The two modes

const portBaseOf = (value: string | undefined): number | undefined => {
  if (value === undefined || value === '') return undefined;
  const base = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(base >= 1 && base <= 65533)) {
    quit(`--port-base (or STAND_IN_PORT_BASE) is a port from 1 to 65533: ${value}`, 2);
  }
  return base;
};

const serve = (portBase: number | undefined): void => {
  const id = randomBytes(4).toString('hex');
  let fx: Fixtures | undefined;
  let dir: string | undefined;
  let broker: Broker | undefined;
  let gh: GitHubStandIn | undefined;

  const cleanUp = async (): Promise<string[]> => {
    const problems: string[] = [];
    if (fx !== undefined) await fx.close().catch((e) => problems.push(`servers: ${describe(e)}`));
    await gh?.close().catch((e: unknown) => problems.push(`GitHub: ${describe(e)}`));
    if (broker !== undefined) {
      await tearDownBroker(broker).catch((e) => problems.push(`RabbitMQ: ${describe(e)}`));
    }
    if (dir !== undefined) {
      await rm(dir, { recursive: true, force: true }).catch((e) =>
        problems.push(`${dir}: ${describe(e)}`),
      );
    }
    return problems;
  };

  const setUp = async (): Promise<void> => {
    dir = await mkdtemp(join(tmpdir(), 'cts-stand-in-'));
    const standIns = await startStandIns(portBase);
    gh = await startGitHub();
    fx = standIns.fx;
    logTraffic(fx, standIns.servers);
    let brokerProblem = '';
    try {
      broker = await setUpBroker(id);
    } catch (error) {
      brokerProblem = describe(error);
      say(`RabbitMQ at ${BROKER.host}:${BROKER.port} did not answer (${brokerProblem}): no worker`);
    }
    const database = `sqlite:${join(dir, 'stand-in.sqlite')}`;
    process.stdout.write(settingsAndExamples(fx, database, dir, broker ?? brokerProblem, gh));
    say(
      `stand-in ready: hg.mozilla.org ${fx.hg.url}, Bugzilla ${fx.env.BMO_API_URL}, ` +
        `telemetry ${fx.env.TMO_BASE_URL}; Ctrl-C to stop`,
    );
  };

  let stopping = false;
  const setUpDone = setUp();
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    // Ctrl-C reaches npm and this process alike (npm passes it on too); one stop is enough.
    if (stopping) return;
    stopping = true;
    setTimeout(() => quit(`still cleaning up after ${STOP_DEADLINE_MS} ms`, 1), STOP_DEADLINE_MS);
    say(`${signal}: stopping`);
    await setUpDone.catch(() => undefined);
    const problems = await cleanUp();
    if (problems.length > 0) quit(`stopped, but: ${problems.join('; ')}`, 1);
    say(`stopped; removed ${[dir, broker?.exchange].filter(Boolean).join(' and ')}`);
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => void stop(signal));
  }
  // A reader that went away (`| head`) is no reason to stop serving.
  process.stdout.on('error', () => undefined);
  setUpDone.catch(async (error: unknown) => {
    if (stopping) return;
    stopping = true;
    await cleanUp();
    quit(describe(error), 1);
  });
};

const publish = async (exchange: string, hgUrl: string, lineArg: string | undefined) => {
  if (!exchange.startsWith(EXCHANGE_PREFIX)) {
    quit(`publishes only to a stand-in's exchange (${EXCHANGE_PREFIX}...), not ${exchange}`, 2);
  }
  if (!/^http:\/\/[^/]+$/.test(hgUrl)) quit(`HG_URL is http://HOST:PORT, not ${hgUrl}`, 2);
  const recorded = recordedPulse();
  const number = lineArg === undefined ? 1 : Number(lineArg);
  if (!Number.isInteger(number) || number < 1 || number > recorded.length) {
    quit(`LINE is a line of ${PULSE_STREAM}, from 1 to ${recorded.length}`, 2);
  }
  const body = recorded[number - 1]!.replaceAll('https://hg.mozilla.org', hgUrl);
  const message = readMessage(body);
  const connection = await connectBroker().catch((error: unknown) =>
    quit(`cannot reach RabbitMQ at ${BROKER.host}:${BROKER.port}: ${describe(error)}`, 1),
  );
  try {
    const channel = await connection.createConfirmChannel();
    channel.on('error', () => undefined);
    await channel.checkExchange(exchange).catch(() => {
      throw new Error(`${exchange} does not exist: is the stand-in that printed it running?`);
    });
    let returned = false;
    channel.on('return', () => (returned = true));
    channel.publish(exchange, message.routingKey, Buffer.from(body), {
      persistent: true,
      contentType: 'application/json',
      mandatory: true,
    });
    await channel.waitForConfirms();
    if (returned) throw new Error(`no queue is bound to ${exchange}; nothing was published`);
  } catch (error) {
    await connection.close().catch(() => undefined);
    quit(describe(error), 1);
  }
  await connection.close().catch(() => undefined);
  const what = message.push === undefined ? message.type : `${message.type}, push ${message.push}`;
  process.stderr.write(
    `${NAME}: published line ${number} of fixtures/pulse/autoland.ndjson (${what}) to ` +
      `${exchange}, routing key ${message.routingKey}\n`,
  );
};

const commandLine = () => {
  try {
    return parseArgs({
      options: { 'port-base': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    });
  } catch (error) {
    return quit(`${describe(error)}\n${USAGE}`, 2);
  }
};

const main = (): void => {
  const parsed = commandLine();
  const { values, positionals } = parsed;
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const [command, ...rest] = positionals;
  if (command === undefined) {
    return serve(portBaseOf(values['port-base'] ?? process.env.STAND_IN_PORT_BASE));
  }
  if (command === 'publish' && rest.length >= 2 && rest.length <= 3) {
    const [exchange, hgUrl, line] = rest as [string, string, string | undefined];
    publish(exchange, hgUrl, line).catch((error: unknown) => quit(describe(error), 1));
    return;
  }
  quit(USAGE, 2);
};

main();
