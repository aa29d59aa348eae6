import test from 'ava';
import { randomNode, randomRepository } from '../support/harness.js';
import type { Suite } from './index.js';

export const watermarkTests = ({ open }: Suite): void => {
  test('only startWatermark creates a watermark, at the push before the first one seen', async (t) => {
    const store = await open(t);
    const repository = randomRepository();
    t.is(await store.pushSettled(repository, 5), undefined);
    t.is(await store.watermark(repository), undefined);
    t.false((await store.repositoriesWithWatermark()).includes(repository));
    await store.startWatermark(repository, 10);
    t.is(await store.watermark(repository), 9);
    await store.startWatermark(repository, 42);
    await store.startWatermark(repository, 3);
    t.is(await store.watermark(repository), 9, 'later calls change nothing');
    t.true((await store.repositoriesWithWatermark()).includes(repository));
  });

  test('the watermark moves over contiguous settled pushes and stops at a gap', async (t) => {
    const store = await open(t);
    const repository = randomRepository();
    await store.startWatermark(repository, 10);
    t.is(await store.pushSettled(repository, 10), 10);
    t.is(await store.pushSettled(repository, 12), 10);
    t.is(await store.pushSettled(repository, 13), 10);
    t.is(await store.watermark(repository), 10);
    t.is(await store.pushSettled(repository, 11), 13);
    t.is(await store.pushSettled(repository, 12), 13, 'settling again changes nothing');
    t.is(await store.pushSettled(repository, 4), 13, 'nor does a push below it');
    t.is(await store.watermark(repository), 13);
  });

  test('a backfill moves a watermark only once the worker started one', async (t) => {
    const [backfill, worker] = [await open(t), await open(t)];
    const repository = randomRepository();
    for (const push of [20, 21, 22, 24]) await backfill.pushSettled(repository, push);
    t.is(await backfill.watermark(repository), undefined);
    await worker.startWatermark(repository, 20);
    t.is(await worker.watermark(repository), 22, 'over what the backfill settled before');
    t.is(await backfill.pushSettled(repository, 23), 24);
  });

  test('a watermark walks over more settled pushes than one read brings', async (t) => {
    const store = await open(t);
    const repository = randomRepository();
    const pushes = Array.from({ length: 1_201 }, (_, i) => i + 1);
    // Fifty at a time: all 1,201 at once queued for the pool's connections past its connect
    // timeout on a loaded machine, and concurrency is not what this test is about.
    for (let i = 0; i < pushes.length; i += 50) {
      await Promise.all(pushes.slice(i, i + 50).map((p) => store.pushSettled(repository, p)));
    }
    await store.startWatermark(repository, 1);
    t.is(await store.watermark(repository), 1_201);
  });

  test('a parked push counts as settled; a parked changeset does not settle its push', async (t) => {
    const store = await open(t);
    const repository = randomRepository();
    await store.startWatermark(repository, 1);
    await store.pushSettled(repository, 2);
    await store.park({ repository, pushId: 3, node: randomNode(), reason: 'bad diffstat' });
    t.is(await store.watermark(repository), 0);
    await store.park({ repository, pushId: 1, reason: 'telemetry refuses it' });
    t.is(await store.watermark(repository), 2);
    await store.park({ repository, pushId: 1, reason: 'parked twice' });
    t.deepEqual((await store.parkedCounts())[repository], 2);
  });

  test('stores settling pushes concurrently leave the watermark at the last one', async (t) => {
    const [a, b] = [await open(t), await open(t)];
    const repository = randomRepository();
    await a.startWatermark(repository, 1);
    const pushes = Array.from({ length: 60 }, (_, i) => i + 1);
    // A fixed shuffle: every store meets gaps that the other one fills.
    const shuffled = pushes.map((p) => [(p * 37) % 61, p]).sort(([x], [y]) => x! - y!);
    await Promise.all(
      shuffled.map(([, p], i) => (i % 2 === 0 ? a : b).pushSettled(repository, p!)),
    );
    t.is(await b.watermark(repository), 60);
  });

  test('a push settled while the watermark of its repository is being created is not left behind', async (t) => {
    const [worker, backfill] = [await open(t), await open(t)];
    const repositories = Array.from({ length: 30 }, randomRepository);
    await Promise.all(
      repositories.flatMap((r) => [worker.startWatermark(r, 1), backfill.pushSettled(r, 1)]),
    );
    const marks = await Promise.all(repositories.map((r) => worker.watermark(r)));
    t.deepEqual(
      marks,
      repositories.map(() => 1),
    );
  });
};
