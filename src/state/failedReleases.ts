/**
 * Claims this process let go of while the database was away: their release failed, so the
 * rows are still ours. Renewed, they would stay ours, held for every other process for as
 * long as this one lives; so the store leaves them out of its renewals (claims.renewAll) and
 * releases them again at each renewal until that works. Claiming one again makes it ours to
 * renew again. A claim that fails is let go of too: its row may be ours.
 */
import { landingKey } from '../codecs/scalars.js';
import type { ClaimOutcome, Landing } from '../pipeline/ports.js';
import { releaseLapsing, type ClaimContext } from './claims.js';

interface LetGo {
  readonly landing: Landing;
  /** When its release failed, by the store's clock. */
  readonly since: number;
}

export class FailedReleases {
  readonly #letGo = new Map<string, LetGo>();

  constructor(private readonly ctx: ClaimContext) {}

  /** Runs a release: one that fails leaves the claim let go of. */
  async releasing(landing: Landing, release: () => Promise<void>): Promise<void> {
    try {
      await release();
    } catch (error) {
      this.#failed(landing);
      throw error;
    }
  }

  /**
   * Runs a claim: one that answers `claimed` makes the landing ours to renew again; one that
   * fails may have left a row of ours (PostgreSQL: the insert went in, the look at the ledger
   * failed), worked on by nobody, and lets it go as a failed release does.
   */
  async claiming(landing: Landing, claim: () => Promise<ClaimOutcome>): Promise<ClaimOutcome> {
    try {
      const answer = await claim();
      if (answer === 'claimed') this.#letGo.delete(landingKey(landing));
      return answer;
    } catch (error) {
      this.#failed(landing);
      throw error;
    }
  }

  #failed(landing: Landing): void {
    this.#letGo.set(landingKey(landing), { landing, since: this.ctx.now() });
  }

  /** The landings still let go of, to leave out of a renewal. */
  landings(): Landing[] {
    return [...this.#letGo.values()].map(({ landing }) => landing);
  }

  /** Releases them again, in turn; at the first that fails (still away), the rest wait. */
  async releaseAgain(): Promise<void> {
    for (const [key, letGo] of this.#letGo) {
      // Not renewed since it failed, its lease ends at most a lease after: a claim taken
      // again since then ends later, and is left alone.
      const endsBy = letGo.since + this.ctx.leaseMs;
      try {
        await releaseLapsing(this.ctx, letGo.landing, endsBy);
      } catch {
        return;
      }
      if (this.#letGo.get(key) === letGo) this.#letGo.delete(key);
    }
  }
}
