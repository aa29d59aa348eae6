/**
 * Retry-After on 429 and 503, for every host: read as delta-seconds or an HTTP-date, and
 * honoured over loopback HTTP by retries, by other requests to the host, and by its probe.
 */
import test from 'ava';
import { ConstantBackoff } from 'cockatiel';
import { BugzillaClient } from '../../../src/clients/bugzilla.js';
import { HostHealth } from '../../../src/clients/health.js';
import { HgClient } from '../../../src/clients/hgmo.js';
import { HostLimits } from '../../../src/clients/hostLimits.js';
import { Http, type HttpOptions } from '../../../src/clients/http.js';
import { MAX_RETRY_AFTER_MS, retryAfterMs } from '../../../src/clients/http/retryAfter.js';
import { honouringRetryAfter } from '../../../src/clients/retryBackoff.js';
import { TelemetryClient } from '../../../src/clients/telemetry.js';
import type { Ping } from '../../../src/codecs/ping.js';
import { RetryLater } from '../../../src/errors.js';
import { configureLog } from '../../../src/log.js';
import { startFixtures, type Fixtures } from '../../support/standIns/fixtureServer.js';
import { sleep, until } from '../../support/wait.js';
import { AUTOLAND } from '../upstreams.js';

configureLog({ level: 'silent' });

const NOW = Date.parse('2026-12-06T12:00:00Z');

test('Retry-After reads delta-seconds and HTTP-dates, capped, and nothing else', (t) => {
  t.is(retryAfterMs('5', NOW), 5_000);
  t.is(retryAfterMs(' 0 ', NOW), 0);
  t.is(retryAfterMs(['2', '9'], NOW), 2_000);
  t.is(retryAfterMs('Sun, 06 Dec 2026 12:00:30 GMT', NOW), 30_000);
  t.is(retryAfterMs('Sun, 06 Dec 2026 11:00:00 GMT', NOW), 0, 'a date past is no wait');
  t.is(retryAfterMs('99999999', NOW), MAX_RETRY_AFTER_MS);
  for (const unreadable of [
    undefined,
    '',
    '-5',
    '1.5',
    'soon',
    '2026-12-06T12:00:30Z',
    'Mon, 99 Foo 2026',
  ]) {
    t.is(retryAfterMs(unreadable, NOW), undefined, String(unreadable));
  }
});

test("the retry backoff waits at least until a RetryLater's time, else its own delay", (t) => {
  const backoff = honouringRetryAfter(new ConstantBackoff(10));
  const signal = new AbortController().signal;
  const later = new RetryLater('GET x', 'h', Date.now() + 5_000, 'answered 429');
  const first = backoff.next({ attempt: 1, signal, result: { error: later } });
  t.true(first.duration > 4_900 && first.duration <= 5_000, String(first.duration));
  const second = first.next({ attempt: 2, signal, result: { error: new Error('reset') } });
  t.is(second.duration, 10);
  const past = new RetryLater('GET x', 'h', Date.now() - 1_000, 'answered 503');
  t.is(second.next({ attempt: 3, signal, result: { error: past } }).duration, 10);
});

/**
 * A RegExp for a fault's `match` that records when each request it sees arrived, and misbehaves
 * while `on`; the fixture server calls `test` once per request while the fault has times left.
 */
class Timed extends RegExp {
  on = true;
  readonly seen: { line: string; at: number }[] = [];

  override test(text: string): boolean {
    if (!super.test(text)) return false;
    this.seen.push({ line: text, at: Date.now() });
    return this.on;
  }
}

/** Gaps between two requests of the same line, in ms. */
const repeats = (seen: readonly { line: string; at: number }[]): number[] => {
  const last = new Map<string, number>();
  const gaps: number[] = [];
  for (const { line, at } of seen) {
    const before = last.get(line);
    if (before !== undefined) gaps.push(at - before);
    last.set(line, at);
  }
  return gaps;
};

const pingFor = (n: number) =>
  ({
    changesetID: `${n}`.padStart(40, 'a'),
    reviewSystemUsed: 'phabricator',
    repository: 'https://hg.mozilla.org/integration/autoland',
  }) as Ping;

const clients = (fx: Fixtures, health: HostHealth | undefined, options: HttpOptions) => {
  const http = new Http(new HostLimits(8, health), { backoffMs: 1, ...options });
  const telemetry = new TelemetryClient(http, {
    baseUrl: `${fx.tmo.url}/submit`,
    namespace: 'eng-workflow',
    doctype: 'hgpush',
    docversion: '1',
  });
  return {
    telemetry,
    hg: new HgClient(http, [fx.hg.host]),
    bugzilla: new BugzillaClient(http, fx.env.BMO_API_URL!),
  };
};

// Serial: these measure time between requests, which a busy neighbour would only blur.
test.serial(
  'telemetry answering 429 with Retry-After: 1: no PUT of a ping comes again sooner',
  async (t) => {
    const fx = await startFixtures();
    t.teardown(() => fx.close());
    const health = new HostHealth({ failures: 50, probeMs: 100 });
    t.teardown(() => health.close());
    const { telemetry } = clients(fx, health, { attempts: 4 });
    const puts = new Timed('^PUT /submit/');
    fx.fail({ match: puts, status: 429, headers: { 'retry-after': '1' } });
    setTimeout(() => (puts.on = false), 2_500);
    const started = Date.now();
    const pings = [1, 2, 3, 4, 5, 6].map(pingFor);
    const results = await Promise.allSettled(pings.map((ping) => telemetry.submit(ping)));
    t.true(
      results.every((r) => r.status === 'fulfilled'),
      'each waited for the host and was accepted',
    );
    t.is(fx.tmo.received.size, pings.length);
    const gaps = repeats(puts.seen);
    t.true(gaps.length >= pings.length * 2, `${gaps.length} repeats`);
    t.log(
      `${puts.seen.length} PUTs in ${Date.now() - started} ms; shortest repeat ${Math.min(...gaps)} ms`,
    );
    // The host said one second: a timer may fire a millisecond early by Date's reckoning.
    t.true(Math.min(...gaps) >= 999, `repeats ${gaps.join(', ')} ms apart`);
  },
);

test.serial(
  'hg answering 503 with an HTTP-date: the retry comes no sooner, and neither does another request',
  async (t) => {
    const fx = await startFixtures();
    t.teardown(() => fx.close());
    const { hg } = clients(fx, undefined, { attempts: 3 });
    const revs = new Timed('json-rev');
    // A whole second ahead at least: an HTTP-date has no fractions.
    const at = new Date(Math.ceil((Date.now() + 1_000) / 1_000) * 1_000 + 1_000);
    fx.fail({ match: revs, status: 503, headers: { 'retry-after': at.toUTCString() } });
    const first = hg.changeset(fx.repo(AUTOLAND), 'f7ea35ab0117950edc47de7130e9d8941d0574d4');
    await until('answered 503', () => revs.seen.length === 1);
    revs.on = false;
    await sleep(50);
    const second = hg.changeset(fx.repo(AUTOLAND), 'f7ea35ab0117');
    const [a, b] = await Promise.all([first, second]);
    t.is(a.node, b.node);
    t.is(revs.seen.length, 3);
    t.true(
      revs.seen.slice(1).every((r) => r.at >= at.getTime()),
      revs.seen.map((r) => r.at - at.getTime()).join(', '),
    );
  },
);

test.serial(
  'Bugzilla asking for longer than a request may wait: it fails at once, transient, with the time, and its host is left alone until then',
  async (t) => {
    const fx = await startFixtures();
    t.teardown(() => fx.close());
    const health = new HostHealth({ failures: 2, probeMs: 50 });
    t.teardown(() => health.close());
    const { bugzilla } = clients(fx, health, { attempts: 4, maxWaitMs: 200 });
    const rest = new Timed('/rest/');
    fx.fail({ match: rest, status: 429, headers: { 'retry-after': '2' } });
    const started = Date.now();
    const error = await t.throwsAsync(bugzilla.bug(1849011), { instanceOf: RetryLater });
    t.is(error?.kind, 'transient');
    t.true(Date.now() - started < 1_000, 'not waited for');
    t.true(error!.until >= started + 2_000);
    t.regex(
      error!.message,
      /answered 429 with Retry-After: 2; 127\.0\.0\.1:\d+ is not asked again before 20/,
    );
    // Two requests failed: the breaker takes the host for down.
    await until('down', () => !health.isUp(fx.bmo.host));
    // Attachments and history: each asked once at most (the second may find the host held
    // already), neither again.
    const asked = rest.seen.length;
    t.true(asked >= 1 && asked <= 2, `${asked}`);
    // Its probe waits for the time too, then finds it well.
    await sleep(1_000);
    t.is(rest.seen.length, asked, 'not asked, not even probed, before the time');
    rest.on = false;
    await health.waitUntilUp(fx.bmo.host);
    t.true(rest.seen.length > asked, 'probed');
    t.true(
      rest.seen.slice(asked).every((r) => r.at >= error!.until),
      'the probe came after the time',
    );
    t.not(await bugzilla.bug(1849011), null);
  },
);
