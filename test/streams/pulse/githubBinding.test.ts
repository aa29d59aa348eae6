/**
 * The one queue bound to both forges: with GITHUB_PUSH_ROUTING_KEY set, the real RabbitMQ
 * routes taskcluster-github's pushes (an exchange of this test's own standing in for it) to
 * the worker's queue, each read with the GitHub codec; skips are acked, bad ones parked.
 */
import anyTest, { type TestFn } from 'ava';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Settlement, SettlingJob } from '../../../src/pipeline/job.js';
import { PulseSettings } from '../../../src/codecs/settings.js';
import { readSettings } from '../../../src/config.js';
import { configureLog } from '../../../src/log.js';
import { PulseSource } from '../../../streams/pulse/source.js';
import amqplib from 'amqplib';
import {
  Admin,
  BROKER,
  createPulseUser,
  type PulseUser,
  removeTestBroker,
} from '../../support/broker.js';
import { FIXTURES_DIR } from '../../support/data/fixtureData.js';
import { changegroupMessage } from '../../support/data/messages.js';
import { until } from '../../support/wait.js';

configureLog({ level: 'silent' });

interface Context {
  user: PulseUser;
  admin: Admin;
  exchange: string;
}
const test = anyTest as TestFn<Context>;
const KEY = 'primary.mozilla-firefox.firefox';

test.before(async (t) => {
  t.context.user = await createPulseUser();
  t.context.admin = await Admin.connect();
  t.context.exchange = `exchange/ctstest-${randomBytes(4).toString('hex')}/github-push`;
  // taskcluster-github's exchange, as its owner declares it (the worker only checks it).
  const owner = await amqplib.connect(`amqp://guest:guest@${BROKER.host}:${BROKER.port}`);
  const channel = await owner.createChannel();
  await channel.assertExchange(t.context.exchange, 'topic', { durable: true });
  await owner.close();
});

test.after.always(async (t) => {
  await removeTestBroker(t.context.admin, t.context.user, {
    exchanges: [t.context.exchange],
  });
});

const pushes = readFileSync(join(FIXTURES_DIR, 'pulse', 'github-push.ndjson'), 'utf8')
  .split('\n')
  .filter((line) => line !== '');

const source = (t: { context: Context }, env: Record<string, string>) => {
  const decoded = readSettings(PulseSettings, env);
  if (!decoded.ok) throw decoded.error;
  return new PulseSource({
    settings: decoded.value,
    allowedHosts: ['github.com', 'hg.mozilla.org'],
    prefetch: 8,
    reconnectSeconds: 0.2,
    github: { webUrl: 'https://github.com', branches: ['main', 'autoland'] },
  });
};

test('one queue takes both forges: GitHub pushes become gitPush jobs, skips are acked', async (t) => {
  const queueName = `github-${randomBytes(3).toString('hex')}`;
  const env = {
    ...t.context.user.env(queueName, 'integration/autoland'),
    GITHUB_PUSH_EXCHANGE: t.context.exchange,
    GITHUB_PUSH_ROUTING_KEY: KEY,
  };
  const pulse = source(t, env);
  await pulse.ready();
  const jobs: SettlingJob[] = [];
  const settled: Settlement[] = [];
  pulse.settlements.subscribe((s) => settled.push(s));
  const consuming = pulse.jobs.subscribe((job) => {
    jobs.push(job);
    void job.settle({ job, outcomes: [] });
  });
  t.teardown(async () => {
    consuming.unsubscribe();
    await pulse.stop(1_000);
  });
  const { admin, exchange } = t.context;
  for (const body of pushes) await admin.publish(KEY, body, exchange);
  await admin.publish('primary.someone-else.fork', pushes[0]!, exchange); // not bound
  await admin.publish(
    'integration/autoland',
    changegroupMessage('https://hg.mozilla.org/integration/autoland', 5),
  );
  await admin.publish(KEY, '{"body": {"ref": "refs/heads/main", "after": "nope"}}', exchange);
  await until('every message settled', () => settled.length === pushes.length + 2);
  t.deepEqual(
    jobs.map((j) => j.target.kind),
    ['gitPush', 'gitPush', 'gitPush', 'push'],
    'autoland, main, a forced autoland push, and the hg push',
  );
  t.like(jobs[0]!.target, {
    repository: 'https://github.com/mozilla-firefox/firefox/tree/autoland',
  });
  const skips = settled.filter((s) => s.action === 'skip').map((s) => s.reason);
  t.deepEqual(skips, [
    'branch some-feature is not in GITHUB_BRANCHES',
    'branch esr140 is not in GITHUB_BRANCHES', // created, but only main and autoland followed
    'branch old-branch deleted',
    'not a branch: refs/tags/FIREFOX_NIGHTLY_135_END',
  ]);
  const parked = settled.filter((s) => s.action === 'park');
  t.is(parked.length, 1);
  t.regex(parked[0]!.reason ?? '', /invalid GitHub push message: .*body\.(before|after)/);
  t.is(pulse.counters.parked, 1);
});

test('without GITHUB_PUSH_ROUTING_KEY nothing is bound; a missing GitHub exchange is named', async (t) => {
  const queueName = `github-off-${randomBytes(3).toString('hex')}`;
  const off = source(t, t.context.user.env(queueName, 'integration/autoland'));
  await off.ready();
  await off.stop(1_000);
  const missing = source(t, {
    ...t.context.user.env(`${queueName}-b`, 'integration/autoland'),
    GITHUB_PUSH_EXCHANGE: `exchange/ctstest-${randomBytes(4).toString('hex')}/missing`,
    GITHUB_PUSH_ROUTING_KEY: KEY,
  });
  const error = await t.throwsAsync(missing.ready(2_000));
  t.regex(error?.message ?? '', /NOT_FOUND|missing/);
  await missing.stop(1_000);
});
