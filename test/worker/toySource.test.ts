import test from 'ava';
import { from } from 'rxjs';
import { createClients } from '../../src/clients/index.js';
import { configureLog } from '../../src/log.js';
import type { JobOutcome, SettlingJob, Target } from '../../src/pipeline/job.js';
import { dryRun } from '../../src/pipeline/ledger.js';
import { MemorySink } from '../../src/sinks/memory.js';
import { WorkerMetrics } from '../../src/worker/metrics.js';
import { Worker } from '../../src/worker/worker.js';
import { startFixtures } from '../support/standIns/fixtureServer.js';
import { syntheticFixtures } from '../support/data/syntheticFixtures.js';

configureLog({ level: 'silent' });

/** The toy source: an array of jobs, each settling itself by writing down its outcome. */
const toySource = (targets: readonly Target[]) => {
  const settled: { label: string; result: JobOutcome }[] = [];
  const jobs = targets.map((target, i): SettlingJob => ({
    label: `toy ${i}`,
    target,
    receivedAt: Date.now(),
    settle: async (result) => {
      settled.push({ label: `toy ${i}`, result });
    },
  }));
  return { jobs: from(jobs), settled };
};

test('a worker runs any source that gives its jobs their settle, each settled once', async (t) => {
  const synthetic = syntheticFixtures({ pushes: 3 });
  const fx = await startFixtures({ data: synthetic });
  const repository = fx.repo('integration/autoland');
  const clients = createClients(
    {
      BMO_API_URL: fx.env.BMO_API_URL!,
      ALLOWED_HOSTS: [fx.hg.host],
      HTTP_CONCURRENCY: 4,
      DEBUG: false,
    },
    { backoffMs: 1, attempts: 2 },
  );
  const sink = new MemorySink();
  const toy = toySource([
    ...[1, 2, 3].map((pushId): Target => ({ kind: 'push', repository, pushId })),
    { kind: 'changeset', repository, node: 'f'.repeat(40) },
  ]);
  const worker = new Worker({
    jobs: [toy.jobs],
    deps: { ...clients, sink, ...dryRun },
    metrics: new WorkerMetrics(),
  });
  await worker.start();
  t.deepEqual(await worker.stopped, { reason: 'every job stream ended', failed: false });

  // Every job settled once, with its own outcome, through the real pipeline.
  const labels = toy.settled.map((s) => s.label).sort();
  t.deepEqual(labels, ['toy 0', 'toy 1', 'toy 2', 'toy 3']);
  for (const { label, result } of toy.settled) t.is(result.job.label, label);
  const statuses = (label: string) =>
    toy.settled.find((s) => s.label === label)!.result.outcomes.map((o) => o.status);
  for (const label of ['toy 0', 'toy 1', 'toy 2'])
    t.deepEqual(statuses(label), ['sent', 'sent', 'sent']);
  t.deepEqual(statuses('toy 3'), ['failed']);
  t.is(sink.pings.length, 9);
  await fx.close();
});
