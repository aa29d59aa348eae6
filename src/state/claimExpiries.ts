/**
 * What this store knows of its own claims: until when each is surely live. A claim can be
 * taken over only once its lease has run out, so while the lease this process set is still
 * running nobody else can have it, and asking the database whether we hold it (just before
 * every ping is sent) would be a statement spent to learn nothing. Once the lease known here
 * has run out (a renewal failed or ran late), the database is asked again.
 */
export class ClaimExpiries {
  readonly #expiresAt = new Map<string, number>();

  /** Our claim on `node` now runs out at `expiresAt` (we claimed it, or the database said so). */
  claimed(node: string, expiresAt: number): void {
    this.#expiresAt.set(node, expiresAt);
  }

  /** It is no longer ours, or may not be (sent, released, held by another). */
  dropped(node: string): void {
    this.#expiresAt.delete(node);
  }

  droppedAll(): void {
    this.#expiresAt.clear();
  }

  /**
   * A renewal set every claim still ours to run out at `expiresAt`, and it had finished by
   * `finishedAt`. A claim whose known lease ran past `finishedAt` was ours all along, so it was
   * renewed; any other may have been taken over meanwhile and keeps its old, shorter lease
   * here, so that the database is asked about it.
   */
  renewed(expiresAt: number, finishedAt: number): void {
    for (const [node, known] of this.#expiresAt) {
      if (known > finishedAt) this.#expiresAt.set(node, expiresAt);
    }
  }

  /** True while our lease on it is known to run past `now`; false means "ask the database". */
  surelyLive(node: string, now: number): boolean {
    const expiresAt = this.#expiresAt.get(node);
    return expiresAt !== undefined && expiresAt > now;
  }
}
