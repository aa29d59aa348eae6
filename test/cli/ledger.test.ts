/**
 * The ledger in the built commands: workers (and a backfill) as separate processes sharing
 * one PostgreSQL database, against the real broker, while processes die, the broker drops
 * connections and the database goes away. Each test has a database of its own (created for
 * this run, dropped at the end), its own queue, routing key and fixture servers.
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { StatusDocument } from '../../src/cli/statusReport.js';
import { documentId } from '../../src/rules/ping.js';
import { openStore } from '../../src/state/index.js';
import { pulseNames } from '../../streams/pulseNames.js';
import type { Harness } from '../state/harness.js';
import { postgresHarness } from '../state/postgresHarness.js';
import { Admin, createPulseUser, queueCounts, type PulseUser } from '../support/broker.js';
import { runCommand, startCommand, type Running } from '../support/cli.js';
import { startFixtures, type Fixtures } from '../support/fixtureServer.js';
import { changegroupMessage } from '../support/messages.js';
import { syntheticFixtures } from '../support/syntheticFixtures.js';
import { sleep, until } from '../support/wait.js';

interface Context {
  harness: Harness;
  user: PulseUser;
  admin: Admin;
  queues: string[];
}
const test = anyTest as TestFn<Context>;
type T = ExecutionContext<Context>;

const REPO = 'integration/autoland';
const SUBMIT = 'PUT /submit/eng-workflow/hgpush/1/';
const ADMIN_DB = 'postgres://postgres@127.0.0.1:5432/postgres';

test.before(async (t) => {
  t.context.harness = await postgresHarness();
  t.context.user = await createPulseUser();
  t.context.admin = await Admin.connect();
  t.context.queues = [];
});

test.after.always(async (t) => {
  await t.context.admin?.deleteQueues(...t.context.queues);
  await t.context.admin?.close();
  await t.context.user?.remove();
  await t.context.harness?.teardown();
});

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A run of SQL on the server's own database, for what cannot be done from inside one. */
const onServer = async (sql: string): Promise<void> => {
  const client = new pg.Client({ connectionString: ADMIN_DB });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
};

/** Everything one test needs: fixtures, a database, a queue, and a publisher for its pushes. */
const setup = async (t: T, name: string, pushes: number, latencyMs = 0) => {
  const data = syntheticFixtures({ pushes });
  const fx: Fixtures = await startFixtures({ data, latencyMs });
  t.teardown(() => fx.close());
  const target = await t.context.harness.fresh();
  if (target.engine !== 'postgres') throw new Error('expected PostgreSQL');
  const database = new URL(target.url).pathname.slice(1);
  const queueName = `${name}-${randomBytes(3).toString('hex')}`;
  const routingKey = `test/${queueName}`;
  const names = pulseNames(t.context.user.username, queueName);
  t.context.queues.push(names.queue, names.failedQueue);
  const store = { DATABASE_URL: target.url, CLAIM_LEASE_SECONDS: '5' };
  const env = { ...t.context.user.env(queueName, routingKey), ...fx.env, ...store };
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
      await until(
        'the worker to consume',
        () => worker.stderr().includes('"msg":"consuming"'),
        20_000,
      );
      return worker;
    },
    /** PUT requests telemetry received for a changeset. */
    puts: (node: string) =>
      fx.tmo.requests.filter((r) => r === `${SUBMIT}${documentId(node)}`).length,
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

test('two workers sharing PostgreSQL, connections dropped, one SIGKILLed and restarted: every ping arrives, duplicates only from what the killed one had in flight', async (t) => {
  const PUSHES = 40;
  const PER_PUSH = 3;
  const PREFETCH = 4;
  const s = await setup(t, 'fleet', PUSHES, 20);
  const args = ['--prefetch', String(PREFETCH)];
  const a = await s.startWorker(args);
  const b = await s.startWorker(args);
  await s.publish(range(1, PUSHES));
  const nodes = range(1, PUSHES).flatMap((id) => s.data.nodes(id));
  await until('a third of the pings', () => s.fx.tmo.received.size >= nodes.length / 3, 30_000);
  await t.context.user.killConnections();
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
  t.is(await dead.claim(node, s.repo), 'claimed');
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
  t.is(await holder.claim(held, s.repo), 'claimed');

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
  const waiting = settlements(worker.stderr());
  t.true(waiting.length >= 2 && waiting.every((l) => l.action === 'defer' && l.push === 2));

  await holder.release(held);
  await until(
    'the ack',
    () => settlements(worker.stderr()).some((l) => l.action === 'ack'),
    15_000,
  );
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

test('a database that goes away mid-run: nothing is acked that is not in the ledger, and every push completes once it is back', async (t) => {
  const PUSHES = 10;
  const s = await setup(t, 'dbgone', PUSHES, 20);
  const worker = await s.startWorker();
  await s.publish(range(1, PUSHES));
  await until('some pings', () => s.fx.tmo.received.size >= 3, 15_000);
  // Nobody may connect, and the worker's connections are cut.
  const downAt = Date.now();
  await onServer(`ALTER DATABASE ${s.database} ALLOW_CONNECTIONS false`);
  await onServer(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${s.database}'`,
  );
  await sleep(3_000);
  const upAt = Date.now();
  await onServer(`ALTER DATABASE ${s.database} ALLOW_CONNECTIONS true`);

  // Every message is acked or parked: the worker is done with all it was given.
  const last = () => {
    const byPush = new Map<number, string>();
    for (const l of settlements(worker.stderr())) byPush.set(l.push!, l.action!);
    return byPush;
  };
  await until(
    'every push acked or parked',
    () => last().size === PUSHES && [...last().values()].every((a) => a === 'ack' || a === 'park'),
    30_000,
  );
  await untilQueueEmpty(s.names.queue, 20_000);
  await stop(t, worker);
  const lines = settlements(worker.stderr());
  const acked = lines.filter((l) => l.action === 'ack');
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
  const sent = range(1, PUSHES)
    .flatMap((id) => s.data.nodes(id))
    .filter((n) => s.puts(n) > 0);
  t.deepEqual(
    sent.filter((node) => !ledger.has(node)),
    [],
  );

  // What was parked while the database was away completes when replayed.
  const parked = [...last()].filter(([, a]) => a === 'park').map(([p]) => p);
  t.log(`acked ${acked.length}, parked ${parked.length}: ${parked.join(', ')}`);
  t.is(await t.context.admin.depth(s.names.failedQueue), parked.length);
  const replay = await runCommand('processQueueMessages', ['--replay-failed'], s.env);
  t.is(replay.code, 0, replay.stderr.slice(-2000));
  t.deepEqual(
    settlements(replay.stderr)
      .map((l) => [l.push, l.action])
      .sort(),
    parked.map((p) => [p, 'ack']).sort(),
  );
  const nodes = range(1, PUSHES).flatMap((id) => s.data.nodes(id));
  t.deepEqual(
    nodes.map(s.puts),
    nodes.map(() => 1),
  );
  t.deepEqual((await s.ledger()).sort(), [...nodes].sort());
  t.is(await t.context.admin.depth(s.names.failedQueue), 0);
});
