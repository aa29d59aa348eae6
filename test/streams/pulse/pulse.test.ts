import anyTest, { type TestFn } from 'ava';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pulseNames, type PulseNames } from '../../../streams/pulse/connection/names.js';
import { verdictFor, type RetryContext } from '../../../streams/pulse/verdict.js';
import { PulseSource, type PulseOptions } from '../../../streams/pulse/source.js';
import { PulseSettings } from '../../../src/codecs/settings.js';
import { readSettings } from '../../../src/config.js';
import type { Job } from '../../../src/pipeline/job.js';
import { PipelineError } from '../../../src/errors.js';
import { configureLog } from '../../../src/log.js';
import type { JobOutcome } from '../../../src/pipeline/job.js';
import { MemorySink } from '../../../src/sinks/memory.js';
import { Admin, createPulseUser, type PulseUser } from '../../support/broker.js';
import { FIXTURES_DIR } from '../../support/data/fixtureData.js';
import { startFixtures, type Fixtures } from '../../support/standIns/fixtureServer.js';
import { changegroupMessage, otherMessage } from '../../support/data/messages.js';
import { SYNTHETIC_DIFFSTAT, syntheticFixtures } from '../../support/data/syntheticFixtures.js';
import { sleep, until } from '../../support/wait.js';
import { startWorker, type TestWorker } from '../../support/worker.js';

configureLog({ level: process.env.TEST_LOG === '1' ? 'debug' : 'silent' });

interface Context {
  fx: Fixtures;
  synthetic: ReturnType<typeof syntheticFixtures>;
  user: PulseUser;
  admin: Admin;
  created: PulseNames[];
  workers: TestWorker[];
}
const test = anyTest as TestFn<Context>;
const REPO = 'integration/autoland';
const PUSHES = 40;

test.before(async (t) => {
  const synthetic = syntheticFixtures({ pushes: PUSHES });
  t.context.synthetic = synthetic;
  t.context.fx = await startFixtures({ data: synthetic });
  t.context.user = await createPulseUser();
  t.context.admin = await Admin.connect();
  t.context.created = [];
  t.context.workers = [];
});

test.after.always(async (t) => {
  await Promise.all(t.context.workers.map((w) => w.stop()));
  await t.context.admin.removeWorkerObjects(...t.context.created);
  await t.context.admin.close();
  await t.context.user.remove();
  await t.context.fx.close();
});

/** A fresh queue for one test, and a worker on it; both cleaned up after the file. */
const worker = async (
  t: { context: Context },
  name: string,
  options: {
    prefetch?: number;
    hold?: boolean;
    sink?: MemorySink;
    testHooks?: PulseOptions['testHooks'];
  } = {},
) => {
  const queueName = `${name}-${randomBytes(3).toString('hex')}`;
  const names = pulseNames(t.context.user.username, queueName);
  t.context.created.push(names);
  const routingKey = `test/${queueName}`;
  const started = await startWorker({
    user: t.context.user,
    queueName,
    routingKey,
    fx: t.context.fx,
    ...options,
  });
  t.context.workers.push(started);
  const publish = (body: string) => t.context.admin.publish(routingKey, body);
  const publishPushes = async (ids: number[]) => {
    for (const id of ids) await publish(changegroupMessage(t.context.fx.repo(REPO), id));
  };
  return { worker: started, names, queueName, routingKey, publish, publishPushes };
};

/** A worker on the failed queue, as --replay-failed runs it. */
const replayWorker = async (t: { context: Context }, queueName: string, routingKey: string) => {
  const replay = await startWorker({
    user: t.context.user,
    queueName,
    routingKey,
    fx: t.context.fx,
    queue: 'failed',
  });
  t.context.workers.push(replay);
  return replay;
};

const readSettingsOrThrow = <C extends typeof PulseSettings>(
  codec: C,
  env: Record<string, string>,
) => {
  const decoded = readSettings(codec, env);
  if (!decoded.ok) throw decoded.error;
  return decoded.value;
};

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('sends the exact ping of every changeset and acks each message once its pings are sent', async (t) => {
  const { worker: w, names, publishPushes } = await worker(t, 'stream');
  await publishPushes(range(1, 10));
  await until('10 acks', () => w.source.counters.acked === 10);
  const pings = (w.sink as MemorySink).pings;
  t.is(pings.length, 30);
  const { synthetic, fx } = t.context;
  for (const ping of pings) {
    const changeset = synthetic.changeset(REPO, ping.changesetID) as {
      pushdate: [number, number];
      landingsystem: string | null;
    };
    const system = synthetic.kindOf(ping.changesetID);
    t.deepEqual(ping, {
      changesetID: ping.changesetID,
      reviewSystemUsed: system!,
      repository: fx.repo(REPO),
      diffstat: system === 'phabricator' || system === 'bmo' ? SYNTHETIC_DIFFSTAT : null,
      landingSystem: changeset.landingsystem,
      pushDate: changeset.pushdate[0],
    } as never);
  }
  t.deepEqual(
    pings.map((p) => p.changesetID).sort(),
    range(1, 10)
      .flatMap((id) => synthetic.nodes(id))
      .sort(),
  );
  t.is(await t.context.admin.depth(names.queue), 0);
  t.is(await t.context.admin.depth(names.failedQueue), 0);
});

test('acks and skips messages of other types, with no push or with several pushes', async (t) => {
  const { worker: w, names, publish } = await worker(t, 'skips');
  const repo = t.context.fx.repo(REPO);
  const twoPushes = JSON.parse(changegroupMessage(repo, 3));
  twoPushes.payload.data.pushlog_pushes.push(
    JSON.parse(changegroupMessage(repo, 4)).payload.data.pushlog_pushes[0],
  );
  const noPush = JSON.parse(changegroupMessage(repo, 5));
  noPush.payload.data.pushlog_pushes = [];
  for (const body of [
    otherMessage('newrepo.1', repo),
    otherMessage('obsolete.1', repo),
    JSON.stringify(twoPushes),
    JSON.stringify(noPush),
  ]) {
    await publish(body);
  }
  await until('4 acks', () => w.source.counters.acked === 4);
  t.is((w.sink as MemorySink).pings.length, 0);
  t.deepEqual(w.settled.map(({ action, reason }) => `${action}: ${reason}`).sort(), [
    'skip: message names 2 pushes',
    'skip: message names no push',
    'skip: message type newrepo.1',
    'skip: message type obsolete.1',
  ]);
  t.is(await t.context.admin.depth(names.failedQueue), 0);
});

test('parks an undecodable message at once, with its routing key and the error in headers', async (t) => {
  const { worker: w, names, publish, routingKey } = await worker(t, 'undecodable');
  const missingRepo = JSON.parse(changegroupMessage(t.context.fx.repo(REPO), 1));
  delete missingRepo.payload.data.repo_url;
  await publish('this is not JSON');
  await publish(JSON.stringify(missingRepo));
  await until('2 parked', () => w.source.counters.parked === 2);
  t.is(w.source.counters.requeued, 0);
  t.is(await t.context.admin.depth(names.queue), 0);
  const parked = await t.context.admin.drain(names.failedQueue);
  t.deepEqual(parked.map((m) => m.properties.headers?.['x-error']).sort(), [
    'invalid changegroup.1 message: payload.data.repo_url: expected string, got nothing',
    'invalid hgpush message: (root): not JSON',
  ]);
  t.true(parked.every((m) => m.properties.headers?.['x-routing-key'] === routingKey));
  t.deepEqual(
    parked.map((m) => m.content.toString()).sort(),
    ['this is not JSON', JSON.stringify(missingRepo)].sort(),
  );
});

test('a message whose upstream keeps failing goes to the first delay queue, not back to the queue', async (t) => {
  const { worker: w, names, publishPushes, routingKey } = await worker(t, 'transient');
  const node = t.context.synthetic.nodes(12)[1]!;
  t.context.fx.fail({ match: new RegExp(`json-rev/${node}`), status: 503 });
  await publishPushes([11, 12, 13]);
  await until('1 retried', () => w.source.counters.retried === 1);
  await until('2 acked', () => w.source.counters.acked === 2);
  t.is(w.source.counters.requeued + w.source.counters.parked, 0);
  t.deepEqual(
    w.settled.filter((s) => s.action === 'retry').map((s) => s.retry),
    [{ attempt: 1, step: '30s', delayMs: 30_000 }],
  );
  // It waits 30 s there (the default delays); taken off here before it comes back.
  const waiting = await t.context.admin.drain(names.retrySteps[0]!.queue);
  t.is(waiting.length, 1);
  const headers = waiting[0]!.properties.headers!;
  t.is(headers['x-attempt'], 1);
  t.true(Date.now() - Date.parse(String(headers['x-first-failure'])) < 60_000);
  t.is(headers['x-routing-key'], routingKey);
  t.regex(String(headers['x-error']), new RegExp(`^${node}: GET .* answered 503$`));
  t.true(waiting[0]!.content.toString().includes('"pushid":12'));
  t.is(await t.context.admin.depth(names.queue), 0);
  t.is(await t.context.admin.depth(names.failedQueue), 0);
});

test('retries an upstream 500 within the request and acks when it then succeeds', async (t) => {
  const { worker: w, publishPushes } = await worker(t, 'retry');
  const node = t.context.synthetic.nodes(14)[0]!;
  t.context.fx.fail({ match: new RegExp(`json-rev/${node}`), status: 500, times: 1 });
  await publishPushes([14]);
  await until('1 ack', () => w.source.counters.acked === 1);
  t.is(w.source.counters.requeued + w.source.counters.parked + w.source.counters.retried, 0);
  t.true((w.sink as MemorySink).pings.some((p) => p.changesetID === node));
});

test('does not ack a message before its pings are sent', async (t) => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const sink = new MemorySink();
  const slow = Object.assign(sink, {
    send: async (ping: Parameters<MemorySink['send']>[0]) => {
      await gate;
      sink.pings.push(ping);
    },
  });
  const { worker: w, publishPushes } = await worker(t, 'gate', { sink: slow });
  await publishPushes([15]);
  await until('delivery', () => w.source.counters.received === 1);
  await sleep(300);
  t.is(w.source.counters.acked, 0);
  t.is(w.source.inFlight, 1);
  release();
  await until('1 ack', () => w.source.counters.acked === 1);
  t.is(sink.pings.length, 3);
});

test('in hold mode (--no-send) acks nothing, and every message returns to the queue on stop', async (t) => {
  const { worker: w, names, publishPushes } = await worker(t, 'hold', { hold: true });
  await publishPushes([16, 17, 18]);
  await until('3 settled', () => w.settled.length === 3);
  t.is(w.source.counters.acked, 0);
  t.is(w.source.inFlight, 0);
  await w.stop();
  t.is(await t.context.admin.depth(names.queue), 3);
});

test('two workers on one queue share the messages and each is processed once', async (t) => {
  const {
    worker: first,
    queueName,
    names,
    routingKey,
    publishPushes,
  } = await worker(t, 'shared', {
    prefetch: 2,
  });
  const second = await startWorker({
    user: t.context.user,
    queueName,
    routingKey,
    fx: t.context.fx,
    prefetch: 2,
  });
  t.context.workers.push(second);
  await publishPushes(range(19, 38));
  await until('20 acks', () => first.source.counters.acked + second.source.counters.acked === 20);
  t.true(first.source.counters.acked > 0 && second.source.counters.acked > 0);
  const sent = [...(first.sink as MemorySink).pings, ...(second.sink as MemorySink).pings];
  t.is(sent.length, 60);
  t.is(new Set(sent.map((p) => p.changesetID)).size, 60);
  t.is(await t.context.admin.depth(names.queue), 0);
});

test('loses no message when the broker connection is killed mid-stream', async (t) => {
  const user = await createPulseUser();
  const slowFx = await startFixtures({ data: t.context.synthetic, latencyMs: 15 });
  const queueName = `killed-${randomBytes(3).toString('hex')}`;
  const names = pulseNames(user.username, queueName);
  t.context.created.push(names);
  const routingKey = `test/${queueName}`;
  const w = await startWorker({ user, queueName, routingKey, fx: slowFx, prefetch: 4 });
  try {
    for (const id of range(1, PUSHES)) {
      await t.context.admin.publish(routingKey, changegroupMessage(slowFx.repo(REPO), id));
    }
    await until('a few acks', () => w.source.counters.acked >= 5);
    await user.killConnections();
    await until(
      'every push acked',
      async () => (await t.context.admin.depth(names.queue)) === 0 && w.source.inFlight === 0,
      30_000,
    );
    await until(
      'every push sent',
      () => new Set((w.sink as MemorySink).pings.map((p) => p.changesetID)).size === PUSHES * 3,
      30_000,
    );
    t.is(await t.context.admin.depth(names.failedQueue), 0);
    t.true(w.source.counters.received >= PUSHES);
  } finally {
    await w.stop();
    await user.remove();
    await slowFx.close();
  }
});

test('replaying the failed queue removes the messages that now succeed', async (t) => {
  const {
    worker: w,
    queueName,
    names,
    routingKey,
    publishPushes,
    publish,
  } = await worker(t, 'replay');
  t.context.fx.fail({ match: /json-pushes\?version=2&startID=38&endID=39/, status: 404, times: 1 });
  await publishPushes([39]);
  await publish('still not JSON');
  await until('2 parked', () => w.source.counters.parked === 2);
  await w.stop();
  const replay = await replayWorker(t, queueName, routingKey);
  await until('2 settled', () => replay.settled.length === 2);
  t.deepEqual(replay.settled.map((s) => s.action).sort(), ['ack', 'park']);
  await replay.stop();
  const left = await t.context.admin.drain(names.failedQueue);
  t.deepEqual(
    left.map((m) => m.content.toString()),
    ['still not JSON'],
  );
});

const outcome = (...outcomes: JobOutcome['outcomes']): JobOutcome => ({
  job: {
    label: 'm',
    target: { kind: 'push', repository: 'https://hg.example/r', pushId: 1 },
    receivedAt: 0,
  },
  outcomes,
});

test('verdictFor: ack when all sent or skipped; retry a transient failure until too old; park otherwise', (t) => {
  const transient = { status: 'failed', error: new PipelineError('503', 'transient') } as const;
  const permanent = { status: 'failed', error: new PipelineError('404', 'permanent') } as const;
  const held = { status: 'held', node: 'b'.repeat(40) } as const;
  const now = Date.UTC(2024, 0, 2);
  const hour = 3_600_000;
  const live: RetryContext = { replay: false, now, maxAgeMs: 24 * hour };
  const verdict = (result: JobOutcome, context: Partial<RetryContext> = {}) => {
    const decision = verdictFor(result, { ...live, ...context });
    return decision.verdict === 'park' ? `park: ${decision.parkReason}` : decision.verdict;
  };
  t.is(verdict(outcome({ status: 'skipped', node: 'a'.repeat(40), reason: 'x' })), 'ack');
  t.is(verdict(outcome()), 'ack');
  t.is(verdict(outcome(held)), 'defer');
  t.is(verdict(outcome(transient)), 'retry');
  t.is(verdict(outcome(transient, held)), 'retry');
  t.is(verdict(outcome(transient), { firstFailureAt: now - 23 * hour }), 'retry');
  t.is(verdict(outcome(transient), { firstFailureAt: now - 24 * hour }), 'park: too_old');
  t.is(verdict(outcome(transient), { hostsUp: false }), 'requeue');
  t.is(verdict(outcome(transient), { replay: true }), 'park: replay_failed');
  t.is(verdict(outcome(permanent)), 'park: permanent');
  t.is(verdict(outcome(transient, permanent)), 'park: permanent');
  t.is(verdict(outcome(permanent), { replay: true }), 'park: permanent');
});

test('pulseNames follows the Pulse naming rules', (t) => {
  t.like(pulseNames('bob', 'hgpush'), {
    queue: 'queue/bob/hgpush',
    failedQueue: 'queue/bob/hgpush.failed',
    failedExchange: 'exchange/bob/hgpush.failed',
    delayExchange: 'exchange/bob/hgpush.delay',
    retryExchange: 'exchange/bob/hgpush.retry',
  });
});

test('replays the recorded Pulse streams through the worker with every ping exactly right', async (t) => {
  const recorded = await startFixtures();
  t.teardown(() => recorded.close());
  const queueName = `recorded-${randomBytes(3).toString('hex')}`;
  const routingKey = `test/${queueName}`;
  const names = pulseNames(t.context.user.username, queueName);
  t.context.created.push(names);
  const w = await startWorker({ user: t.context.user, queueName, routingKey, fx: recorded });
  t.context.workers.push(w);
  const lines = (file: string) =>
    readFileSync(join(FIXTURES_DIR, 'pulse', file), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => line.replaceAll('https://hg.mozilla.org', recorded.hg.url));
  const stream = [...lines('autoland.ndjson'), ...lines('bad-messages.ndjson')];
  for (const body of stream) await t.context.admin.publish(routingKey, body);
  await until('every message settled', () => w.settled.length === stream.length);

  const expected = JSON.parse(
    readFileSync(join(FIXTURES_DIR, 'expected', 'autoland-pings.json'), 'utf8'),
  ) as Record<string, Record<string, unknown>>;
  const pings = (w.sink as MemorySink).pings;
  t.deepEqual(
    Object.fromEntries(pings.map((ping) => [ping.changesetID, ping])),
    Object.fromEntries(
      Object.entries(expected).map(([node, ping]) => [
        node,
        { ...ping, repository: recorded.repo(REPO) },
      ]),
    ),
  );
  const verdicts = w.settled.map((s) => (s.action === 'skip' ? 'ack' : s.action));
  // 9 pushes, newrepo.1, obsolete.1, a push-less message, a two-push message: acked;
  // not JSON, no repo_url, a string pushid: parked.
  t.is(verdicts.filter((v) => v === 'ack').length, 13);
  t.is(verdicts.filter((v) => v === 'park').length, 3);
  t.is(await t.context.admin.depth(names.queue), 0);
  t.is((await t.context.admin.drain(names.failedQueue)).length, 3);
});

test('ready() fails, naming the cause, when the exchange does not exist', async (t) => {
  const queueName = `noexchange-${randomBytes(3).toString('hex')}`;
  // What it declared before it found the exchange missing goes after the file.
  t.context.created.push(pulseNames(t.context.user.username, queueName));
  const error = await t.throwsAsync(
    startWorker({
      user: t.context.user,
      queueName,
      routingKey: `test/${queueName}`,
      fx: t.context.fx,
      env: { PULSE_EXCHANGE: 'exchange/does-not-exist/v0' },
    }),
  );
  t.regex(error?.message ?? '', /NOT_FOUND - no exchange 'exchange\/does-not-exist\/v0'/);
});

test('consumes again after Pulse deletes its queue while the connection stays up', async (t) => {
  const { worker: w, names, publishPushes } = await worker(t, 'deleted');
  await publishPushes([21]);
  await until('1 ack', () => w.source.counters.acked === 1);
  await t.context.admin.deleteQueues(names.queue);
  // The consumer channel closes; the source reconnects, declares and binds the queue, then
  // consumes. A push published once the queue exists but before it is bound would be routed
  // nowhere: wait for the consumer, which comes after the binding.
  await until(
    'consuming again',
    async () => (await t.context.admin.consumers(names.queue)) > 0,
    15_000,
  );
  await publishPushes([22]);
  await until('2 acks', () => w.source.counters.acked === 2, 15_000);
  t.true(
    (w.sink as MemorySink).pings.some((p) => t.context.synthetic.nodes(22).includes(p.changesetID)),
  );
});

test('a replayed message that fails for a transient reason again is parked again, not retried', async (t) => {
  const { worker: w, queueName, names, routingKey } = await worker(t, 'replaytransient');
  // Push 40 is this test's alone: the fault must not reach the other tests' pushes.
  const node = t.context.synthetic.nodes(40)[0]!;
  t.context.fx.fail({ match: new RegExp(`json-rev/${node}`), status: 503 });
  await w.stop();
  // Parked by an earlier run (a transient failure is retried for RETRY_MAX_HOURS first).
  const body = changegroupMessage(t.context.fx.repo(REPO), 40);
  await t.context.admin.publish('', body, names.failedExchange);
  const replay = await replayWorker(t, queueName, routingKey);
  await until('1 settled', () => replay.settled.length === 1);
  t.deepEqual(
    replay.settled.map((s) => [s.action, s.parkReason]),
    [['park', 'replay_failed']],
  );
  t.is(replay.source.counters.requeued + replay.source.counters.retried, 0);
  await replay.stop();
  t.is((await t.context.admin.drain(names.failedQueue)).length, 1);
});

test('unsubscribing from jobs stops consuming: later messages stay in the queue', async (t) => {
  const user = t.context.user;
  const queueName = `unsub-${randomBytes(3).toString('hex')}`;
  const routingKey = `test/${queueName}`;
  const names = pulseNames(user.username, queueName);
  t.context.created.push(names);
  const env = { ...user.env(queueName, routingKey), ...t.context.fx.env };
  const source = new PulseSource({
    settings: readSettingsOrThrow(PulseSettings, env),
    allowedHosts: [t.context.fx.hg.host],
    prefetch: 4,
    reconnectSeconds: 0.2,
  });
  t.teardown(() => source.stop(0));
  await source.ready(5_000);
  t.false(source.consuming(), 'not consuming before anyone subscribes');
  const taken: Job[] = [];
  const subscription = source.jobs.subscribe((job) => taken.push(job));
  await until('consuming', () => source.consuming());
  const again = await new Promise<unknown>((resolve) =>
    source.jobs.subscribe({ error: resolve, next: () => resolve('a second consumer') }),
  );
  t.regex(String(again), /one consumer/);
  subscription.unsubscribe();
  await until('not consuming', () => !source.consuming());
  await t.context.admin.publish(routingKey, changegroupMessage(t.context.fx.repo(REPO), 1));
  await sleep(300);
  // Delivered before the broker took the cancel, it is handed back: ready again shortly.
  await until('the message ready in the queue', async () => {
    return (await t.context.admin.depth(names.queue)) === 1;
  });
  t.is(taken.length, 0);
  t.is(source.inFlight, 0);
  const started = Date.now();
  await source.stop(10_000);
  t.true(Date.now() - started < 2_000, 'stop() does not wait out its grace period');
});

/** A worker of a Pulse user of its own, so killing its connections disturbs no other test. */
const isolatedWorker = async (
  t: { context: Context },
  name: string,
  options: { queue?: 'main' | 'failed'; queueName?: string; user?: PulseUser } & Pick<
    Parameters<typeof startWorker>[0],
    'testHooks' | 'prefetch'
  > = {},
) => {
  const user = options.user ?? (await createPulseUser());
  const queueName = options.queueName ?? `${name}-${randomBytes(3).toString('hex')}`;
  const names = pulseNames(user.username, queueName);
  t.context.created.push(names);
  const routingKey = `test/${queueName}`;
  const started = await startWorker({ user, queueName, routingKey, fx: t.context.fx, ...options });
  t.context.workers.push(started);
  const publish = (body: string) => t.context.admin.publish(routingKey, body);
  return { worker: started, user, names, queueName, publish };
};

test('a message parked and then cut off from its ack is counted, and parked again: none lost', async (t) => {
  let kills = 0;
  let user: PulseUser | undefined = undefined;
  const {
    worker: w,
    names,
    publish,
    ...rest
  } = await isolatedWorker(t, 'parkedtwice', {
    testHooks: {
      afterPark: async () => {
        if (kills++ === 0) await user?.killConnections();
      },
    },
  });
  user = rest.user;
  t.teardown(() => rest.user.remove());
  await publish('not JSON, parked twice');
  await until('parked after the reconnect', () => w.source.counters.parked === 1, 15_000);
  t.is(w.source.counters.parkedTwice, 1);
  t.is(await t.context.admin.depth(names.queue), 0);
  const parked = await t.context.admin.drain(names.failedQueue);
  t.deepEqual(
    parked.map((m) => m.content.toString()),
    ['not JSON, parked twice', 'not JSON, parked twice'],
  );
});

test('stop() waits for the messages in flight, then closes; a second stop() is the same stop', async (t) => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const sink = new MemorySink();
  const slow = Object.assign(sink, {
    send: async (ping: Parameters<MemorySink['send']>[0]) => {
      await gate;
      sink.pings.push(ping);
    },
  });
  const { worker: w, names, publishPushes } = await worker(t, 'drain', { sink: slow });
  await publishPushes([2]);
  await until('delivery', () => w.source.inFlight === 1);
  const first = w.stop();
  const second = w.stop();
  t.is(first, second);
  await sleep(200);
  t.false(w.source.consuming());
  release();
  await first;
  t.is(w.source.counters.acked, 1);
  t.is(sink.pings.length, 3);
  t.is(await t.context.admin.depth(names.queue), 0);
  t.deepEqual(await w.worker.stopped, { reason: 'test over', failed: false });
});

test('a replay that loses its connection midway still replays every parked message once', async (t) => {
  const first = await isolatedWorker(t, 'replaykill');
  const { user, queueName, names } = first;
  t.teardown(() => user.remove());
  for (let i = 0; i < 30; i += 1) await first.publish(`not JSON ${i}`);
  await until('30 parked', () => first.worker.source.counters.parked === 30);
  await first.worker.stop();
  let kills = 0;
  const replay = await isolatedWorker(t, 'replaykill', {
    user,
    queueName,
    queue: 'failed',
    prefetch: 4,
    testHooks: {
      afterPark: async () => {
        if (kills++ === 10) await user.killConnections();
      },
    },
  });
  const stopped = await replay.worker.worker.stopped;
  t.is(stopped.reason, 'every parked message was replayed');
  const parked = await t.context.admin.drain(names.failedQueue);
  const bodies = parked.map((m) => m.content.toString());
  // Each is parked again (still not JSON); the one cut off from its ack may be there twice.
  t.deepEqual(
    [...new Set(bodies)].sort(),
    Array.from({ length: 30 }, (_, i) => `not JSON ${i}`).sort(),
  );
  t.true(bodies.length <= 31, `${bodies.length} parked`);
});

test('a message whose push_json_url has no bounds: the push is read with a bounded request of our own', async (t) => {
  const { worker: w, publish } = await worker(t, 'unbounded');
  const message = JSON.parse(changegroupMessage(t.context.fx.repo(REPO), 33));
  const unbounded = `${t.context.fx.repo(REPO)}/json-pushes?version=2&full=1`;
  message.payload.data.pushlog_pushes[0].push_json_url = unbounded;
  message.payload.data.pushlog_pushes[0].push_full_json_url = unbounded;
  await publish(JSON.stringify(message));
  await until('1 ack', () => w.source.counters.acked === 1);
  const nodes = t.context.synthetic.nodes(33);
  const sent = (w.sink as MemorySink).pings.map((p) => p.changesetID as string);
  t.deepEqual(sent.filter((n) => nodes.includes(n)).sort(), [...nodes].sort());
  const pushlog = t.context.fx.hg.requests.filter((r) => r.includes('json-pushes'));
  t.true(pushlog.includes(`GET /${REPO}/json-pushes?version=2&startID=32&endID=33`));
  t.false(
    pushlog.some((r) => !/startID=\d+&endID=\d+/.test(r)),
    'every request bounded',
  );
});
