/**
 * The store's clock on PostgreSQL (databaseClock.ts) is measured at every renewal, through a
 * pool a worker keeps busy: a measure that waited for a connection is too uncertain and is
 * not taken, so the clock stays the database's and a short lease is not taken over early.
 * Here every connection of the pool is busy for seconds (a trigger that sleeps).
 */
import test from 'ava';
import { openStore } from '../../src/state/engines/openStore.js';
import { postgresHarness } from './support/postgresHarness.js';
import { randomNode, randomRepository, type Harness } from './support/harness.js';

let harness: Harness | undefined;
test.before(async () => {
  harness = await postgresHarness();
});
test.after.always(async () => {
  await harness?.teardown();
});

test("after a renewal on a busy pool, the store's clock is still the database's (within 0.5 s)", async (t) => {
  const target = await harness!.fresh();
  const store = await openStore(target);
  t.teardown(() => store.close().catch(() => undefined));
  // Every insert into claims takes 4 s: ten claims hold the pool's ten connections.
  await harness!.query(
    target,
    `create function slow_claim() returns trigger language plpgsql
       as $$ begin perform pg_sleep(4); return new; end $$;
     create trigger slow_claim before insert on claims for each row execute function slow_claim()`,
  );
  const repository = randomRepository();
  const busy = Array.from({ length: 10 }, () => store.claim({ repository, node: randomNode() }));
  await new Promise((resolve) => setTimeout(resolve, 200));
  await store.renewClaims();
  await Promise.all(busy);
  const before = Date.now();
  const [row] = await harness!.query(
    target,
    'select cast(extract(epoch from clock_timestamp()) * 1000 as bigint) as now',
  );
  const after = Date.now();
  const database = Number(row?.now) + (Date.now() - (before + after) / 2);
  const ahead = store.now() - database;
  t.log(`store.now() - the database's clock: ${ahead} ms`);
  t.true(Math.abs(ahead) < 500, `the store's clock is ${ahead} ms off the database's`);
});

test('CLAIM_LEASE_SECONDS=5: a store whose pool was busy does not take over a live claim of another', async (t) => {
  const target = await harness!.fresh();
  // a's own lease is left at 60 s only so that its timer does not measure again during the
  // test (under a load that lasts, each of its measures waits, and is as far off).
  const [a, b] = [await openStore(target), await openStore(target, { leaseSeconds: 5 })];
  t.teardown(() => a.close().catch(() => undefined));
  t.teardown(() => b.close().catch(() => undefined));
  const live = { repository: randomRepository(), node: randomNode() };
  // b works on it, alive: its timer renews the claim every 1.7 s.
  t.is(await b.claim(live), 'claimed');
  await harness!.query(
    target,
    `create function slow_claim() returns trigger language plpgsql
       as $$ begin if new.owner = '${a.owner}' then perform pg_sleep(9.5); end if; return new; end $$;
     create trigger slow_claim before insert on claims for each row execute function slow_claim()`,
  );
  const repository = randomRepository();
  const busy = Array.from({ length: 10 }, () => a.claim({ repository, node: randomNode() }));
  await new Promise((resolve) => setTimeout(resolve, 200));
  await a.renewClaims().catch(() => undefined);
  await Promise.all(busy);
  await harness!.query(target, 'drop trigger slow_claim on claims; drop function slow_claim()');
  const answers: string[] = [];
  for (let i = 0; i < 30; i += 1) {
    answers.push(await a.claim(live));
    if (answers.at(-1) === 'claimed') break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.log(`a's answers: ${answers.join(',')}`);
  t.false(answers.includes('claimed'), "a took over b's live claim");
  t.true(await b.holdsClaim(live), 'b, alive and renewing, lost its claim');
});
