/**
 * A claim on PostgreSQL is two statements: the upsert that takes the row, then the look at
 * the ledger. When the connection dies between them, the claim fails but the row it wrote is
 * ours, with a fresh lease, and nobody works on it: the store lets it go as it does a failed
 * release (left out of renewals, deleted once it can be), rather than renewing it for as long
 * as the process lives. A relay to PostgreSQL cuts the connection at that look.
 */
import test, { type ExecutionContext } from 'ava';
import { connect, createServer, type Socket } from 'node:net';
import { openStore } from '../../src/state/engines/openStore.js';
import { StoreError } from '../../src/state/errors.js';
import { postgresHarness } from './support/postgresHarness.js';
import { ManualClock, randomNode, randomRepository, type Harness } from './support/harness.js';

const LEASE_MS = 60_000;

let harness: Harness | undefined;
test.before(async () => {
  harness = await postgresHarness();
});
test.after.always(async () => {
  await harness?.teardown();
});

/** A relay to PostgreSQL; armed, it cuts the connection that sends the claim's ledger check. */
const relay = async () => {
  const sockets = new Set<Socket>();
  let armed = false;
  const server = createServer((client) => {
    const upstream = connect(5432, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (chunk) => {
      const text = chunk.toString('latin1');
      const ledgerCheck =
        text.includes('select 1 from ledger where repository') &&
        !text.includes('insert into claims');
      if (armed && ledgerCheck) {
        armed = false;
        client.destroy();
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    client.on('error', () => undefined).on('close', () => upstream.destroy());
    upstream.on('error', () => undefined).on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    arm: () => {
      armed = true;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
};

const setup = async (t: ExecutionContext) => {
  const clock = new ManualClock();
  const target = await harness!.fresh();
  if (target.engine !== 'postgres') throw new Error('PostgreSQL only');
  const proxy = await relay();
  t.teardown(() => proxy.close());
  const viaProxy = {
    engine: 'postgres' as const,
    url: target.url.replace(':5432', `:${proxy.port}`),
  };
  const a = await openStore(viaProxy, { now: clock.now });
  const b = await openStore(target, { now: clock.now });
  t.teardown(() => a.close().catch(() => undefined));
  t.teardown(() => b.close().catch(() => undefined));
  return { clock, target, proxy, a, b };
};

/** a works on nothing and renews every third of a lease: three leases later, b takes it. */
const assertLetGo = async (
  t: ExecutionContext,
  { clock, a, b }: Pick<Awaited<ReturnType<typeof setup>>, 'clock' | 'a' | 'b'>,
  landing: { repository: string; node: string },
) => {
  for (let tick = 0; tick < 9; tick += 1) {
    clock.advance(LEASE_MS / 3);
    await a.renewClaims();
  }
  t.is(await b.claim(landing), 'claimed', 'three leases later, nobody in a works on it');
};

test('a release that failed, then a claim whose connection died after its upsert: not held for ever', async (t) => {
  const { clock, target, proxy, a, b } = await setup(t);
  const landing = { repository: randomRepository(), node: randomNode() };
  t.is(await a.claim(landing), 'claimed');
  const undo = await harness!.refuse(target, 'claims', ['delete']);
  await t.throwsAsync(a.release(landing), { instanceOf: StoreError });
  await undo();
  // The job's retry: its upsert takes the row, then the connection dies before the check.
  clock.advance(1_000);
  proxy.arm();
  await t.throwsAsync(a.claim(landing), { instanceOf: StoreError });
  await assertLetGo(t, { clock, a, b }, landing);
});

test('a claim whose connection died after its upsert (no release before): not held for ever', async (t) => {
  const { clock, proxy, a, b } = await setup(t);
  const landing = { repository: randomRepository(), node: randomNode() };
  proxy.arm();
  await t.throwsAsync(a.claim(landing), { instanceOf: StoreError });
  await assertLetGo(t, { clock, a, b }, landing);
});
