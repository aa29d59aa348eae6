import anyTest, { type TestFn } from 'ava';
import { concat, NEVER, of } from 'rxjs';
import { closeStore } from '../../src/cli/shared/sinkAndLedger.js';
import { createClients } from '../../src/clients/index.js';
import type { Ping } from '../../src/codecs/ping.js';
import { configureLog } from '../../src/log.js';
import type { SettlingJob } from '../../src/pipeline/job.js';
import type { Landing, Ledger } from '../../src/pipeline/ports.js';
import type { Sink } from '../../src/sinks/sink.js';
import { openStore } from '../../src/state/index.js';
import { WorkerMetrics } from '../../src/worker/metrics.js';
import { Worker } from '../../src/worker/worker.js';
import { syntheticFixtures } from '../support/data/syntheticFixtures.js';
import { startFixtures, type Fixtures } from '../support/standIns/fixtureServer.js';
import { sqliteHarness } from '../state/support/sqliteHarness.js';

// What happens to a ping on the wire when the worker stops (SIGTERM at a deploy): it must be
// in the ledger before the store closes, or the next process sends it again; and a changeset
// that reaches its PUT once the worker stopped taking jobs must send nothing.

configureLog({ level: 'silent' });

type SqliteHarness = Awaited<ReturnType<typeof sqliteHarness>>;

const test = anyTest as TestFn<{
  fx: Fixtures;
  sqlite: SqliteHarness;
  synthetic: ReturnType<typeof syntheticFixtures>;
}>;

test.before(async (t) => {
  const synthetic = syntheticFixtures({ pushes: 2, changesetsPerPush: 1 });
  t.context.synthetic = synthetic;
  t.context.fx = await startFixtures({ data: synthetic });
  t.context.sqlite = await sqliteHarness();
});

test.after.always(async (t) => {
  await t.context.fx?.close();
  await t.context.sqlite?.teardown();
});

/** Telemetry that answers each PUT after `answerMs`; it tells when a PUT starts. */
class SlowSink implements Sink {
  readonly started: Ping[] = [];
  readonly accepted: Ping[] = [];
  private answers: Promise<void>[] = [];
  private onStart: () => void = () => {};
  readonly firstStarted = new Promise<void>((resolve) => (this.onStart = resolve));

  constructor(private readonly answerMs: number) {}

  send(ping: Ping): Promise<void> {
    this.started.push(ping);
    this.onStart();
    const answer = new Promise<void>((resolve) => setTimeout(resolve, this.answerMs)).then(() => {
      this.accepted.push(ping);
    });
    this.answers.push(answer);
    return answer;
  }

  /** Resolves once every PUT started has been answered. */
  answered(): Promise<unknown> {
    return Promise.all(this.answers);
  }
}

/** A worker on one push whose job stream never ends: only a stop ends it, as with Pulse. */
const workerOn = (t: { context: { fx: Fixtures } }, ledger: Ledger, sink: Sink, pushId: number) => {
  const { fx } = t.context;
  const clients = createClients(
    {
      BMO_API_URL: fx.env.BMO_API_URL!,
      ALLOWED_HOSTS: [fx.hg.host],
      HTTP_CONCURRENCY: 4,
      DEBUG: false,
    },
    { backoffMs: 1, attempts: 2 },
  );
  const repository = fx.repo('integration/autoland');
  const job: SettlingJob = {
    label: `push ${pushId}`,
    target: { kind: 'push', repository, pushId },
    receivedAt: Date.now(),
    settle: async () => undefined,
  };
  const worker = new Worker({
    jobs: [concat(of(job), NEVER)],
    deps: { ...clients, sink, ledger, policy: { whenHeld: 'defer', startsWatermarks: true } },
    metrics: new WorkerMetrics(),
  });
  return { worker, repository };
};

/** What the next process finds: whether the landing is in the ledger, and what claiming it gives. */
const nextProcessSees = async (t: { context: { sqlite: SqliteHarness } }, landing: Landing) => {
  const next = await openStore(t.context.sqlite.shared, { owner: 'the-next-process' });
  try {
    return { inLedger: await next.isSent(landing), claim: await next.claim(landing) };
  } finally {
    await next.close();
  }
};

test.serial(
  'a ping telemetry accepts after the stop began is in the ledger before the store closes',
  async (t) => {
    const store = await openStore(t.context.sqlite.shared, { owner: 'stopping-process' });
    const sink = new SlowSink(300);
    const { worker, repository } = workerOn(t, store, sink, 1);
    await worker.start();
    await sink.firstStarted;
    t.is(sink.accepted.length, 0, 'the PUT is still on the wire when the stop begins');
    // As process-queue-messages does at SIGTERM: the worker stops, then the store closes.
    void worker.stop('SIGTERM');
    await worker.stopped;
    await closeStore(store);
    await sink.answered();

    t.is(sink.accepted.length, 1, 'telemetry accepted the ping that was on the wire');
    const landing = { repository, node: t.context.synthetic.nodes(1)[0]! };
    t.deepEqual(await nextProcessSees(t, landing), { inLedger: true, claim: 'sent' });
  },
);

test.serial('a changeset that reaches its PUT after the stop began sends nothing', async (t) => {
  const store = await openStore(t.context.sqlite.shared, { owner: 'stopping-process' });
  const sink = new SlowSink(10);
  // The real store, whose answer to "do we still hold the claim?" (just before the PUT) is
  // held back until the worker has stopped: the changeset reaches its PUT after the stop.
  // With no queue or polled source there is no grace: the worker stops taking jobs at once.
  let asked: () => void = () => {};
  const reachedSend = new Promise<void>((resolve) => (asked = resolve));
  let answer: () => void = () => {};
  const answered = new Promise<void>((resolve) => (answer = resolve));
  const ledger: Ledger = {
    isSent: (landing) => store.isSent(landing),
    claim: (landing, options) => store.claim(landing, options),
    holdsClaim: async (landing) => {
      asked();
      await answered;
      return store.holdsClaim(landing);
    },
    release: (landing) => store.release(landing),
    recordSent: (sent) => store.recordSent(sent),
    startWatermark: (repository, pushId) => store.startWatermark(repository, pushId),
    pushSettled: (repository, pushId) => store.pushSettled(repository, pushId),
  };
  const { worker, repository } = workerOn(t, ledger, sink, 2);
  await worker.start();
  await reachedSend;
  void worker.stop('SIGTERM');
  await worker.stopped;
  answer();
  // Time for a PUT to start and be answered, had one started; then the store closes.
  await new Promise((resolve) => setTimeout(resolve, 100));
  await closeStore(store);

  t.is(sink.started.length, 0, 'no PUT started after the stop');
  const landing = { repository, node: t.context.synthetic.nodes(2)[0]! };
  t.deepEqual(await nextProcessSees(t, landing), { inLedger: false, claim: 'claimed' });
});
