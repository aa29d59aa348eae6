/**
 * The Pushgateway pusher: its pure parts, the settings that turn it on, and the real pusher
 * against a real HTTP server on loopback standing in for the gateway.
 */
import anyTest, { type TestFn } from 'ava';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Registry } from 'prom-client';
import { MetricsSettings } from '../../src/codecs/settings.js';
import { readSettings } from '../../src/config.js';
import { configureLog } from '../../src/log.js';
import { WorkerMetrics } from '../../src/worker/metrics.js';
import {
  groupUrl,
  instanceLabel,
  MetricsPusher,
  PUSH_JOB,
  warnsAt,
  WARN_EVERY_FAILURES,
} from '../../src/worker/pushMetrics.js';
import { closedPort, startGateway } from '../support/standIns/pushgateway.js';
import { until } from '../support/wait.js';

interface Context {
  stderr: string;
  restore: () => void;
}
const test = anyTest as TestFn<Context>;

// Every test captures what the logger writes, so they run one at a time.
test.beforeEach((t) => {
  const original = process.stderr.write.bind(process.stderr);
  t.context.stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    t.context.stderr += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  t.context.restore = () => (process.stderr.write = original);
  configureLog({ level: 'info' });
});
test.afterEach.always((t) => t.context.restore());

// --- Pure parts ---

test.serial('instanceLabel: Heroku’s DYNO, else the host name, made a safe path segment', (t) => {
  t.is(instanceLabel({ DYNO: 'queueworker.1' }, 'box'), 'queueworker.1');
  t.is(instanceLabel({ DYNO: '  ' }, 'box-7.local'), 'box-7.local');
  t.is(instanceLabel({}, 'box'), 'box');
  t.is(instanceLabel({ DYNO: 'run/42 x' }, 'box'), 'run_42_x');
  t.is(instanceLabel({}, ''), 'unknown');
});

test.serial('groupUrl: the group’s path, credentials masked', (t) => {
  t.is(
    groupUrl('https://me:s3cret-pass@gw.example/prefix', PUSH_JOB, 'queueworker.1'),
    'https://***@gw.example/prefix/metrics/job/commit-telemetry/instance/queueworker.1',
  );
});

test.serial('warnsAt: the first failure in a row, then one in WARN_EVERY_FAILURES', (t) => {
  const warned = Array.from({ length: 3 * WARN_EVERY_FAILURES }, (_, i) => i + 1).filter(warnsAt);
  t.deepEqual(warned, [1, WARN_EVERY_FAILURES, 2 * WARN_EVERY_FAILURES, 3 * WARN_EVERY_FAILURES]);
});

// --- Settings ---

test.serial(
  'MetricsSettings: the Pushgateway URL and interval are optional; empty is unset',
  (t) => {
    const decoded = readSettings(MetricsSettings, {
      PROMETHEUS_PUSHGATEWAY_URL: '',
      PROMETHEUS_PUSH_SECONDS: '',
    });
    t.true(decoded.ok);
    const value = decoded.ok ? decoded.value : undefined;
    t.is(value?.PROMETHEUS_PUSHGATEWAY_URL, undefined);
    t.is(value?.PROMETHEUS_PUSH_SECONDS, undefined);
  },
);

test.serial(
  'MetricsSettings: an http(s) URL, trailing slash dropped, credentials kept for auth',
  (t) => {
    for (const [given, kept] of [
      ['http://127.0.0.1:9091', 'http://127.0.0.1:9091'],
      ['https://gw.example/pushgateway/', 'https://gw.example/pushgateway'],
      ['https://me:s3cret@gw.example', 'https://me:s3cret@gw.example'],
    ] as const) {
      const decoded = readSettings(MetricsSettings, {
        PROMETHEUS_PUSHGATEWAY_URL: given,
        PROMETHEUS_PUSH_SECONDS: '60',
      });
      t.deepEqual(decoded.ok && decoded.value, {
        PROMETHEUS_PUSHGATEWAY_URL: kept,
        PROMETHEUS_PUSH_SECONDS: 60,
      });
    }
  },
);

test.serial(
  'MetricsSettings: a bad URL or interval is named, and no credential is repeated',
  (t) => {
    for (const url of [
      'gw.example:9091',
      'ftp://gw.example',
      'https://gw.example/?x=1',
      'ftp://me:hunter2-secret@gw.example',
    ]) {
      const decoded = readSettings(MetricsSettings, { PROMETHEUS_PUSHGATEWAY_URL: url });
      t.false(decoded.ok, url);
      if (decoded.ok) continue;
      t.is(decoded.error.problems.length, 1);
      t.regex(decoded.error.problems[0]!, /^PROMETHEUS_PUSHGATEWAY_URL: expected an http\(s\) URL/);
      t.false(decoded.error.problems[0]!.includes('hunter2-secret'));
    }
    for (const seconds of ['0', '3601', 'soon']) {
      const decoded = readSettings(MetricsSettings, { PROMETHEUS_PUSH_SECONDS: seconds });
      t.false(decoded.ok, seconds);
      if (!decoded.ok) t.regex(decoded.error.problems[0]!, /^PROMETHEUS_PUSH_SECONDS: expected an/);
    }
  },
);

// --- The pusher against a real HTTP server ---

test.serial(
  'pushes the whole registry by PUT to its group, repeatedly; deletes it at stop',
  async (t) => {
    const gateway = await startGateway();
    try {
      const metrics = new WorkerMetrics();
      metrics.queueDepth.set(7);
      const pusher = new MetricsPusher({
        url: gateway.url,
        registry: metrics.registry,
        intervalMs: 50,
        instance: 'queueworker.3',
      });
      pusher.start();
      await until('three pushes', () => gateway.requests.length >= 3);
      await pusher.stop();
      const path = '/metrics/job/commit-telemetry/instance/queueworker.3';
      const last = gateway.requests.at(-1)!;
      t.deepEqual([last.method, last.path], ['DELETE', path]);
      const pushes = gateway.requests.slice(0, -1);
      t.true(pushes.every((r) => r.method === 'PUT' && r.path === path));
      const body = pushes[0]!.body;
      t.regex(body, /^# TYPE commit_telemetry_messages_total counter$/m);
      t.regex(body, /^commit_telemetry_queue_depth 7$/m);
      t.regex(body, /^commit_telemetry_build_info\{version="[^"]+",node="v\d+[^"]*"\} 1$/m);
      t.regex(pushes[0]!.headers['content-type'] ?? '', /^text\/plain; version=0\.0\.4/);
      // Nothing after the delete: stop() ended the pushing for good.
      const count = gateway.requests.length;
      await new Promise((resolve) => setTimeout(resolve, 200));
      t.is(gateway.requests.length, count);
      await pusher.stop();
      t.is(gateway.requests.length, count, 'a second stop() sends nothing');
      t.regex(t.context.stderr, /pushing metrics to the Pushgateway/);
      t.regex(t.context.stderr, /deleted this worker's metrics from the Pushgateway/);
    } finally {
      await gateway.close();
    }
  },
);

test.serial('user:password@ in the URL is basic auth and never logged', async (t) => {
  const gateway = await startGateway();
  try {
    const registry = new Registry();
    new Counter({ name: 'commit_telemetry_test_total', help: 'a test', registers: [registry] });
    const url = gateway.url.replace('//', '//pusher:hunter2-secret@');
    gateway.status = 401;
    const pusher = new MetricsPusher({ url, registry, intervalMs: 60_000, instance: 'a' });
    t.false(await pusher.pushOnce());
    gateway.status = 200;
    t.true(await pusher.pushOnce());
    await pusher.stop();
    const auth = `Basic ${Buffer.from('pusher:hunter2-secret').toString('base64')}`;
    t.true(gateway.requests.every((r) => r.headers.authorization === auth));
    t.regex(t.context.stderr, /could not push metrics to the Pushgateway/);
    t.regex(t.context.stderr, /status 401/);
    t.regex(t.context.stderr, /pushing metrics works again/);
    t.regex(t.context.stderr, /\/\/\*\*\*@127\.0\.0\.1/);
    t.false(t.context.stderr.includes('hunter2-secret'));
  } finally {
    await gateway.close();
  }
});

test.serial(
  'an unreachable gateway: warnings only, pushing goes on, stop() resolves',
  async (t) => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const pusher = new MetricsPusher({
      url,
      registry: new WorkerMetrics().registry,
      intervalMs: 20,
      instance: 'a',
    });
    let attempts = 0;
    const pushOnce = pusher.pushOnce.bind(pusher);
    pusher.pushOnce = async () => {
      attempts += 1;
      return pushOnce();
    };
    pusher.start();
    await until('a few tries', () => attempts >= WARN_EVERY_FAILURES + 1);
    await t.notThrowsAsync(pusher.stop());
    const warnings = t.context.stderr
      .split('\n')
      .filter((line) => line.includes('could not push metrics'));
    // The first failure and the WARN_EVERY_FAILURES-th; the others are debug lines, not shown.
    t.is(warnings.length, 2);
    t.regex(warnings[0]!, /ECONNREFUSED/);
    t.regex(t.context.stderr, /could not delete this worker's metrics from the Pushgateway/);
  },
);

test.serial('a gateway that never answers: a push gives up after its timeout', async (t) => {
  // Accepts connections and never answers.
  const server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const pusher = new MetricsPusher({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      registry: new Registry(),
      intervalMs: 60_000,
      instance: 'a',
      timeoutMs: 200,
    });
    const started = Date.now();
    t.false(await pusher.pushOnce());
    t.true(Date.now() - started < 5_000);
    t.regex(t.context.stderr, /timed out/);
    await pusher.stop();
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
