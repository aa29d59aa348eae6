import { log } from '../../src/log.js';
import { POLLER_LEASE, type GapFillStore } from './config.js';

/**
 * The poller lease: with a fleet on PostgreSQL, only its holder polls. Taken at each poll,
 * renewed every third of its length between polls (it outlasts a few failed renewals),
 * released at stop. A change of holder is logged once.
 */
export class PollerLease {
  private held: boolean | undefined;

  constructor(
    private readonly store: Pick<GapFillStore, 'takeLease' | 'releaseLease'>,
    readonly leaseMs: number,
    /** The pushlogs' poller by default; git branches have a lease of their own. */
    private readonly name = POLLER_LEASE,
  ) {}

  /** Whether this worker held the lease at its last try. */
  get holds(): boolean {
    return this.held === true;
  }

  /** Takes or renews it for a poll: true if this worker may poll. */
  async take(): Promise<boolean> {
    const held = await this.store.takeLease(this.name, this.leaseMs);
    if (held !== this.held) {
      log.info(
        held
          ? 'gap-fill: this worker polls'
          : 'gap-fill: another worker holds the lease; this one does not poll',
        { lease: this.name },
      );
    }
    this.held = held;
    return held;
  }

  /** Between polls: keeps the lease if this worker holds it. */
  async renew(): Promise<void> {
    if (this.held !== true) return;
    try {
      this.held = await this.store.takeLease(this.name, this.leaseMs);
      if (!this.held) log.warn('gap-fill: lost the poller lease to another worker');
    } catch (error) {
      // Tried again in a third of the lease; the next poll asks for it anyway.
      log.warn('gap-fill: could not renew the poller lease', { error });
    }
  }

  async release(): Promise<void> {
    if (this.held !== true) return;
    await this.store
      .releaseLease(this.name)
      .catch((error: unknown) => log.warn('could not release the poller lease', { error }));
    this.held = false;
  }
}

/** What a poller's timers drive. */
export interface Poller {
  poll(): void;
  /** Looks at the gate again: a change of the live load may have gone unannounced. */
  wake(): void;
  stopped(): boolean;
}

/**
 * A poller's timers, which keep no process alive: `poll` every `pollMs`, and every third of
 * the lease the lease renewed (polls come minutes apart: else it runs out between them, and
 * another worker of the fleet takes it and polls the same pushes) and the gate looked at.
 */
export const pollTimers = (
  lease: PollerLease,
  pollMs: number,
  poller: Poller,
): NodeJS.Timeout[] => {
  const timers = [
    setInterval(() => poller.poll(), pollMs),
    setInterval(() => {
      if (!poller.stopped()) void lease.renew();
      poller.wake();
    }, lease.leaseMs / 3),
  ];
  for (const timer of timers) timer.unref();
  return timers;
};
