/**
 * Claims this process let go of while the database was away: their release failed, so the
 * rows are still ours. Renewed, they would stay ours, held for every other process for as
 * long as this one lives; so the store leaves them out of its renewals (claims.renewAll) and
 * releases them again at each renewal until that works. Claiming one again makes it ours to
 * renew again.
 */
import { repositoryUrl } from '../codecs/scalars.js';
import type { Landing } from '../pipeline/ports.js';
import { releaseLapsing, type ClaimContext } from './claims.js';

interface LetGo {
  readonly landing: Landing;
  /** When its release failed, by the store's clock. */
  readonly since: number;
}

const keyOf = ({ repository, node }: Landing): string => `${repositoryUrl(repository)} ${node}`;

export class FailedReleases {
  readonly #letGo = new Map<string, LetGo>();

  constructor(private readonly ctx: ClaimContext) {}

  failed(landing: Landing): void {
    this.#letGo.set(keyOf(landing), { landing, since: this.ctx.now() });
  }

  claimedAgain(landing: Landing): void {
    this.#letGo.delete(keyOf(landing));
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
