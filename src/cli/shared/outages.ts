import type { HostHealth } from '../../clients/health.js';
import { HostLimits } from '../../clients/hostLimits.js';
import { createClients, hostHealth, type Clients } from '../../clients/index.js';
import type { UpstreamSettings } from '../../codecs/settings.js';
import { clock, waitingHosts, type HostsState } from './giveUp.js';

/** What a one-shot run waits for while a host is down, for its progress and summary. */
export interface OutageNotes {
  /** `{ waitingFor }` while a host is down, else nothing. */
  progressFields(): { waitingFor?: string };
  /** How long each host kept the run waiting, for the summary event. */
  summaryFields(): Record<string, unknown>;
  /** The same, as lines of the text summary. */
  summaryLines(): string[];
  /** Calls `listener` whenever a host goes down or comes back. */
  onChange(listener: () => void): void;
}

/**
 * A one-shot run (a backfill, whatever its source) through an outage. Its clients wait for a
 * host that is down (HostHealth in `wait` mode): a request that failed because its host went
 * down is tried again once the host answers its probe. No new job is taken while a host is
 * down (`gate`); the progress says what the run waits for and until when (giveUp.ts decides
 * when it stops waiting), and the summary how long it waited.
 */
export class RunOutages implements OutageNotes {
  /** Per host: how many times it went down and for how long in all, once it is back. */
  private readonly waited = new Map<string, { times: number; ms: number }>();
  private readonly listeners: (() => void)[] = [];

  /** The hosts' breakers and the waits they asked for, as giveUp.ts reads them. */
  readonly hostsState: HostsState;

  constructor(
    readonly health: HostHealth,
    limits: HostLimits,
    private readonly maxWaitMs: number,
  ) {
    this.hostsState = {
      downHosts: () => health.downHosts(),
      hosts: () => health.hosts(),
      heldUntil: (host) => limits.heldUntil(host),
    };
    health.transitions.subscribe((transition) => {
      if (transition.up) {
        const waited = this.waited.get(transition.host) ?? { times: 0, ms: 0 };
        this.waited.set(transition.host, {
          times: waited.times + 1,
          ms: waited.ms + (transition.downForMs ?? 0),
        });
      }
      for (const listener of this.listeners) listener();
    });
  }

  /** The source's jobs, each taken only once every host is up. */
  async *gate<T>(jobs: AsyncIterable<T>): AsyncGenerator<T> {
    const iterator = jobs[Symbol.asyncIterator]();
    try {
      for (;;) {
        await this.health.waitUntilUp();
        const next = await iterator.next();
        if (next.done === true) return;
        yield next.value;
      }
    } finally {
      await iterator.return?.();
    }
  }

  /** On a signal or giving up: nothing waits for a host any more (requests that did fail now). */
  stop(): void {
    this.health.close();
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  progressFields(): { waitingFor?: string } {
    const down = waitingHosts(this.hostsState);
    if (down.length === 0) return {};
    const hosts = down.map(({ host, since, until, reason }) => {
      if (reason?.kind === 'refusing')
        return `${host} (answers every request with ${reason.status})`;
      if (until !== undefined) return `${host} (waiting until ${clock(until)} UTC)`;
      const givingUp = clock(new Date(since.getTime() + this.maxWaitMs));
      return `${host} (down since ${clock(since)} UTC, giving up at ${givingUp} UTC)`;
    });
    return { waitingFor: hosts.join(', ') };
  }

  summaryFields(): Record<string, unknown> {
    if (this.waited.size === 0) return {};
    const waitedFor = [...this.waited].map(([host, { times, ms }]) => ({
      host,
      times,
      seconds: Math.round(ms / 100) / 10,
    }));
    return { waitedFor };
  }

  summaryLines(): string[] {
    return [...this.waited].map(
      ([host, { times, ms }]) =>
        `waited for ${host}: down ${times === 1 ? 'once' : `${times} times`}, ${(ms / 1000).toFixed(1)} s in all`,
    );
  }
}

/** A one-shot run's clients: a host that is down is waited for (up to `maxWaitMs`); and what says so. */
export const oneShotClients = (
  settings: UpstreamSettings,
  maxWaitMs: number,
): Clients & { readonly outages: RunOutages } => {
  const health = hostHealth(settings, 'wait');
  const limits = new HostLimits(settings.HTTP_CONCURRENCY, health);
  const clients = createClients(settings, {}, limits);
  return { ...clients, outages: new RunOutages(health, limits, maxWaitMs) };
};
