import { landingKey } from '../codecs/scalars.js';
import { dryRunLedger, type Ledger } from '../pipeline/ledger.js';

/**
 * The store's claims keep two processes from sending one changeset, but all the jobs of one
 * process share its owner, and a claim that is already ours is ours again: a push run by a
 * live message and by gap-fill at the same time would be sent by both. This ledger answers
 * `held` for a changeset another job of this process has claimed and not yet recorded or
 * released, as the store answers for another process's claim: the live message is deferred,
 * the gap-fill push is tried at the next poll, and by then the ledger says it was sent.
 * A dry run claims nothing, so it has nothing to guard: its ledger comes back as it is.
 */
export const oneClaimPerProcess = (ledger: Ledger): Ledger => {
  if (ledger === dryRunLedger) return ledger;
  /** Landings being worked on, by landingKey. */
  const working = new Set<string>();
  return {
    isSent: (landing) => ledger.isSent(landing),
    claim: async (landing, options) => {
      const key = landingKey(landing);
      if (working.has(key)) return 'held';
      // Taken before the await, so that two jobs asking at once cannot both pass.
      working.add(key);
      try {
        const answer = await ledger.claim(landing, options);
        if (answer !== 'claimed') working.delete(key);
        return answer;
      } catch (error) {
        working.delete(key);
        throw error;
      }
    },
    holdsClaim: (landing) => ledger.holdsClaim(landing),
    // Let go only once the store has: a job claiming it meanwhile would find our row and
    // take it as its own, and the row deleted under it.
    recordSent: async (sent) => {
      await ledger.recordSent(sent);
      working.delete(landingKey(sent));
    },
    release: async (landing) => {
      try {
        await ledger.release(landing);
      } finally {
        working.delete(landingKey(landing));
      }
    },
    startWatermark: (repository, pushId) => ledger.startWatermark(repository, pushId),
    pushSettled: (repository, pushId) => ledger.pushSettled(repository, pushId),
  };
};
