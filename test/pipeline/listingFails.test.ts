/**
 * A listing that fails after it listed some changesets (a git compare whose later page fails)
 * fails its job, but only once the changesets already listed are done: none keeps a claim.
 * Before, the job's failure cut them off in flight, and the claims they had taken stayed in
 * the store, renewed by this process for as long as it lived: every retry of the push found
 * its own changesets `held`, and no other process could send them either.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { lastValueFrom, of, toArray } from 'rxjs';
import { Changeset } from '../../src/codecs/changeset.js';
import type { Diffstat } from '../../src/codecs/ping.js';
import { PipelineError } from '../../src/errors.js';
import { configureLog } from '../../src/log.js';
import { pipeline, type PipelineDeps } from '../../src/pipeline/index.js';
import type { Job } from '../../src/pipeline/job.js';
import { MemorySink } from '../../src/sinks/memory.js';
import { openStore } from '../../src/state/engines/openStore.js';
import { oneClaimPerProcess } from '../../src/worker/processClaims.js';

configureLog({ level: 'silent' });

const REPO = 'https://github.com/mozilla-firefox/firefox/tree/autoland';
const sha = (i: number) => i.toString(16).padStart(40, 'a');
const commit = (i: number): Changeset => {
  const decoded = Changeset.decode({
    node: sha(i),
    desc: `Bug ${1000 + i} - change ${i}, r=someone`,
    user: 'A <a@example.com>',
    parents: [sha(i - 1)],
    pushdate: [1_700_000_000 + i, 0],
    landingsystem: null,
  });
  if (decoded._tag === 'Left') throw new Error('bad commit fixture');
  return decoded.right;
};
const DIFFSTAT = { changedFiles: 1, additions: 1, deletions: 0 } as Diffstat;
const notAsked = () => Promise.reject(new Error('not asked'));

test('a listing that fails midway fails its job after the changesets it listed, which keep no claim', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'listing-fails-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'store.sqlite');
  const store = await openStore({ engine: 'sqlite', path }, { leaseSeconds: 60 });
  const other = await openStore({ engine: 'sqlite', path }, { leaseSeconds: 60 });
  t.teardown(() => Promise.all([store.close(), other.close()]));
  let pages = 1;
  const git: NonNullable<PipelineDeps['git']> = {
    owns: () => true,
    async *compare() {
      for (let i = 1; i <= 3; i += 1) yield commit(i);
      // The second page fails after the first page's commits went into the pipeline.
      await sleep(20);
      if (pages === 1) throw new PipelineError('page 2 of compare answered 502', 'transient');
      yield commit(4);
    },
    changeset: notAsked,
    diffstat: () => Promise.resolve(DIFFSTAT),
  };
  // Bugzilla answers slowly: the commits are still being classified when the listing fails.
  const bugzilla = { bug: () => sleep(200).then(() => null) };
  const hg = { pushlogPage: notAsked, changeset: notAsked, diffstat: notAsked };
  const sink = new MemorySink();
  const run = pipeline({
    hg,
    git,
    bugzilla,
    sink,
    ledger: oneClaimPerProcess(store),
    policy: { whenHeld: 'defer', startsWatermarks: true },
  });
  const job: Job = {
    label: 'git push',
    target: { kind: 'gitPush', repository: REPO, base: sha(0), head: sha(4) },
    receivedAt: Date.now(),
  };

  const [first] = await lastValueFrom(run(of(job)).pipe(toArray()));
  // The job's failure comes first, as the listing fails; its outcome waits for the rest.
  const statuses = first!.outcomes.map((o) => o.status);
  t.deepEqual(statuses, ['failed', 'sent', 'sent', 'sent']);
  t.deepEqual(
    sink.pings.map((p) => p.changesetID),
    [sha(1), sha(2), sha(3)],
  );
  // No claim left behind: another process finds them sent, not held.
  t.is(await other.claim({ repository: REPO, node: sha(1) }), 'sent');

  // The retry, with the compare answering in full: the fourth is sent, nothing twice.
  pages = 2;
  const [second] = await lastValueFrom(run(of(job)).pipe(toArray()));
  t.deepEqual(
    second!.outcomes.map((o) => o.status),
    ['skipped', 'skipped', 'skipped', 'sent'],
  );
  t.is(sink.pings.length, 4);
});
