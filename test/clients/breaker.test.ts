import test from 'ava';
import { HostBreaker, HostDown } from '../../src/clients/breaker.js';
import { BugzillaClient } from '../../src/clients/bugzilla.js';
import {
  HostHealth,
  type HostHealthOptions,
  type HostTransition,
} from '../../src/clients/health.js';
import { HgClient } from '../../src/clients/hgmo.js';
import { HostLimits } from '../../src/clients/hostLimits.js';
import { Http, type HttpOptions } from '../../src/clients/http.js';
import { TelemetryClient } from '../../src/clients/telemetry.js';
import type { Ping } from '../../src/codecs/ping.js';
import { PipelineError } from '../../src/errors.js';
import { configureLog } from '../../src/log.js';
import { startFixtures, type Fixtures } from '../support/standIns/fixtureServer.js';
import { capturingLog, Switch } from '../support/outage.js';
import { until } from '../support/wait.js';
import { AUTOLAND } from './upstreams.js';

configureLog({ level: 'silent' });

const NODE = 'f7ea35ab0117950edc47de7130e9d8941d0574d4';
const BUG = 1849011;
const OTHER_BUG = 1849876;

const transient = () => Promise.reject(new PipelineError('503', 'transient'));
const fine = () => Promise.resolve('ok');

/** Fixture servers and clients whose HostLimits carry a HostHealth. */
const upstreams = async (health: HostHealthOptions, http: HttpOptions = {}) => {
  const fx: Fixtures = await startFixtures();
  const hosts = new HostHealth({ failures: 3, probeMs: 60_000, ...health });
  const transitions: HostTransition[] = [];
  hosts.transitions.subscribe((transition) => transitions.push(transition));
  const client = new Http(new HostLimits(8, hosts), { backoffMs: 1, ...http });
  return {
    fx,
    health: hosts,
    transitions,
    http: client,
    hg: new HgClient(client, [fx.hg.host]),
    bugzilla: new BugzillaClient(client, fx.env.BMO_API_URL!),
    close: async () => {
      hosts.close();
      await fx.close();
    },
  };
};

const pingFor = (n: number) =>
  ({
    changesetID: `${n}`.padStart(40, 'a'),
    reviewSystemUsed: 'phabricator',
    repository: 'https://hg.mozilla.org/integration/autoland',
  }) as Ping;

test('a breaker opens after N failures of distinct requests in a row; a success starts again', async (t) => {
  const breaker = new HostBreaker('example.org', 3);
  for (const request of [transient, transient, fine, transient, transient]) {
    await breaker.run(request).catch(() => undefined);
  }
  t.true(breaker.up);
  await breaker.run(transient).catch(() => undefined);
  t.false(breaker.up);
  t.like(breaker.reason, { kind: 'failing', failures: 3, error: '503' });
  let asked = false;
  await t.throwsAsync(
    breaker.run(() => {
      asked = true;
      return fine();
    }),
    { instanceOf: HostDown, message: /^example.org is down/ },
  );
  t.false(asked, 'a host that is down is not asked');
  t.is((await breaker.run(fine).catch((error: unknown) => error as Error)).constructor, HostDown);
  breaker.close();
  t.true(breaker.up);
  t.is(await breaker.run(fine), 'ok');
});

test('the retries of one request count once: N requests, not N attempts, open it', async (t) => {
  const { fx, hg, health, transitions, close } = await upstreams({ probeMs: 100 }, { attempts: 4 });
  fx.fail({ match: /./, status: 503 });
  const jsonRevs = () => fx.hg.requests.filter((r) => r.includes('json-rev')).length;
  await t.throwsAsync(hg.changeset(fx.repo(AUTOLAND), NODE), { message: /answered 503$/ });
  t.is(jsonRevs(), 4, 'one request, four attempts');
  t.true(health.isUp(fx.hg.host));
  await t.throwsAsync(hg.changeset(fx.repo(AUTOLAND), NODE));
  t.true(health.isUp(fx.hg.host));
  await t.throwsAsync(hg.changeset(fx.repo(AUTOLAND), NODE));
  t.false(health.isUp(fx.hg.host));
  t.is(jsonRevs(), 12);
  // Refused at once, without a request.
  await t.throwsAsync(hg.changeset(fx.repo(AUTOLAND), NODE), { instanceOf: HostDown });
  t.is(jsonRevs(), 12);
  t.like(transitions, [{ host: fx.hg.host, up: false, reason: { kind: 'failing', failures: 3 } }]);
  t.deepEqual(
    health.downHosts().map((h) => h.host),
    [fx.hg.host],
  );
  // Its probe, the first after the probe interval: an empty page of the repository's
  // pushlog, never a message's.
  t.false(
    fx.hg.requests.some((r) => r.includes('json-pushes')),
    'not at once',
  );
  await until('a probe', () => fx.hg.requests.some((r) => r.includes('json-pushes')));
  t.true(
    fx.hg.requests.includes('GET /integration/autoland/json-pushes?version=2&startID=0&endID=0'),
  );
  t.false(health.isUp(fx.hg.host), 'a probe answered 503 keeps it down');
  await close();
});

test.serial(
  'the same 4xx to every request opens it, and the error names the setting',
  async (t) => {
    const fx = await startFixtures();
    const health = new HostHealth({ failures: 3, probeMs: 50 });
    const http = new Http(new HostLimits(8, health), { backoffMs: 1 });
    // A wrong TMO_BASE_URL: every PUT, and the probe's GET, answer 404.
    const telemetry = new TelemetryClient(http, {
      baseUrl: `${fx.tmo.url}/wrong`,
      namespace: 'eng-workflow',
      doctype: 'hgpush',
      docversion: '1',
    });
    const { result: errors, lines } = await capturingLog(async () => {
      const errors: unknown[] = [];
      for (const n of [1, 2, 3, 4]) await telemetry.submit(pingFor(n)).catch((e) => errors.push(e));
      // A few probes come and go, each answered 404 again.
      await until('probes', () => fx.tmo.requests.filter((r) => r === 'GET /wrong').length >= 3);
      return errors;
    });
    t.deepEqual(
      errors.map((e) => (e as PipelineError).name),
      ['PipelineError', 'PipelineError', 'HostDown', 'HostDown'],
    );
    t.regex((errors[0] as Error).message, /^telemetry refused the ping .* answered 404/);
    t.is((errors[2] as PipelineError).kind, 'transient');
    t.is(fx.tmo.requests.filter((r) => r.startsWith('PUT')).length, 3, 'the fourth is not asked');
    t.false(health.isUp(fx.tmo.host));
    t.like(health.downHosts()[0]?.reason, { kind: 'refusing', status: 404, failures: 3 });
    const errorLines = lines.filter((line) => line.level === 'error');
    t.is(errorLines.length, 1);
    t.regex(errorLines[0]!.msg, /answers every request with 404: check TMO_BASE_URL/);
    t.false(lines.some((line) => line.msg.endsWith('is back')));
    health.close();
    await fx.close();
  },
);

test.serial('a probe that answers brings it back, once, with how long it was down', async (t) => {
  const { fx, bugzilla, health, transitions, close } = await upstreams({
    failures: 2,
    probeMs: 100,
  });
  const outage = new Switch('/rest/');
  fx.fail({ match: outage, status: 503 });
  const { lines } = await capturingLog(async () => {
    // One lookup is two requests (attachments, history): two failures, so down.
    await t.throwsAsync(bugzilla.bug(BUG), { message: /answered 503$/ });
    await until('down', () => !health.isUp(fx.bmo.host));
    await until(
      'two probes',
      () => fx.bmo.requests.filter((r) => r.includes('/version')).length >= 2,
    );
    t.false(health.isUp(fx.bmo.host), 'its probe answered 503: still down');
    outage.on = false;
    await health.waitUntilUp(fx.bmo.host);
  });
  t.true(health.isUp(fx.bmo.host));
  // The fixture has no /version: a 404 is an answer, so Bugzilla is up.
  t.true(fx.bmo.requests.includes('GET /rest/version'));
  t.like(transitions, [
    { host: fx.bmo.host, up: false },
    { host: fx.bmo.host, up: true },
  ]);
  t.true(transitions[1]!.downForMs! >= 100);
  t.deepEqual(
    lines.map((line) => `${line.level} ${line.msg}`),
    [`warn ${fx.bmo.host} is down; waiting until it answers again`, `info ${fx.bmo.host} is back`],
  );
  t.not(await bugzilla.bug(BUG), null);
  await close();
});

test('a host whose probe answers while some requests keep failing is not taken down again at once', async (t) => {
  const { fx, bugzilla, health, transitions, close } = await upstreams({
    failures: 2,
    probeMs: 50,
  });
  fx.fail({ match: new RegExp(`/bug/${BUG}/`), status: 503 });
  await t.throwsAsync(bugzilla.bug(BUG));
  await until('back by its probe', () => transitions.length === 2);
  t.true(health.breaker(fx.bmo.host).onProbation);
  // The same failures again: on probation, they fail the ordinary way, and the host stays up.
  await t.throwsAsync(bugzilla.bug(BUG), { message: /answered 503$/ });
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.true(health.isUp(fx.bmo.host));
  t.is(transitions.length, 2);
  // A good answer ends the probation: then they count again.
  t.not(await bugzilla.bug(OTHER_BUG), null);
  t.false(health.breaker(fx.bmo.host).onProbation);
  await t.throwsAsync(bugzilla.bug(BUG));
  // Down again, and back by its probe, which waited longer this time: the host flapped.
  await until('down again', () => transitions.length === 4);
  t.deepEqual(
    transitions.map((transition) => transition.up),
    [false, true, false, true],
  );
  t.true(transitions[1]!.downForMs! >= 50);
  t.true(transitions[3]!.downForMs! >= 100);
  await close();
});

test('in wait mode a request waits for its host to come back, then succeeds', async (t) => {
  const { fx, bugzilla, health, close } = await upstreams({
    failures: 2,
    probeMs: 50,
    whileDown: 'wait',
  });
  const outage = new Switch('/rest/');
  fx.fail({ match: outage, status: 503 });
  const lookup = bugzilla.bug(BUG);
  await until('down', () => !health.isUp(fx.bmo.host));
  setTimeout(() => (outage.on = false), 300);
  t.not(await lookup, null);
  t.true(health.isUp(fx.bmo.host));
  await close();
});

test('a refusal that is not the same 4xx each time, or a good answer between, opens nothing', async (t) => {
  const breaker = new HostBreaker('example.org', 3);
  for (const status of [404, 404, 401, 401, 200, 404, 404]) breaker.answered(status);
  t.true(breaker.up);
  breaker.answered(404);
  t.false(breaker.up);
  t.like(breaker.reason, { kind: 'refusing', status: 404 });
});

test('downSince names a host that was down at any moment since: one that went down and came back before the job ended too', async (t) => {
  // `wait`: the probes keep the process alive while the test waits for them.
  const health = new HostHealth({ failures: 1, probeMs: 20, whileDown: 'wait' });
  let answering = false;
  health.setProbe('store', {
    run: () => (answering ? Promise.resolve(200) : Promise.reject(new Error('no answer'))),
    setting: 'DATABASE_URL',
  });
  const before = Date.now();
  await health.breaker('store').record(false, new Error('connection refused'));
  t.false(health.isUp('store'));
  // A job that started while the store was down, and failed once it was back.
  const duringOutage = Date.now();
  t.deepEqual(health.downSince(duringOutage), ['store'], 'down now');
  answering = true;
  await health.waitUntilUp('store');
  t.deepEqual(health.downSince(before), ['store'], 'went down after the job started');
  t.deepEqual(health.downSince(duringOutage), ['store'], 'came back after the job started');
  await new Promise((resolve) => setTimeout(resolve, 5));
  t.deepEqual(health.downSince(Date.now()), [], 'a job started after it came back');
  health.close();
});
