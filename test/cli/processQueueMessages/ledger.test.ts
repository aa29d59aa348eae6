/**
 * The ledger in the built commands: workers (and a backfill) as separate processes sharing
 * one PostgreSQL database, against the real broker, while processes die, the broker drops
 * connections and the database goes away. Each test has a database of its own (created for
 * this run, dropped at the end), its own queue, routing key and fixture servers.
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import pg from 'pg';
import type { StatusDocument } from '../../../src/cli/telemetryStatus/statusReport.js';
import { documentId } from '../../../src/rules/ping.js';
import { openStore } from '../../../src/state/index.js';
import { pulseNames, type PulseNames } from '../../../streams/pulse/connection/names.js';
import type { Harness } from '../../state/support/harness.js';
import { postgresHarness } from '../../state/support/postgresHarness.js';
import {
  Admin,
  BROKER,
  createPulseUser,
  queueCounts,
  type PulseUser,
  removeTestBroker,
} from '../../support/broker.js';
import { runCommand, startCommand, type Running } from '../../support/cli.js';
import { startFixtures, type Fixtures } from '../../support/standIns/fixtureServer.js';
import { changegroupMessage } from '../../support/data/messages.js';
import { syntheticFixtures } from '../../support/data/syntheticFixtures.js';
import { sleep, until } from '../../support/wait.js';

interface Context {
  harness: Harness;
  /** The broker as the workers reach it: see the first test. */
  brokerLink: SlowLink;
  user: PulseUser;
  admin: Admin;
  queues: string[];
}
const test = anyTest as TestFn<Context>;
type T = ExecutionContext<Context>;

const REPO = 'integration/autoland';
const SUBMIT = 'PUT /submit/eng-workflow/hgpush/1/';
const ADMIN_DB = 'postgres://postgres@127.0.0.1:5432/postgres';

interface SlowLink {
  readonly port: number;
  close(): void;
}

/**
 * A TCP relay to 127.0.0.1:`port` that holds each new connection for `delayMs` before
 * relaying it, as a server far away would; what the client sends meanwhile waits.
 */
const slowLink = async (port: number, delayMs: number): Promise<SlowLink> => {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    return socket;
  };
  const server = createServer((client) => {
    track(client).pause();
    setTimeout(() => {
      if (client.destroyed) return;
      const upstream = track(connect(port, '127.0.0.1'));
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      for (const socket of [client, upstream]) socket.on('error', end).on('close', end);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    }, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () => {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
};

test.before(async (t) => {
  // Workaround for the start-up race shown by the first test: the broker's answer comes
  // after the store is open, as it does from a Pulse far away.
  t.context.brokerLink = await slowLink(BROKER.port, 1_500);
  t.context.harness = await postgresHarness();
  t.context.user = await createPulseUser();
  t.context.admin = await Admin.connect();
  t.context.queues = [];
});

test.after.always(async (t) => {
  // The worker declares more than its queue and failed queue (delay queues, exchanges).
  await removeTestBroker(t.context.admin, t.context.user, { queues: t.context.queues });
  await t.context.harness?.teardown();
  t.context.brokerLink?.close();
});

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A run of SQL on the server's own database, for what cannot be done from inside one. */
const onServer = async (sql: string): Promise<Record<string, unknown>[]> => {
  const client = new pg.Client({ connectionString: ADMIN_DB });
  await client.connect();
  try {
    return (await client.query(sql)).rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
};

/**
 * Everything one test needs: fixtures, a database, a queue, and a publisher for its pushes.
 * `user`: a Pulse user of the test's own, for a test that kills its user's connections (the
 * file's user is every other test's too, and they run at the same time).
 */
const setup = async (t: T, name: string, pushes: number, latencyMs = 0, user?: PulseUser) => {
  const pulseUser = user ?? t.context.user;
  const data = syntheticFixtures({ pushes });
  const fx: Fixtures = await startFixtures({ data, latencyMs });
  t.teardown(() => fx.close());
  const target = await t.context.harness.fresh();
  if (target.engine !== 'postgres') throw new Error('expected PostgreSQL');
  const database = new URL(target.url).pathname.slice(1);
  const queueName = `${name}-${randomBytes(3).toString('hex')}`;
  const routingKey = `test/${queueName}`;
  const names = pulseNames(pulseUser.username, queueName);
  t.context.queues.push(names.queue, names.failedQueue);
  // The worker pauses while its store is down, and its probe finds it back: every second here.
  const store = { DATABASE_URL: target.url, CLAIM_LEASE_SECONDS: '5', BREAKER_PROBE_SECONDS: '1' };
  const env = {
    ...pulseUser.env(queueName, routingKey),
    PULSE_PORT: String(t.context.brokerLink.port),
    ...fx.env,
    ...store,
  };
  const repo = fx.repo(REPO);
  const running: Running[] = [];
  // Whatever a failed test leaves running is killed, so the run ends and the database drops.
  t.teardown(() => running.forEach((r) => r.child.exitCode === null && r.child.kill('SIGKILL')));
  return {
    data,
    fx,
    target,
    database,
    names,
    env,
    repo,
    storeEnv: { ...fx.env, ...store },
    publish: async (ids: number[]) => {
      for (const id of ids) await t.context.admin.publish(routingKey, changegroupMessage(repo, id));
    },
    /** Starts a worker and waits until it consumes, so that what is published is kept. */
    startWorker: async (args: string[] = []) => {
      const worker = startCommand('processQueueMessages', args, env);
      running.push(worker);
      await worker.stderrIncludes('"msg":"consuming"', 20_000);
      return worker;
    },
    /** PUT requests telemetry received for a changeset. */
    puts: (node: string) =>
      fx.tmo.requests.filter((r) => r === `${SUBMIT}${documentId(repo, node)}`).length,
    ledger: async () =>
      (await t.context.harness.query(target, 'SELECT node FROM ledger')).map(
        (r) => r.node as string,
      ),
    claims: async () => await t.context.harness.query(target, 'SELECT node, owner FROM claims'),
  };
};

type Line = Record<string, unknown> & { action?: string; push?: number; time?: string };
const settlements = (stderr: string): Line[] =>
  stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Line)
    .filter((line) => line.action !== undefined);

/** Polls the broker (slow: rabbitmqctl) until a queue holds nothing, ready or unacked. */
const untilQueueEmpty = async (queue: string, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { ready, unacked } = await queueCounts(queue);
    if (ready + unacked === 0) return;
    if (Date.now() > deadline) throw new Error(`${queue}: ${ready} ready, ${unacked} unacked`);
    await sleep(300);
  }
};

const stop = async (t: T, ...workers: Running[]) => {
  for (const w of workers) w.child.kill('SIGTERM');
  for (const w of workers) t.is((await w.finished).code, 0, w.stderr().slice(-2000));
};

/**
 * A worker that reaches the broker directly and its store through a link that holds each new
 * connection `delayMs`: a store slow to open.
 */
const startWithSlowStore = async (
  t: T,
  s: Awaited<ReturnType<typeof setup>>,
  delayMs: number,
  args: string[] = [],
) => {
  const pgLink = await slowLink(5432, delayMs);
  t.teardown(() => pgLink.close());
  const url = new URL(s.target.url);
  url.port = String(pgLink.port);
  const worker = startCommand('processQueueMessages', args, {
    ...s.env,
    PULSE_PORT: String(BROKER.port),
    DATABASE_URL: url.href,
  });
  t.teardown(() => worker.child.kill('SIGKILL'));
  return worker;
};

// The source starts connecting to the broker in its constructor, before the store is
// opened; a store slower to open than the broker connection must not keep it from consuming.
test('a worker whose store opens after the broker connection was made starts consuming', async (t) => {
  const s = await setup(t, 'slowstore', 1);
  const worker = await startWithSlowStore(t, s, 1_000);
  await until(
    'the broker connection',
    () => worker.stderr().includes('"msg":"connected to Pulse"'),
    10_000,
  );
  // Every new connection through the slow link waits 1 s, and opening the store makes a few:
  // a loaded machine has taken more than 8 s.
  await until('consuming', () => worker.stderr().includes('"msg":"consuming"'), 20_000).catch(
    () => undefined,
  );
  t.log(
    worker
      .stderr()
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { msg: string }).msg)
      .join(' / '),
  );
  t.true(worker.stderr().includes('"msg":"consuming"'), worker.stderr());
});

test('--timeout counts from consuming: a store slow to open does not use up the idle time', async (t) => {
  const s = await setup(t, 'slowidle', 1);
  // Each connection to PostgreSQL waits 2.5 s: the store opens well after the 2 s timeout.
  const worker = await startWithSlowStore(t, s, 2_500, ['--timeout', '2']);
  await worker.stderrIncludes('"msg":"consuming"', 60_000);
  // Counted from the start, the timeout would have run out already: the worker would stop
  // within 50 ms of consuming, before this message.
  await sleep(300);
  await s.publish([1]);
  const done = await worker.finished;
  t.is(done.code, 0, done.stderr);
  t.true(
    settlements(done.stderr).some((l) => l.push === 1 && l.action === 'ack'),
    done.stderr,
  );
  t.is(s.puts(s.data.nodes(1)[0]!), 1);
});

test('two workers sharing PostgreSQL, connections dropped, one SIGKILLed and restarted: every ping arrives, duplicates only from what the killed one had in flight', async (t) => {
  const PUSHES = 40;
  const PER_PUSH = 3;
  const PREFETCH = 4;
  // Its connections are dropped: a user of its own, so that no other test's are. Removed
  // last (teardowns run in reverse), once setup's have stopped the workers.
  const user = await createPulseUser();
  const declared: PulseNames[] = [];
  t.teardown(async () => {
    await t.context.admin.removeWorkerObjects(...declared);
    await user.remove();
  });
  const s = await setup(t, 'fleet', PUSHES, 20, user);
  declared.push(s.names);
  const args = ['--prefetch', String(PREFETCH)];
  const a = await s.startWorker(args);
  const b = await s.startWorker(args);
  await s.publish(range(1, PUSHES));
  const nodes = range(1, PUSHES).flatMap((id) => s.data.nodes(id));
  await until('a third of the pings', () => s.fx.tmo.received.size >= nodes.length / 3, 30_000);
  await user.killConnections();
  a.child.kill('SIGKILL');
  await a.finished;
  const restarted = await s.startWorker(args);
  await until('every ping', () => nodes.every((node) => s.puts(node) > 0), 45_000);
  // The killed worker's claims lapse after their lease (5 s); what it sent but did not record
  // is then sent again, and its messages, requeued by the broker, are acked by the others.
  await untilQueueEmpty(s.names.queue, 30_000);
  await stop(t, b, restarted);

  const puts = nodes.map(s.puts);
  t.true(puts.every((n) => n >= 1));
  // A ping is sent twice only when its sender died after telemetry accepted it and before
  // the ledger had it: at most what the killed worker had in flight, which its prefetch
  // bounds at PREFETCH messages of PER_PUSH changesets each (the connection kill right
  // before the SIGKILL left it no time to take more: reconnecting waits 5 s).
  const duplicates = puts.reduce((x, y) => x + y, 0) - nodes.length;
  t.log(`duplicates: ${duplicates} (bound ${PREFETCH * PER_PUSH})`);
  t.true(duplicates <= PREFETCH * PER_PUSH, `${duplicates} duplicates`);
  t.deepEqual((await s.ledger()).sort(), [...nodes].sort());
  t.deepEqual(await s.claims(), []);
  t.is(await t.context.admin.depth(s.names.failedQueue), 0);

  // telemetry-status on the same database tells the same story.
  const status = await runCommand('telemetryStatus', ['--json'], s.storeEnv);
  t.is(status.code, 0, status.stderr);
  const doc = JSON.parse(status.stdout) as StatusDocument;
  t.deepEqual(doc.claims, { held: 0, expired: 0 });
  t.is(doc.repositories.length, 1);
  const [repository] = doc.repositories;
  t.is(repository!.repository, s.repo);
  t.is(repository!.watermark, PUSHES);
  t.is(
    Object.values(repository!.sentLast7Days).reduce((x, y) => x + y, 0),
    nodes.length,
  );
});

test('a claim whose lease ran out is taken over: the worker sends the ping', async (t) => {
  const s = await setup(t, 'takeover', 2);
  const [node] = s.data.nodes(1) as [string];
  // A worker that died holding the claim: its clock puts the lease a minute in the past.
  const dead = await openStore(s.target, {
    leaseSeconds: 5,
    owner: 'dead-worker',
    now: () => Date.now() - 60_000,
  });
  t.teardown(() => dead.close().catch(() => undefined));
  t.is(await dead.claim({ repository: s.repo, node }), 'claimed');
  const before = await runCommand('telemetryStatus', ['--json'], s.storeEnv);
  t.deepEqual((JSON.parse(before.stdout) as StatusDocument).claims, { held: 0, expired: 1 });

  const worker = await s.startWorker(['--timeout', '3']);
  await s.publish([1]);
  const result = await worker.finished;
  t.is(result.code, 0, result.stderr);
  t.deepEqual(
    settlements(result.stderr).map((l) => [l.push, l.action]),
    [[1, 'ack']],
  );
  t.deepEqual(s.data.nodes(1).map(s.puts), [1, 1, 1]);
  t.deepEqual((await s.ledger()).sort(), [...s.data.nodes(1)].sort());
  t.deepEqual(await s.claims(), []);
});

test('a message whose changeset another live process holds is deferred, not acked, and completes once the claim is released', async (t) => {
  const s = await setup(t, 'defer', 3);
  const [first, held, last] = s.data.nodes(2) as [string, string, string];
  // Another live process: its store renews the claim every third of the 5 s lease.
  const holder = await openStore(s.target, { leaseSeconds: 5, owner: 'live-holder' });
  t.teardown(() => holder.close().catch(() => undefined));
  t.is(await holder.claim({ repository: s.repo, node: held }), 'claimed');

  const worker = await s.startWorker();
  await s.publish([2]);
  await until('a deferral', () => worker.stderr().includes('"action":"defer"'), 15_000);
  t.is(s.puts(first), 1);
  t.is(s.puts(last), 1);
  t.is(s.puts(held), 0);
  const { ready, unacked } = await queueCounts(s.names.queue);
  t.true(ready + unacked === 1, `ready ${ready}, unacked ${unacked}`);
  // Past a whole lease: the renewed claim still holds it off.
  await sleep(6_000);
  t.is(s.puts(held), 0);
  const waiting = settlements(worker.stderr()).filter((l) => l.push === 2);
  t.true(
    // Deferred (or, its channel gone meanwhile, handed back): never acked while held.
    waiting.some((l) => l.action === 'defer') && waiting.every((l) => l.action !== 'ack'),
    worker.stderr(),
  );

  await holder.release({ repository: s.repo, node: held });
  await until(
    'the ack',
    () => settlements(worker.stderr()).some((l) => l.push === 2 && l.action === 'ack'),
    15_000,
  ).catch((error: unknown) => {
    t.log(worker.stderr());
    throw error;
  });
  await stop(t, worker);
  t.deepEqual([first, held, last].map(s.puts), [1, 1, 1]);
  t.deepEqual((await s.ledger()).sort(), [first, held, last].sort());
  t.deepEqual(await s.claims(), []);
  t.is(await t.context.admin.depth(s.names.queue), 0);
});

test('a backfill run with the worker on the same database over the same pushes sends each ping once', async (t) => {
  const PUSHES = 20;
  const s = await setup(t, 'backfill', PUSHES, 10);
  const worker = await s.startWorker();
  // The worker from the newest push, the backfill from the oldest: they meet in the middle.
  const publishing = s.publish(range(1, PUSHES).reverse());
  const backfill = await runCommand(
    'backfillPushlog',
    ['--yes', s.repo, '0', String(PUSHES)],
    s.storeEnv,
  );
  await publishing;
  t.is(backfill.code, 0, backfill.stderr.slice(-2000));
  await until(
    'every push acked',
    () =>
      new Set(
        settlements(worker.stderr())
          .filter((l) => l.action === 'ack')
          .map((l) => l.push),
      ).size === PUSHES,
    30_000,
  );
  await stop(t, worker);
  const nodes = range(1, PUSHES).flatMap((id) => s.data.nodes(id));
  t.deepEqual(
    nodes.map(s.puts),
    nodes.map(() => 1),
  );
  t.deepEqual((await s.ledger()).sort(), [...nodes].sort());
  t.deepEqual(await s.claims(), []);
});

test('a database cut off while messages are processed: nothing is acked that is not in the ledger, and every push completes once it is back', async (t) => {
  const PUSHES = 10;
  const s = await setup(t, 'dbgone', PUSHES, 20);
  const workers = [await s.startWorker()];
  const stderr = () => workers.map((w) => w.stderr()).join('\n');
  await s.publish(range(1, PUSHES));
  await until('some pings', () => s.fx.tmo.received.size >= 3, 15_000);
  // Nobody may connect, and the worker's connections are cut. The outage starts once both
  // statements are done: on a loaded machine they take a while, and a write the worker
  // committed meanwhile may be followed by its ack.
  await onServer(`ALTER DATABASE ${s.database} ALLOW_CONNECTIONS false`);
  await onServer(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${s.database}'`,
  );
  const downAt = Date.now();
  await sleep(3_000);
  const upAt = Date.now();
  await onServer(`ALTER DATABASE ${s.database} ALLOW_CONNECTIONS true`);
  // It must survive it (see the last test); if not, it is restarted as Heroku would, so the
  // rest still shows what was lost, and the test fails.
  const crashed = workers[0]!.child.exitCode !== null;
  t.false(crashed, 'the worker survived its database going away');
  if (crashed) {
    t.log(
      `the worker died: ${/Unhandled 'error' event[^\n]*\n\s*\^?\s*\n?([^\n]*)/.exec(stderr())?.[1]}`,
    );
    workers.push(await s.startWorker());
  }

  // Every message is acked or parked: the workers are done with all they were given.
  const last = () => {
    const byPush = new Map<number, string>();
    for (const l of settlements(stderr())) byPush.set(l.push!, l.action!);
    return byPush;
  };
  await until(
    'every push acked or parked',
    () => last().size === PUSHES && [...last().values()].every((a) => a === 'ack' || a === 'park'),
    // A failure may wait in a delay queue before it is tried again (30 s).
    45_000,
  ).catch((error: Error) => {
    throw new Error(`${error.message}: ${JSON.stringify([...last()])}\n${stderr()}`);
  });
  await untilQueueEmpty(s.names.queue, 20_000);
  await stop(t, ...workers.filter((w) => w.child.exitCode === null));
  const acked = settlements(stderr()).filter((l) => l.action === 'ack');
  // None acked while the database was away (the margin: an ack follows its last write at once).
  t.deepEqual(
    acked.filter((l) => Date.parse(l.time!) > downAt + 500 && Date.parse(l.time!) < upAt),
    [],
  );
  const ledger = new Set(await s.ledger());
  for (const l of acked) {
    t.true(
      s.data.nodes(l.push!).every((node) => ledger.has(node)),
      `push ${l.push} acked`,
    );
  }
  // Every ping telemetry accepted is in the ledger: none would be sent again.
  const nodes = range(1, PUSHES).flatMap((id) => s.data.nodes(id));
  t.deepEqual(
    nodes.filter((node) => s.puts(node) > 0 && !ledger.has(node)),
    [],
  );

  // What was parked while the database was away completes when replayed.
  const parked = [...last()].filter(([, a]) => a === 'park').map(([p]) => p);
  t.log(`acked ${acked.length}, parked ${parked.length}: ${parked.join(', ')}`);
  t.is(await t.context.admin.depth(s.names.failedQueue), parked.length);
  if (parked.length > 0) {
    const replay = await runCommand('processQueueMessages', ['--replay-failed'], s.env);
    t.is(replay.code, 0, replay.stderr.slice(-2000));
    t.deepEqual(
      settlements(replay.stderr)
        .map((l) => [l.push, l.action])
        .sort(),
      parked.map((p) => [p, 'ack']).sort(),
    );
  }
  // Once each; but a worker that died after telemetry accepted a ping and before the ledger
  // had it sends that one again after its restart.
  const puts = nodes.map(s.puts);
  t.true(puts.every((n) => n >= 1));
  if (!crashed)
    t.deepEqual(
      puts,
      nodes.map(() => 1),
    );
  else t.log(`duplicates after the crash: ${puts.reduce((x, y) => x + y, 0) - nodes.length}`);
  t.deepEqual((await s.ledger()).sort(), [...nodes].sort());
  t.is(await t.context.admin.depth(s.names.failedQueue), 0);
});

test('a database away while messages arrive: none is acked, none is sent, and all complete once it is back', async (t) => {
  const s = await setup(t, 'dbaway', 6);
  const worker = await s.startWorker();
  const actions = (push: number, stderr = worker.stderr()) =>
    settlements(stderr)
      .filter((l) => l.push === push)
      .map((l) => l.action);
  await s.publish([1, 2]);
  await until('pushes 1 and 2 acked', () => actions(1)[0] === 'ack' && actions(2)[0] === 'ack');
  // With nothing in flight the worker's connections are idle in its pool when they are cut.
  await onServer(`ALTER DATABASE ${s.database} ALLOW_CONNECTIONS false`);
  await onServer(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${s.database}'`,
  );
  await s.publish([3, 4, 5]);
  // The worker either tries them and fails on the store, or has already found the store down
  // (its liveness read) and paused, so that they wait in the queue: both keep them unacked.
  await until(
    'pushes 3 to 5 tried, or consuming paused for the store',
    () =>
      [3, 4, 5].every((p) => actions(p).length > 0) ||
      (worker.stderr().includes('store is down') &&
        worker.stderr().includes('pausing: messages wait in the queue')),
    15_000,
  );
  await sleep(1_000);
  t.is(worker.child.exitCode, null);
  t.deepEqual(
    [3, 4, 5].map((p) => actions(p).filter((a) => a === 'ack')),
    [[], [], []],
  );
  t.deepEqual([3, 4, 5].flatMap((p) => s.data.nodes(p)).map(s.puts), Array(9).fill(0));
  await onServer(`ALTER DATABASE ${s.database} ALLOW_CONNECTIONS true`);
  await s.publish([6]);
  // Back to work takes the store's next probe (BREAKER_PROBE_SECONDS 1 here; up to 16 times
  // that if the store flapped), consuming again and the push's own work: 0.7-3 s under a
  // four-file load here. A CI run once took over 15 s, for a reason not found; the worker's
  // log is printed if the push never comes, to find it next time.
  await until('push 6 acked', () => actions(6)[0] === 'ack', 45_000).catch((error: unknown) => {
    t.log(worker.stderr().slice(-6000));
    throw error;
  });
  // Parked at once (a transient failure is requeued once, then parked), or tried again from
  // a delay queue (30 s) and acked: either way the worker is done with them.
  const done = (p: number) => ['ack', 'park'].includes(actions(p).at(-1) ?? '');
  await until('pushes 3 to 5 acked or parked', () => [3, 4, 5].every(done), 45_000);
  await stop(t, worker);
  const parked = [3, 4, 5].filter((p) => actions(p).at(-1) === 'park');
  t.log(`parked while the database was away: ${parked.join(', ') || 'none'}`);
  t.is(await t.context.admin.depth(s.names.failedQueue), parked.length);
  if (parked.length > 0) {
    const replay = await runCommand('processQueueMessages', ['--replay-failed'], s.env);
    t.is(replay.code, 0, replay.stderr.slice(-2000));
    t.deepEqual(
      parked.map((p) => actions(p, replay.stderr)),
      parked.map(() => ['ack']),
    );
  }
  const nodes = range(1, 6).flatMap((id) => s.data.nodes(id));
  t.deepEqual(nodes.map(s.puts), Array(18).fill(1));
  t.deepEqual((await s.ledger()).sort(), [...nodes].sort());
  t.is(await t.context.admin.depth(s.names.failedQueue), 0);
  // Every push settled: the watermark passed over them all.
  const status = await runCommand('telemetryStatus', ['--json'], s.storeEnv);
  const doc = JSON.parse(status.stdout) as StatusDocument;
  t.is(doc.repositories[0]?.watermark, 6);
  t.deepEqual(doc.claims, { held: 0, expired: 0 });
});

// A client checked out between two statements (a write transaction of recordSent,
// pushSettled or startWatermark) emits 'error' when the server ends the connection
// (pg_terminate_backend, a restart, a failover): without a listener on every client the
// worker would die. Here the worker is stopped (SIGSTOP) at an instant one of its
// transactions is open, its connections are ended, and it is let go on.
test('the worker survives PostgreSQL ending its connections in the middle of a transaction', async (t) => {
  // Enough pushes that the worker is still settling them (a transaction each) while we look:
  // its other writes are single statements.
  const s = await setup(t, 'pgcut', 150);
  const worker = await s.startWorker();
  await s.publish(range(1, 150));
  await until('some pings', () => s.fx.tmo.received.size >= 3, 15_000);
  const pid = worker.child.pid!;
  let caught = false;
  for (let attempt = 0; attempt < 1000 && !caught && worker.child.exitCode === null; attempt++) {
    process.kill(pid, 'SIGSTOP');
    try {
      const open = await onServer(
        `SELECT pid FROM pg_stat_activity WHERE datname = '${s.database}' AND state = 'idle in transaction'`,
      );
      if (open.length > 0) {
        await onServer(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${s.database}'`,
        );
        caught = true;
      }
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  }
  // Not caught: nothing shown either way (a failure, as expected, rather than a false alarm).
  if (!caught) t.fail('no transaction of the worker was caught open');
  await sleep(2_000);
  t.log(
    `caught ${caught}, exit ${worker.child.exitCode}: ${/^error: .*$/m.exec(worker.stderr())?.[0]}`,
  );
  t.is(worker.child.exitCode, null, worker.stderr().slice(-1500));
  if (worker.child.exitCode === null) await stop(t, worker);
});
