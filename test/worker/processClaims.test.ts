import test from 'ava';
import { dryRunLedger, type Ledger } from '../../src/pipeline/ledger.js';
import { oneClaimPerProcess } from '../../src/worker/processClaims.js';

const NODE = '62a578a28fe94efb7f03138bbfaa458d1c31314e';
const AUTOLAND = 'https://hg.mozilla.org/integration/autoland';
const CENTRAL = 'https://hg.mozilla.org/mozilla-central';

/** A store that grants every claim: only the process's own bookkeeping can answer `held`. */
const granting = (): Ledger => ({ ...dryRunLedger });

test('a landing claimed by one job of the process is held for the others until recorded', async (t) => {
  const ledger = oneClaimPerProcess(granting());
  t.is(await ledger.claim({ repository: AUTOLAND, node: NODE }), 'claimed');
  t.is(await ledger.claim({ repository: AUTOLAND, node: NODE }), 'held');
  t.is(await ledger.claim({ repository: `${AUTOLAND}/`, node: NODE }), 'held', 'one repository');
  await ledger.recordSent({ repository: AUTOLAND, node: NODE, reviewSystem: 'phabricator' });
  t.is(await ledger.claim({ repository: AUTOLAND, node: NODE }), 'claimed');
});

test('the same changeset in another repository is another landing, claimed at once', async (t) => {
  const ledger = oneClaimPerProcess(granting());
  t.is(await ledger.claim({ repository: AUTOLAND, node: NODE }), 'claimed');
  t.is(await ledger.claim({ repository: CENTRAL, node: NODE }), 'claimed');
  await ledger.release({ repository: CENTRAL, node: NODE });
  t.is(await ledger.claim({ repository: AUTOLAND, node: NODE }), 'held', 'release was for central');
  t.is(await ledger.claim({ repository: CENTRAL, node: NODE }), 'claimed');
});

test('a dry run guards nothing: a landing listed twice shows twice', async (t) => {
  const ledger = oneClaimPerProcess(dryRunLedger);
  t.is(await ledger.claim({ repository: AUTOLAND, node: NODE }), 'claimed');
  t.is(await ledger.claim({ repository: AUTOLAND, node: NODE }), 'claimed');
});
