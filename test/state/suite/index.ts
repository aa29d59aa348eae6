/**
 * The store suite, one for every engine: each engine's test file hands it a harness, and the
 * same tests run against a real database of that engine.
 */
import test, { type ExecutionContext } from 'ava';
import pLimit from 'p-limit';
import type { DatabaseTarget } from '../../../src/state/engines/databaseUrl.js';
import { openStore } from '../../../src/state/engines/openStore.js';
import type { Store, StoreOptions } from '../../../src/state/store.js';
import type { Harness } from '../support/harness.js';
import { claimTests } from './claims.js';
import { landingTests } from './landings.js';
import { lifecycleTests } from './lifecycle.js';
import { statusTests } from './status.js';
import { watermarkTests } from './watermarks.js';

export interface Suite {
  readonly harness: () => Harness;
  /** Opens a store on the shared database (or the one given), closed when the test ends. */
  open(t: ExecutionContext, options?: StoreOptions, target?: DatabaseTarget): Promise<Store>;
}

/**
 * How many of the suite's tests may hold stores at once. ava starts every test of a file
 * together, and on PostgreSQL each store's pool keeps its connections until it is closed:
 * the thirty tests at once took up to 77 of the server's 100, and with the other test files
 * beside them a CI run met "sorry, too many clients already". Four at a time: a peak of 53,
 * and the file takes no longer (5.7 s against 6.0 s).
 */
const TESTS_WITH_STORES = 4;

export const defineStoreSuite = (makeHarness: () => Promise<Harness>): void => {
  let harness: Harness | undefined;
  const slots = pLimit(TESTS_WITH_STORES);
  const slotted = new WeakMap<ExecutionContext, Promise<void>>();
  /** A slot for the test until it ends, taken at its first store; its stores close first. */
  const slotFor = (t: ExecutionContext): Promise<void> => {
    let slot = slotted.get(t);
    if (slot === undefined) {
      slot = new Promise<void>((taken) => {
        const holdUntilTheEnd = () =>
          new Promise<void>((free) => {
            // Teardowns run last registered first: the test's stores are closed by then.
            t.teardown(free);
            taken();
          });
        void slots(holdUntilTheEnd);
      });
      slotted.set(t, slot);
    }
    return slot;
  };
  test.before(async () => {
    harness = await makeHarness();
  });
  test.after.always(async () => {
    await harness?.teardown();
  });
  const suite: Suite = {
    harness: () => {
      if (harness === undefined) throw new Error('the harness did not start');
      return harness;
    },
    open: async (t, options = {}, target) => {
      await slotFor(t);
      const store = await openStore(target ?? suite.harness().shared, options);
      // Closed already by some tests, and failing by design in others.
      t.teardown(() => store.close().catch(() => undefined));
      return store;
    },
  };
  claimTests(suite);
  landingTests(suite);
  watermarkTests(suite);
  statusTests(suite);
  lifecycleTests(suite);
};
