import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { HostHealth } from '../../src/clients/health.js';
import { HgClient } from '../../src/clients/hgmo.js';
import { HostLimits } from '../../src/clients/hostLimits.js';
import { Http } from '../../src/clients/http.js';
import { CHANGESET_FIELDS } from '../../src/clients/json/jsonRev.js';
import {
  AnswerTooLarge,
  DeadlineExceeded,
  NoSuchChangeset,
  UndecodableAnswer,
} from '../../src/errors.js';
import { configureLog } from '../../src/log.js';
import { FIXTURES_DIR } from '../support/data/fixtureData.js';
import { jsonRevStream, withoutFilesAndDiff } from '../support/data/hgJsonRev.js';
import { jsonWithHugeString, syntheticPatchLines } from '../support/data/hugeJson.js';
import { AUTOLAND, eventually, MIB, upstreams } from './upstreams.js';

configureLog({ level: 'silent' });

const NODE = 'f7ea35ab0117950edc47de7130e9d8941d0574d4';
const recorded = (repo: string, node: string) =>
  JSON.parse(
    readFileSync(join(FIXTURES_DIR, 'hg', repo, 'json-rev', `${node}.json`), 'utf8'),
  ) as Record<string, unknown>;
const kept = (changeset: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(changeset).filter(([key]) => CHANGESET_FIELDS.has(key)));

test('json-rev keeps the fields the codec reads, and nothing of files or diff', async (t) => {
  const { fx, hg } = await upstreams();
  const answer = recorded(AUTOLAND, NODE);
  t.true(Array.isArray(answer.diff) && Array.isArray(answer.files));
  const changeset = await hg.changeset(fx.repo(AUTOLAND), NODE.slice(0, 12));
  t.deepEqual(changeset, kept(answer) as never);
  t.deepEqual(Object.keys(changeset).sort(), [...CHANGESET_FIELDS].sort());
  await fx.close();
});

test('landingsystem may be null or missing', async (t) => {
  const { fx, hg } = await upstreams();
  const node = 'a27e10592645947b4e465857d57883e67bafa99c';
  t.is((await hg.changeset(fx.repo(AUTOLAND), node)).landingsystem, null);
  const central = await hg.changeset(fx.repo('mozilla-central'), node);
  t.false('landingsystem' in central);
  t.is(central.node as string, node);
  await fx.close();
});

test('an unknown changeset is NoSuchChangeset', async (t) => {
  const { fx, hg } = await upstreams();
  await t.throwsAsync(hg.changeset(fx.repo(AUTOLAND), 'abcdef0123456789'), {
    instanceOf: NoSuchChangeset,
  });
  await fx.close();
});

test('a diff of any size streams past unheld: no cap applies to it', async (t) => {
  const { fx, hg } = await upstreams({ maxAnswerBytes: MIB });
  const answer = recorded(AUTOLAND, NODE);
  const changeset = withoutFilesAndDiff(answer);
  fx.fail({
    match: /json-rev/,
    body: () => jsonRevStream(changeset, () => syntheticPatchLines(8e6)),
  });
  t.deepEqual(await hg.changeset(fx.repo(AUTOLAND), NODE), kept(answer) as never);
  await fx.close();
});

test('a kept field over MAX_ANSWER_MB fails at once, for good, naming the URL and the cap', async (t) => {
  const { fx, hg } = await upstreams({ maxAnswerBytes: MIB });
  let served = 0;
  fx.fail({
    match: /json-rev/,
    body: () =>
      jsonWithHugeString(300e6, 'desc', { node: NODE }).on(
        'data',
        (chunk: Buffer) => (served += chunk.length),
      ),
  });
  const error = await t.throwsAsync(hg.changeset(fx.repo(AUTOLAND), NODE), {
    instanceOf: AnswerTooLarge,
  });
  // At once: reading stopped soon after the cap, long before the 300 MB (bytes, not seconds).
  t.true(await eventually(() => fx.hg.inFlight === 0, 10_000));
  t.true(served < 64 * MIB, `${served} bytes served`);
  t.is(error?.kind, 'permanent');
  t.is(
    error?.message,
    `GET ${fx.repo(AUTOLAND)}/json-rev/${NODE}: more than the 1 MB cap (MAX_ANSWER_MB) in ` +
      `json-rev's kept fields (${[...CHANGESET_FIELDS].join(', ')}); a permanent failure, not retried`,
  );
  t.is(fx.hg.requests.length, 1);
  t.true(await eventually(() => fx.hg.inFlight === 0, 10_000));
  await fx.close();
});

const answering = (text: string) => () => Readable.from([text]);

test('a json-rev cut short is transient, retried, and says where it ends', async (t) => {
  const { fx, hg } = await upstreams({ attempts: 2 });
  fx.fail({ match: /json-rev/, body: answering(`{"node": "${NODE}", "desc": `) });
  const error = await t.throwsAsync(hg.changeset(fx.repo(AUTOLAND), NODE), {
    instanceOf: UndecodableAnswer,
  });
  t.is(error?.kind, 'transient');
  t.is(
    error?.message,
    `GET ${fx.repo(AUTOLAND)}/json-rev/${NODE} answered 200 with a body that is not the ` +
      'expected json-rev answer ((root): not JSON: in "desc": ends early, at byte 61); ' +
      'retried as a transient failure',
  );
  t.is(fx.hg.requests.length, 2);
  await fx.close();
});

test('a json-rev field of the wrong type is named, and transient', async (t) => {
  const { fx, hg } = await upstreams({ attempts: 1 });
  const { files, diff, ...rest } = recorded(AUTOLAND, NODE);
  fx.fail({
    match: /json-rev/,
    body: answering(JSON.stringify({ ...rest, files, diff, desc: 5 })),
  });
  const error = await t.throwsAsync(hg.changeset(fx.repo(AUTOLAND), NODE));
  t.true(error instanceof UndecodableAnswer && error.kind === 'transient');
  t.regex(error!.message, /expected json-rev answer \(desc: expected string, got 5\);/);
  await fx.close();
});

test('every json-pushes request carries startID and endID', async (t) => {
  const { fx, hg } = await upstreams();
  const page = await hg.pushlogPage(fx.repo(AUTOLAND), 182539, 182541);
  t.deepEqual(Object.keys(page.pushes), ['182540', '182541']);
  await hg.pushlogPage(fx.repo(AUTOLAND), 182547, 182547);
  t.deepEqual(fx.hg.requests, [
    `GET /${AUTOLAND}/json-pushes?version=2&startID=182539&endID=182541`,
    `GET /${AUTOLAND}/json-pushes?version=2&startID=182547&endID=182547`,
  ]);
  await fx.close();
});

test('a json-pushes answer over MAX_ANSWER_MB fails at once, for good', async (t) => {
  const { fx, hg } = await upstreams({ maxAnswerBytes: MIB });
  let served = 0;
  fx.fail({
    match: /json-pushes/,
    body: () => jsonWithHugeString(300e6).on('data', (chunk: Buffer) => (served += chunk.length)),
  });
  const error = await t.throwsAsync(hg.pushlogPage(fx.repo(AUTOLAND), 1, 2), {
    instanceOf: AnswerTooLarge,
  });
  // At once: reading stopped soon after the cap, long before the 300 MB (bytes, not seconds).
  t.true(await eventually(() => fx.hg.inFlight === 0, 10_000));
  t.true(served < 64 * MIB, `${served} bytes served`);
  t.is(
    error?.message,
    `GET ${fx.repo(AUTOLAND)}/json-pushes?version=2&startID=1&endID=2: more than the 1 MB cap ` +
      '(MAX_ANSWER_MB) in the answer; a permanent failure, not retried',
  );
  t.is(fx.hg.requests.length, 1);
  t.true(await eventually(() => fx.hg.inFlight === 0, 10_000));
  await fx.close();
});

for (const [endpoint, call] of [
  ['raw-rev', 'diffstat'],
  ['json-rev', 'changeset'],
] as const) {
  test(`${endpoint} trickling in past the stream deadline: each attempt cut off, then a transient failure`, async (t) => {
    // A deadline long enough that each attempt reaches the server even on a loaded machine.
    const { fx, hg } = await upstreams({ streamDeadlineMs: 1000, attempts: 3 });
    fx.fail({ match: new RegExp(endpoint), trickleMs: 20 });
    const error = await t.throwsAsync(hg[call](fx.repo(AUTOLAND), NODE), {
      instanceOf: DeadlineExceeded,
    });
    t.is(error?.kind, 'transient');
    t.is(
      error?.message,
      `GET ${fx.repo(AUTOLAND)}/${endpoint}/${NODE} did not finish within its 1 s deadline`,
    );
    t.is(fx.hg.requests.length, 3);
    // The server sees each socket closed: nothing is left trickling.
    t.true(await eventually(() => fx.hg.inFlight === 0, 10_000));
    await fx.close();
  });
}

test('json-pushes trickling in past the deadline for answers read whole is cut off too', async (t) => {
  const { fx, hg } = await upstreams({ deadlineMs: 1000, attempts: 2 });
  fx.fail({ match: /json-pushes/, trickleMs: 10 });
  const error = await t.throwsAsync(hg.pushlogPage(fx.repo(AUTOLAND), 182539, 182540), {
    instanceOf: DeadlineExceeded,
  });
  t.regex(
    error!.message,
    /json-pushes\?version=2&startID=182539&endID=182540 did not finish within its 1 s deadline$/,
  );
  t.is(fx.hg.requests.length, 2);
  t.true(await eventually(() => fx.hg.inFlight === 0, 10_000));
  await fx.close();
});

test('a transient failure that clears is retried to success', async (t) => {
  const { fx, hg } = await upstreams({ streamDeadlineMs: 1000 });
  fx.fail({ match: /raw-rev/, trickleMs: 20, times: 1 });
  t.deepEqual(await hg.diffstat(fx.repo(AUTOLAND), 'effbdd551cd0fa7b7648e3c9f12c198ed9526d06'), {
    changedFiles: 1,
    additions: 3,
    deletions: 1,
  });
  // The trickled first answer, then at least one retry (a loaded machine may stretch the
  // second past its 1 s deadline too; what matters is that a retry brought the answer).
  t.true(fx.hg.requests.length >= 2, `${fx.hg.requests.length} requests`);
  await fx.close();
});

test('built, the client is the probe of every allowed host before it asks anything', (t) => {
  const health = new HostHealth();
  t.teardown(() => health.close());
  new HgClient(new Http(new HostLimits(1, health)), ['hg.example', '127.0.0.1:8443']);
  t.true(health.hasProbe('hg.example'));
  t.true(health.hasProbe('127.0.0.1:8443'));
  // A probe is no breaker: no host shows (a gauge of hosts) before it was asked.
  t.deepEqual(health.hosts(), []);
});
