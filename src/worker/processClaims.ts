import type { Ledger } from '../pipeline/ledger.js';

/**
 * The store's claims keep two processes from sending one changeset, but all the jobs of one
 * process share its owner, and a claim that is already ours is ours again: a push run by a
 * live message and by gap-fill at the same time would be sent by both. This ledger answers
 * `held` for a changeset another job of this process has claimed and not yet recorded or
 * released, as the store answers for another process's claim: the live message is deferred,
 * the gap-fill push is tried at the next poll, and by then the ledger says it was sent.
 */
export const oneClaimPerProcess = (ledger: Ledger): Ledger => {
  const working = new Set<string>();
  return {
    isSent: (node) => ledger.isSent(node),
    claim: async (node, repository, options) => {
      if (working.has(node)) return 'held';
      // Taken before the await, so that two jobs asking at once cannot both pass.
      working.add(node);
      try {
        const answer = await ledger.claim(node, repository, options);
        if (answer !== 'claimed') working.delete(node);
        return answer;
      } catch (error) {
        working.delete(node);
        throw error;
      }
    },
    holdsClaim: (node) => ledger.holdsClaim(node),
    // Let go only once the store has: a job claiming it meanwhile would find our row and
    // take it as its own, and the row deleted under it.
    recordSent: async (sent) => {
      await ledger.recordSent(sent);
      working.delete(sent.node);
    },
    release: async (node) => {
      try {
        await ledger.release(node);
      } finally {
        working.delete(node);
      }
    },
    startWatermark: (repository, pushId) => ledger.startWatermark(repository, pushId),
    pushSettled: (repository, pushId) => ledger.pushSettled(repository, pushId),
  };
};
