/**
 * One "process" of the cross-process test: at the given instant, opens the store (racing the
 * others to migrate), then claims and records each node it is given, and prints what it got.
 * Usage: claimer.ts DATABASE_URL START_EPOCH_MS NODE...
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { openStore } from '../../../src/state/engines/openStore.js';

const [url, startAt, ...nodes] = process.argv.slice(2);
await sleep(Number(startAt) - Date.now());
const store = await openStore(url);
const outcomes: string[] = [];
for (const node of nodes) {
  const outcome = await store.claim({ repository: 'repo-processes', node });
  if (outcome === 'claimed') {
    await store.recordSent({ node, repository: 'repo-processes', reviewSystem: 'unknown' });
  }
  outcomes.push(outcome);
}
await store.close();
process.stdout.write(JSON.stringify(outcomes));
