/**
 * The store suite, one for every engine: each engine's test file hands it a harness, and the
 * same tests run against a real database of that engine.
 */
import test, { type ExecutionContext } from 'ava';
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

export const defineStoreSuite = (makeHarness: () => Promise<Harness>): void => {
  let harness: Harness | undefined;
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
