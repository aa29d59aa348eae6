import test from 'ava';
import { from, lastValueFrom, toArray, type Observable } from 'rxjs';
import { changesetJobs } from '../../streams/changeset.js';
import { createClients, createTelemetryClient } from '../../src/clients/index.js';
import { PipelineError } from '../../src/errors.js';
import { configureLog } from '../../src/log.js';
import type { Job, JobOutcome } from '../../src/pipeline/job.js';
import { pipeline } from '../../src/pipeline/index.js';
import { dryRun } from '../../src/pipeline/ledger.js';
import { MemorySink } from '../../src/sinks/memory.js';
import type { Sink } from '../../src/sinks/sink.js';
import { telemetrySink } from '../../src/sinks/telemetry.js';
import { documentId } from '../../src/rules/ping.js';
import { startFixtures, type Fixtures } from '../support/standIns/fixtureServer.js';
import { syntheticFixtures } from '../support/data/syntheticFixtures.js';

configureLog({ level: 'silent' });
const REPO = 'integration/autoland';

const clientsFor = (fx: Fixtures, concurrency = 8) =>
  createClients(
    {
      BMO_API_URL: fx.env.BMO_API_URL!,
      ALLOWED_HOSTS: [fx.hg.host],
      HTTP_CONCURRENCY: concurrency,
      DEBUG: false,
    },
    { backoffMs: 1, attempts: 3 },
  );

const run = (fx: Fixtures, jobs: Observable<Job>, sink: Sink = new MemorySink(), concurrency = 8) =>
  lastValueFrom(
    pipeline({ ...clientsFor(fx, concurrency), sink, ...dryRun })(jobs).pipe(toArray()),
  );

const pushJob = (
  fx: Fixtures,
  synthetic: ReturnType<typeof syntheticFixtures>,
  pushId: number,
): Job => ({
  label: `push ${pushId}`,
  target: { kind: 'push', repository: fx.repo(REPO), pushId, nodes: synthetic.nodes(pushId) },
  receivedAt: Date.now(),
});

const statuses = (results: JobOutcome[]) =>
  results.flatMap((r) =>
    r.outcomes.map((o) => (o.status === 'failed' ? `failed: ${o.error.message}` : o.status)),
  );

test('asks Bugzilla once per endpoint for changesets that share a bug', async (t) => {
  const synthetic = syntheticFixtures({ pushes: 20, changesetsPerBug: 4 });
  const fx = await startFixtures({ data: synthetic });
  const results = await run(
    fx,
    from(Array.from({ length: 20 }, (_, i) => pushJob(fx, synthetic, i + 1))),
  );
  t.true(statuses(results).every((s) => s === 'sent'));
  const perPath = new Map<string, number>();
  for (const request of fx.bmo.requests) perPath.set(request, (perPath.get(request) ?? 0) + 1);
  t.true(perPath.size > 0);
  t.deepEqual([...new Set(perPath.values())], [1]);
  // 60 changesets, 3 of every 5 need Bugzilla, 4 of each kind share a bug.
  t.is(fx.bmo.requests.length, 2 * Math.ceil(60 / (5 * 4)) * 3);
  await fx.close();
});

test('a Bugzilla that keeps failing fails the changeset instead of guessing', async (t) => {
  const synthetic = syntheticFixtures({ pushes: 1 });
  const fx = await startFixtures({ data: synthetic });
  fx.fail({ match: /\/rest\/bug\//, status: 500 });
  const [result] = await run(fx, from([pushJob(fx, synthetic, 1)]));
  const failed = result!.outcomes.filter((o) => o.status === 'failed');
  // Of push 1's three changesets (phabricator, bmo, no_bug) the two that need Bugzilla fail.
  t.is(failed.length, 2);
  for (const outcome of failed) {
    t.true(outcome.status === 'failed' && outcome.error.kind === 'transient');
  }
  t.is(result!.outcomes.filter((o) => o.status === 'sent').length, 1);
  await fx.close();
});

test('a telemetry 4xx is a permanent failure reported with the answer body', async (t) => {
  const synthetic = syntheticFixtures({ pushes: 1 });
  const fx = await startFixtures({ data: synthetic });
  const node = synthetic.nodes(1)[2]!;
  fx.fail({ match: new RegExp(documentId(fx.repo(REPO), node)), status: 400 });
  const { limits } = clientsFor(fx);
  const sink = telemetrySink(
    createTelemetryClient(limits, {
      TMO_BASE_URL: fx.env.TMO_BASE_URL!,
      TMO_PING_NAMESPACE: 'eng-workflow',
      TMO_PING_DOCTYPE: 'hgpush',
      TMO_PING_DOCVERSION: '1',
    }),
  );
  const [result] = await run(fx, from([pushJob(fx, synthetic, 1)]), sink);
  const failed = result!.outcomes.find((o) => o.status === 'failed');
  t.is(failed?.status === 'failed' ? failed.node : undefined, node);
  t.is(
    failed?.status === 'failed' ? failed.error.message : undefined,
    `telemetry refused the ping for ${node} (PUT ${fx.tmo.url}/submit/eng-workflow/hgpush/1/${documentId(fx.repo(REPO), node)} answered 400: {"error":true,"message":"injected failure"})`,
  );
  t.true(failed?.status === 'failed' && failed.error.kind === 'permanent');
  t.is(fx.tmo.requests.filter((r) => r.includes(documentId(fx.repo(REPO), node))).length, 1);
  t.is(fx.tmo.received.size, 2);
  await fx.close();
});

test('never has more than HTTP_CONCURRENCY requests in flight to one host', async (t) => {
  const synthetic = syntheticFixtures({ pushes: 30 });
  const fx = await startFixtures({ data: synthetic, latencyMs: 10 });
  const results = await run(
    fx,
    from(Array.from({ length: 30 }, (_, i) => pushJob(fx, synthetic, i + 1))),
    new MemorySink(),
    4,
  );
  t.is(results.length, 30);
  t.is(fx.hg.peakInFlight, 4);
  t.true(fx.bmo.peakInFlight <= 4);
  await fx.close();
});

test('one failing changeset does not stop the others, and every job is settled once', async (t) => {
  const synthetic = syntheticFixtures({ pushes: 3 });
  const fx = await startFixtures({ data: synthetic });
  const jobs = [1, 2, 3].map((id) => pushJob(fx, synthetic, id));
  jobs[1] = {
    ...jobs[1]!,
    target: { kind: 'push', repository: fx.repo(REPO), pushId: 2, nodes: ['0'.repeat(40)] },
  };
  const results = await run(fx, from(jobs));
  t.deepEqual(results.map((r) => r.job.label).sort(), ['push 1', 'push 2', 'push 3']);
  t.deepEqual(statuses(results.filter((r) => r.job.label === 'push 2')), [
    `failed: changeset ${'0'.repeat(40)} was not found in ${fx.repo(REPO)}`,
  ]);
  t.is(statuses(results).filter((s) => s === 'sent').length, 6);
  await fx.close();
});

test('a changeset job refuses an id that is not hex, before any request', async (t) => {
  const fx = await startFixtures({ data: syntheticFixtures({ pushes: 1 }) });
  const [result] = await run(fx, changesetJobs(fx.repo(REPO), '../../etc/passwd'));
  const [outcome] = result!.outcomes;
  t.true(outcome?.status === 'failed' && outcome.error instanceof PipelineError);
  t.is(
    outcome?.status === 'failed' ? outcome.error.message : '',
    'changeset id "../../etc/passwd" is not 12 to 40 hex characters',
  );
  t.is(fx.hg.requests.length, 0);
  await fx.close();
});

test('a push whose changesets are not known reads them with a request bounded to that push', async (t) => {
  const synthetic = syntheticFixtures({ pushes: 5 });
  const fx = await startFixtures({ data: synthetic });
  const job: Job = {
    label: 'message 1',
    target: { kind: 'push', repository: fx.repo(REPO), pushId: 4 },
    receivedAt: 0,
  };
  const [result] = await run(fx, from([job]));
  t.deepEqual(statuses([result!]), ['sent', 'sent', 'sent']);
  t.deepEqual(
    fx.hg.requests.filter((r) => r.includes('json-pushes')),
    [`GET /${REPO}/json-pushes?version=2&startID=3&endID=4`],
  );
  await fx.close();
});

test('a push the pushlog does not have, below its head, fails as a whole and for good, naming the push', async (t) => {
  const synthetic = syntheticFixtures({ pushes: 2 });
  const fx = await startFixtures({ data: synthetic });
  // The pushlog's head is push 9, and push 4 is not in it (stripped, say).
  fx.fail({
    match: /json-pushes\?version=2&startID=3&endID=4$/,
    body: () => JSON.stringify({ lastpushid: 9, pushes: {} }),
  });
  const job: Job = {
    label: 'message 1',
    target: { kind: 'push', repository: fx.repo(REPO), pushId: 4 },
    receivedAt: 0,
  };
  const [result] = await run(fx, from([job]));
  t.deepEqual(statuses([result!]), [`failed: push 4 is not in the pushlog of ${fx.repo(REPO)}`]);
  t.is(result!.outcomes[0]?.status === 'failed' && result!.outcomes[0].error.kind, 'permanent');
  await fx.close();
});

test('a push past the head of the pushlog fails as a whole, transiently: the mirror that answered may lag', async (t) => {
  const synthetic = syntheticFixtures({ pushes: 2 });
  const fx = await startFixtures({ data: synthetic });
  const job: Job = {
    label: 'message 1',
    target: { kind: 'push', repository: fx.repo(REPO), pushId: 99 },
    receivedAt: 0,
  };
  const [result] = await run(fx, from([job]));
  t.deepEqual(statuses([result!]), [
    `failed: push 99 is newer than the newest push of ${fx.repo(REPO)} (2); tried again later`,
  ]);
  t.is(result!.outcomes[0]?.status === 'failed' && result!.outcomes[0].error.kind, 'transient');
  await fx.close();
});
