/**
 * The Store over a connected, migrated database: each method is one of claims.ts,
 * watermarks.ts or status.ts, its failure reworded to name the database, plus the timer that
 * keeps this store's claims alive while it is open.
 */
import { checkedPushId } from '../codecs/pushId.js';
import type { ClaimOptions, Landing, SentChangeset } from '../pipeline/ports.js';
import * as claims from './claims.js';
import type { Connection } from './engines/connection.js';
import { StoreClosed, StoreError } from './errors.js';
import { FailedReleases } from './failedReleases.js';
import * as git from './gitWatermarks.js';
import * as leases from './leases.js';
import type { ParkRequest } from './schema/schema.js';
import { settledPushes } from './settledPushes.js';
import { status, type StoreStatus } from './status.js';
import type { Store } from './store.js';
import * as watermarks from './watermarks.js';

export interface SqlStoreParts extends claims.ClaimContext {
  /** A StoreError saying what failed where, with the database's reason, password masked. */
  readonly fail: (what: string, error: unknown) => StoreError;
  readonly onRenewalError: (error: StoreError) => void;
  /** Measures the clock's offset from the database's again (databaseClock.ts), if it has one. */
  readonly syncClock?: () => Promise<void>;
}

export class SqlStore implements Store {
  readonly owner: string;
  readonly #parts: SqlStoreParts;
  readonly #conn: Connection;
  readonly #timer: NodeJS.Timeout;
  #renewing: Promise<unknown> | undefined;
  #closing: Promise<void> | undefined;
  /** Repositories whose watermark this store has seen exist: watermarks are never deleted. */
  readonly #watermarked = new Set<string>();
  /** Claims whose release failed: not renewed, released again (failedReleases.ts). */
  readonly #failedReleases: FailedReleases;

  constructor(parts: SqlStoreParts) {
    this.#parts = parts;
    this.#conn = parts.conn;
    this.owner = parts.owner;
    this.#failedReleases = new FailedReleases(parts);
    // A third of the lease: two renewals may fail (a database blip) before a claim lapses.
    this.#timer = setInterval(() => this.#renewInBackground(), parts.leaseMs / 3);
    // Claims expire on their own; an open store must not keep a finished process alive.
    this.#timer.unref();
  }

  #renewInBackground(): void {
    // A tick that finds the last renewal still running (a slow database) lets it be.
    this.#renewing ??= this.renewClaims()
      .catch((error: StoreError) => this.#parts.onRenewalError(error))
      // A callback that throws must not take the process down from inside a timer.
      .catch(() => undefined)
      .finally(() => (this.#renewing = undefined));
  }

  async #do<T>(what: string, task: () => Promise<T>): Promise<T> {
    if (this.#closing !== undefined) throw new StoreClosed(`${what}: the store is closed`);
    try {
      return await task();
    } catch (error) {
      throw this.#parts.fail(what, error);
    }
  }

  now() {
    return this.#parts.now();
  }
  isSent(landing: Landing) {
    return this.#do('isSent', () => claims.isSent(this.#parts, landing));
  }
  claim(landing: Landing, options?: ClaimOptions) {
    return this.#failedReleases.claiming(landing, () =>
      this.#do('claim', () => claims.claim(this.#parts, landing, options)),
    );
  }
  holdsClaim(landing: Landing) {
    return this.#do('holdsClaim', () => claims.holdsClaim(this.#parts, landing));
  }
  recordSent(sent: SentChangeset) {
    return this.#do('recordSent', () => {
      // A push id that is not one would be a REAL in SQLite, or overflow PostgreSQL's bigint.
      if (sent.pushId != null) checkedPushId(sent.pushId);
      return claims.recordSent(this.#parts, sent);
    });
  }
  release(landing: Landing) {
    return this.#failedReleases.releasing(landing, () =>
      this.#do('release', () => claims.release(this.#parts, landing)),
    );
  }
  releaseAll() {
    return this.#do('releaseAll', () => claims.releaseAll(this.#parts));
  }
  renewClaims() {
    return this.#do('renewClaims', async () => {
      await this.#parts.syncClock?.();
      await this.#failedReleases.releaseAgain();
      return claims.renewAll(this.#parts, () => this.#failedReleases.landings());
    });
  }
  /** The worker calls it for every push; once the watermark is known to exist, it costs nothing. */
  async startWatermark(repository: string, pushId: number) {
    if (this.#watermarked.has(repository)) return;
    await this.#do('startWatermark', () =>
      watermarks.startWatermark(this.#conn, repository, checkedPushId(pushId)),
    );
    this.#watermarked.add(repository);
  }
  /** The worker's pushes skip the look for a watermark once one was seen here. */
  async pushSettled(repository: string, pushId: number) {
    const seen = this.#watermarked.has(repository);
    const mark = await this.#do('pushSettled', () =>
      watermarks.pushSettled(
        this.#conn,
        repository,
        checkedPushId(pushId),
        this.#parts.now(),
        seen,
      ),
    );
    if (mark !== undefined) this.#watermarked.add(repository);
    return mark;
  }
  gitWatermark(repository: string) {
    return this.#do('gitWatermark', () => git.gitWatermark(this.#conn, repository));
  }
  startGitWatermark(repository: string, sha: string) {
    return this.#do('startGitWatermark', () => git.startGitWatermark(this.#conn, repository, sha));
  }
  gitPushSettled(repository: string, base: string, head: string) {
    return this.#do('gitPushSettled', () =>
      git.gitPushSettled(this.#conn, repository, base, head, this.#parts.now()),
    );
  }
  gitRepositoriesWithWatermark() {
    return this.#do('gitRepositoriesWithWatermark', () =>
      git.gitRepositoriesWithWatermark(this.#conn),
    );
  }
  watermark(repository: string) {
    return this.#do('watermark', () => watermarks.watermark(this.#conn, repository));
  }
  repositoriesWithWatermark() {
    return this.#do('repositoriesWithWatermark', () =>
      watermarks.repositoriesWithWatermark(this.#conn),
    );
  }
  park(parked: ParkRequest) {
    return this.#do('park', () =>
      watermarks.park(
        this.#conn,
        { ...parked, pushId: checkedPushId(parked.pushId) },
        this.#parts.now(),
      ),
    );
  }
  parkedCounts() {
    return this.#do('parkedCounts', () => watermarks.parkedCounts(this.#conn));
  }
  status(now?: number): Promise<StoreStatus> {
    return this.#do('status', () => status(this.#conn, now ?? this.#parts.now()));
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#renewing;
    let failure: StoreError | undefined;
    try {
      await claims.releaseAll(this.#parts);
    } catch (error) {
      // The claims lapse on their own within a lease; the database is closed all the same.
      failure = this.#parts.fail('close: releasing claims', error);
    }
    await this.#conn.close();
    if (failure !== undefined) throw failure;
  }

  takeLease(name: string, ttlMs: number) {
    return this.#do('takeLease', () => leases.takeLease(this.#parts, name, ttlMs));
  }
  releaseLease(name: string) {
    return this.#do('releaseLease', () => leases.releaseLease(this.#parts, name));
  }
  settledPushes(repository: string, after: number, upTo: number) {
    return this.#do('settledPushes', () => settledPushes(this.#conn, repository, after, upTo));
  }
}
