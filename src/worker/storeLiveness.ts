import type { HostHealth } from '../clients/health.js';
import type { JobOutcome } from '../pipeline/job.js';
import type { Ledger } from '../pipeline/ledger.js';
import { STORE_HOST, storeErrorOf } from './pause.js';

/** A landing no ledger holds: reading it is the store's liveness check. */
const LIVENESS_LANDING = { repository: 'store-liveness', node: '0'.repeat(40) };

export const DEFAULT_LIVENESS_EVERY_MS = 2_000;
export const DEFAULT_LIVENESS_DEADLINE_MS = 3_000;

export interface StoreLivenessOptions {
  readonly ledger: Ledger;
  readonly health: HostHealth;
  /** How often the store is read while it is up. */
  readonly everyMs?: number;
  /** How long one read may take before the store is taken for down. */
  readonly deadlineMs?: number;
}

/** A read that did not answer in time. */
export class LivenessDeadline extends Error {
  override readonly name = 'LivenessDeadline';
}

/**
 * Whether the store answers, within a deadline: its failures alone would not say. A connection
 * that swallows statements (no bytes, no reset) fails them only at the driver's deadline, and a
 * handful of jobs failing one after another could be the start of an outage or their own bad
 * luck. So the store is read every `everyMs` (a miss takes it for down at once, which pauses
 * the worker and starts its probe, this same read), and again whenever a job failed on it
 * (`judge`), before the job's message is settled: a failure during an outage is then never
 * counted as an attempt of the message.
 */
export class StoreLiveness {
  private readonly everyMs: number;
  private readonly deadlineMs: number;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<boolean> | undefined;
  private stopped = false;

  constructor(private readonly options: StoreLivenessOptions) {
    this.everyMs = options.everyMs ?? DEFAULT_LIVENESS_EVERY_MS;
    this.deadlineMs = options.deadlineMs ?? DEFAULT_LIVENESS_DEADLINE_MS;
    // While the store is down its probe is this read too, deadline included: a probe that
    // waited on a black hole would bring the store back late by the driver's deadline.
    options.health.setProbe(STORE_HOST, {
      run: async () => {
        await this.read();
        return 200;
      },
      setting: 'DATABASE_URL (and the database itself)',
    });
  }

  /** Starts the periodic read. */
  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /**
   * Before a job's message is settled: if it failed on the store, reads the store now, and
   * takes it for down if that read fails too. Answers whether the store is down.
   */
  async judge(result: JobOutcome): Promise<boolean> {
    const failedOnStore = result.outcomes.some(
      (o) => o.status === 'failed' && storeErrorOf(o.error) !== undefined,
    );
    if (!failedOnStore) return false;
    if (!this.options.health.isUp(STORE_HOST)) return true;
    return !(await this.check());
  }

  /** One read, shared by whoever asks meanwhile; a failure takes the store for down. */
  check(): Promise<boolean> {
    this.checking ??= this.read()
      .then(
        () => true,
        (error: unknown) => {
          if (!this.stopped) this.options.health.breaker(STORE_HOST).trip(error);
          return false;
        },
      )
      .finally(() => (this.checking = undefined));
    return this.checking;
  }

  /** Reads the ledger; rejects if it fails or has not answered within the deadline. */
  private async read(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new LivenessDeadline(`the store did not answer within ${this.deadlineMs} ms`)),
        this.deadlineMs,
      );
    });
    const reading = this.options.ledger.isSent(LIVENESS_LANDING);
    // What answers after the deadline (or fails) is nobody's business any more.
    reading.catch(() => undefined);
    try {
      await Promise.race([reading, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      // While the store is down its probe reads it; the periodic read waits for it to be back.
      const up = this.options.health.isUp(STORE_HOST);
      void (up ? this.check() : Promise.resolve()).finally(() => this.schedule());
    }, this.everyMs);
    this.timer.unref();
  }
}
