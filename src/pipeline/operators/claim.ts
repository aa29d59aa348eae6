import { ConstantBackoff, handleWhenResult, retry } from 'cockatiel';
import { concatMap, type OperatorFunction } from 'rxjs';
import type { ChangesetRef, Outcome } from '../job.js';
import type { LedgerPolicy } from '../ledger.js';
import type { Ledger } from '../ports.js';

export interface ClaimDeps {
  readonly ledger: Ledger;
  readonly policy: LedgerPolicy;
  /** How long to wait before asking again for a claim another process holds (await). */
  readonly claimRetryMs?: number;
}

/** A changeset this process may now work on, or what became of it without any work. */
export type Claimed =
  { readonly ref: ChangesetRef } | { readonly ref: ChangesetRef; readonly outcome: Outcome };

const alreadySent = (ref: ChangesetRef): Outcome => ({
  status: 'skipped',
  node: ref.node,
  reason: 'already sent',
});

/** Asks for the claim again, every `waitMs`, for as long as another process holds it. */
const untilFree = (waitMs: number) =>
  retry(
    handleWhenResult((answer) => answer === 'held'),
    { backoff: new ConstantBackoff(waitMs) },
  );

/**
 * Before any upstream request: a changeset the ledger holds for this repository (the landing,
 * not the node alone) is skipped as already sent; any
 * other is claimed for this process. The store's claim does both: it claims only what the
 * ledger does not hold, and says `sent` for what it does. One held by another live process
 * is deferred (the job is not done and goes back for a later try) or awaited until its
 * claim is released, after which it is sent already or ours to claim. Claims expire within
 * a lease when their process dies, so awaiting ends.
 */
export const claim = ({
  ledger,
  policy,
  claimRetryMs = 1000,
}: ClaimDeps): OperatorFunction<ChangesetRef, Claimed> =>
  concatMap(async (ref): Promise<Claimed> => {
    const ask = () => ledger.claim(ref, { resendSentBefore: policy.resendSentBefore });
    // Only an answer is asked again; a failure of the ledger is the changeset's outcome.
    const answer = await (policy.whenHeld === 'await'
      ? untilFree(claimRetryMs).execute(ask)
      : ask());
    if (answer === 'claimed') return { ref };
    if (answer === 'sent') return { ref, outcome: alreadySent(ref) };
    return { ref, outcome: { status: 'held', node: ref.node } };
  });
