import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreError } from '../../../src/state/errors.js';
import { ManualClock, randomNode, randomRepository } from '../support/harness.js';
import type { Suite } from './index.js';

const LEASE_MS = 60_000;

export const claimTests = ({ open, harness }: Suite): void => {
  test('a free changeset is claimed; held for others; sent for everyone once recorded', async (t) => {
    const [a, b] = [await open(t), await open(t)];
    const landing = { repository: randomRepository(), node: randomNode() };
    const { repository, node } = landing;
    t.is(await a.claim(landing), 'claimed');
    t.true(await a.holdsClaim(landing));
    t.is(await b.claim(landing), 'held');
    t.false(await b.holdsClaim(landing));
    t.false(await a.isSent(landing));
    await a.recordSent({ node, repository, pushId: 7, reviewSystem: 'phabricator' });
    t.true(await b.isSent(landing));
    t.false(await a.holdsClaim(landing), 'recordSent drops the claim');
    t.is(await b.claim(landing), 'sent');
    t.is(await a.claim(landing), 'sent');
    t.false(await a.holdsClaim(landing), 'answering sent leaves no claim behind');
  });

  test('a store claims again what it holds, and that renews the lease', async (t) => {
    const clock = new ManualClock();
    const [a, b] = [await open(t, { now: clock.now }), await open(t, { now: clock.now })];
    const landing = { repository: randomRepository(), node: randomNode() };
    t.is(await a.claim(landing), 'claimed');
    clock.advance(LEASE_MS - 1);
    t.is(await a.claim(landing), 'claimed');
    clock.advance(LEASE_MS - 1);
    t.true(await a.holdsClaim(landing));
    t.is(await b.claim(landing), 'held');
  });

  test('a claim whose lease ran out is taken over, and its old owner knows it', async (t) => {
    const clock = new ManualClock();
    const [a, b] = [await open(t, { now: clock.now }), await open(t, { now: clock.now })];
    const landing = { repository: randomRepository(), node: randomNode() };
    t.is(await a.claim(landing), 'claimed');
    clock.advance(LEASE_MS - 1);
    t.is(await b.claim(landing), 'held');
    clock.advance(1);
    t.false(await a.holdsClaim(landing), 'the lease ends at expiresAt');
    t.is(await b.claim(landing), 'claimed');
    t.true(await b.holdsClaim(landing));
    t.false(await a.holdsClaim(landing));
    t.is(await a.claim(landing), 'held');
  });

  test('release frees a changeset for another store at once', async (t) => {
    const [a, b] = [await open(t), await open(t)];
    const landing = { repository: randomRepository(), node: randomNode() };
    t.is(await a.claim(landing), 'claimed');
    await b.release(landing);
    t.is(await b.claim(landing), 'held', "a store cannot release another's claim");
    await a.release(landing);
    t.false(await a.holdsClaim(landing));
    t.is(await b.claim(landing), 'claimed');
  });

  test('recordSent keeps the first push and review system, needs no claim, and takes no push for dump', async (t) => {
    const a = await open(t);
    const landing = { repository: randomRepository(), node: randomNode() };
    const { repository, node } = landing;
    await a.recordSent({ node, repository, reviewSystem: 'bmo' });
    await a.recordSent({ node, repository, pushId: 3, reviewSystem: 'phabricator' });
    t.true(await a.isSent(landing));
    const mine = (await a.status()).repositories.find((r) => r.repository === repository);
    t.deepEqual(mine?.sentLast7Days, { bmo: 1 });
  });

  test('a resend claims what the ledger recorded before its cut-off, not what it recorded since', async (t) => {
    const clock = new ManualClock();
    const a = await open(t, { now: clock.now });
    const landing = { repository: randomRepository(), node: randomNode() };
    await a.recordSent({ ...landing, pushId: 3, reviewSystem: 'bmo' });
    clock.advance(1000);
    const cutoff = clock.now();
    clock.advance(1000);
    t.is(await a.claim(landing), 'sent');
    t.is(await a.claim(landing, { resendSentBefore: cutoff }), 'claimed');
    await a.recordSent({ ...landing, pushId: 3, reviewSystem: 'bmo' });
    // Sent again since the cut-off: a second listing, or the run's resume, skips it.
    t.is(await a.claim(landing, { resendSentBefore: cutoff }), 'sent');
  });

  test('two stores racing for the same 200 changesets: each is claimed exactly once', async (t) => {
    const [a, b] = [await open(t), await open(t)];
    const repository = randomRepository();
    const nodes = Array.from({ length: 200 }, randomNode);
    // Opposite orders, so that the two meet in the middle rather than take turns.
    const [fromA, fromB] = await Promise.all([
      Promise.all(nodes.map((node) => a.claim({ repository, node }))),
      Promise.all([...nodes].reverse().map((node) => b.claim({ repository, node }))),
    ]);
    fromB.reverse();
    const winners = nodes.map((_, i) => [fromA[i], fromB[i]].filter((o) => o === 'claimed'));
    t.true(winners.every((w) => w.length === 1));
    t.true([...fromA, ...fromB].every((o) => o === 'claimed' || o === 'held'));
    const heldByA = await Promise.all(nodes.map((node) => a.holdsClaim({ repository, node })));
    t.deepEqual(
      heldByA,
      fromA.map((o) => o === 'claimed'),
    );
  });

  test('renewal keeps a claim alive past its first lease', async (t) => {
    // A 1 s lease, renewed every third of it by the store's timer; three leases long. (A 300 ms
    // lease lapsed on a loaded machine whose database took longer than that to renew it.)
    const [a, b] = [await open(t, { leaseSeconds: 1 }), await open(t, { leaseSeconds: 1 })];
    const landing = { repository: randomRepository(), node: randomNode() };
    t.is(await a.claim(landing), 'claimed');
    await sleep(3_000);
    t.true(await a.holdsClaim(landing));
    t.is(await b.claim(landing), 'held');
  });

  test('a claim whose release failed is not renewed, and is released once the database is back, unless claimed again', async (t) => {
    const clock = new ManualClock();
    const target = await harness().fresh();
    const [a, b] = [
      await open(t, { now: clock.now }, target),
      await open(t, { now: clock.now }, target),
    ];
    const repository = randomRepository();
    const [dropped, reclaimed, kept] = [randomNode(), randomNode(), randomNode()];
    for (const node of [dropped, reclaimed, kept])
      t.is(await a.claim({ repository, node }), 'claimed');
    const undo = await harness().refuse(target, 'claims', ['delete']);
    for (const node of [dropped, reclaimed]) {
      await t.throwsAsync(a.release({ repository, node }), { instanceOf: StoreError });
    }
    clock.advance(LEASE_MS / 3);
    t.is(await a.renewClaims(), 1, 'only the claim still worked on, while deletes fail');
    await undo();
    // The job that let it go retries, and claims it again.
    t.is(await a.claim({ repository, node: reclaimed }), 'claimed');
    clock.advance(LEASE_MS / 3);
    t.is(await a.renewClaims(), 2);
    // Its lease not yet over, the claim let go of was released by that renewal.
    t.is(await b.claim({ repository, node: dropped }), 'claimed');
    for (let tick = 0; tick < 9; tick += 1) {
      clock.advance(LEASE_MS / 3);
      t.is(await a.renewClaims(), 2);
    }
    t.is(await b.claim({ repository, node: reclaimed }), 'held');
    t.is(await b.claim({ repository, node: kept }), 'held');
  });

  test('a release that failed, then a claim that failed too: released once the database is back', async (t) => {
    const clock = new ManualClock();
    const target = await harness().fresh();
    const [a, b] = [
      await open(t, { now: clock.now }, target),
      await open(t, { now: clock.now }, target),
    ];
    const landing = { repository: randomRepository(), node: randomNode() };
    t.is(await a.claim(landing), 'claimed');
    const undo = await harness().refuse(target, 'claims', ['insert', 'update', 'delete']);
    await t.throwsAsync(a.release(landing), { instanceOf: StoreError });
    // The job's retry, while the database is still away.
    await t.throwsAsync(a.claim(landing), { instanceOf: StoreError });
    await undo();
    clock.advance(LEASE_MS / 3);
    await a.renewClaims();
    t.is(await b.claim(landing), 'claimed', 'nobody works on it in a: not held for ever');
  });

  test('a landing recorded by an owner whose lease ran out is no longer held by the store that took it over', async (t) => {
    const clock = new ManualClock();
    const [a, b] = [await open(t, { now: clock.now }), await open(t, { now: clock.now })];
    const landing = { repository: randomRepository(), node: randomNode() };
    t.is(await a.claim(landing), 'claimed');
    // A's PUT is slow and its renewals do not land: B takes the claim over meanwhile.
    clock.advance(LEASE_MS);
    t.is(await b.claim(landing), 'claimed');
    await a.recordSent({ ...landing, pushId: 7, reviewSystem: 'no_bug' });
    // B's check before sending must fail: the ping is in the ledger.
    t.false(await b.holdsClaim(landing));
    t.is(await b.claim(landing), 'sent');
  });

  test('a host whose clock runs a lease ahead does not take over a live claim (PostgreSQL: the database clock)', async (t) => {
    const ahead = LEASE_MS + 1_000;
    const a = await open(t, { hostClock: Date.now });
    const b = await open(t, { hostClock: () => Date.now() + ahead });
    const landing = { repository: randomRepository(), node: randomNode() };
    t.is(await a.claim(landing), 'claimed');
    // Processes on one SQLite file share one host and its clock: only PostgreSQL corrects it.
    t.is(await b.claim(landing), harness().engine === 'postgres' ? 'held' : 'claimed');
    if (harness().engine === 'postgres') t.true(await a.holdsClaim(landing));
  });

  test("a --resend cut-off read off the store's clock: what the run sends after it is not sent again", async (t) => {
    const ahead = LEASE_MS + 1_000;
    const store = await open(t, { hostClock: () => Date.now() + ahead });
    const gap = Math.abs(store.now() - Date.now());
    t.true(harness().engine === 'postgres' ? gap < 5_000 : gap > ahead - 5_000, `${gap} ms off`);
    const landing = { repository: randomRepository(), node: randomNode() };
    const cutoff = store.now();
    await store.recordSent({ ...landing, pushId: 1, reviewSystem: 'bmo' });
    t.is(await store.claim(landing, { resendSentBefore: cutoff }), 'sent');
  });

  test('close releases the claims of the store, and only those', async (t) => {
    const [a, b] = [await open(t), await open(t)];
    const repository = randomRepository();
    const [mine, theirs] = [[randomNode(), randomNode()], randomNode()];
    for (const node of mine) t.is(await a.claim({ repository, node }), 'claimed');
    t.is(await b.claim({ repository, node: theirs }), 'claimed');
    await a.close();
    await a.close();
    for (const node of mine) t.is(await b.claim({ repository, node }), 'claimed');
    await t.throwsAsync(a.claim({ repository, node: randomNode() }), {
      instanceOf: StoreError,
      message: /claim: the store is closed/,
    });
    t.is(await b.releaseAll(), 3);
    t.false(await b.holdsClaim({ repository, node: theirs }));
  });
};
