import type { DownHost } from '../../clients/health.js';

/** `HH:MM:SS` of a UTC time. */
export const clock = (date: Date): string => date.toISOString().slice(11, 19);

/**
 * A host a run waits for. `until`: the end of a wait the host announced (a rate limit's reset,
 * a long Retry-After), when the client knows it; such a wait is not an outage.
 */
export interface WaitingHost extends DownHost {
  readonly until?: Date | undefined;
}

/** What the hosts' state is read from: their breakers, and the waits they asked for. */
export interface HostsState {
  downHosts(): readonly DownHost[];
  hosts(): readonly { readonly host: string }[];
  /** Before when the host asked not to be asked (a Retry-After, a rate limit); 0 if not. */
  heldUntil(host: string): number;
}

/**
 * The hosts a run waits for now: those down, and those that asked to be left alone until a
 * known time (with that time as `until`, so that the wait is not taken for an outage).
 */
export const waitingHosts = (state: HostsState): WaitingHost[] => {
  const down = new Map(state.downHosts().map((host) => [host.host, host]));
  const waiting: WaitingHost[] = [];
  for (const { host } of state.hosts()) {
    const held = state.heldUntil(host);
    const until = held > 0 ? new Date(held) : undefined;
    const isDown = down.get(host);
    if (isDown !== undefined) waiting.push({ ...isDown, until });
    else if (until !== undefined)
      waiting.push({ host, since: new Date(), reason: undefined, until });
  }
  return waiting;
};

export interface GiveUpRules {
  /** --max-wait: how long a host may stay down (a wait with a known end aside). */
  readonly maxWaitMs: number;
  /** The setting or argument to check for a host: `TMO_BASE_URL`, `BMO_API_URL`, `REPO_URL`. */
  readonly settingFor: (host: string) => string;
}

/**
 * Why a one-shot run should stop rather than wait on, or undefined to wait. A host that
 * answered the same 4xx to request after request (its breaker opened as `refusing`:
 * BREAKER_FAILURES in a row, 5 by default) will not mend by waiting: a setting is wrong.
 * A host down for longer than --max-wait is not waited for any more. A wait with a known end
 * (a rate limit) is waited out, however long.
 */
export const reasonToGiveUp = (
  hosts: readonly WaitingHost[],
  rules: GiveUpRules,
  now: number,
): string | undefined => {
  for (const down of hosts) {
    const setting = rules.settingFor(down.host);
    if (down.reason?.kind === 'refusing') {
      const { status, failures } = down.reason;
      return `${down.host} answered ${failures} requests in a row with ${status}, which waiting will not mend: check ${setting}`;
    }
    if (down.until !== undefined && down.until.getTime() > now) continue;
    const seconds = Math.round(rules.maxWaitMs / 1000);
    if (now - down.since.getTime() >= rules.maxWaitMs) {
      const cause = down.reason?.kind === 'failing' ? ` (${down.reason.error})` : '';
      return `${down.host} has been down since ${clock(down.since)} UTC${cause}, longer than --max-wait (${seconds} s): check that it is up, and ${setting}`;
    }
  }
  return undefined;
};

/**
 * Checks the hosts a run waits for every `everyMs` and calls `giveUp` once, with the reason,
 * when reasonToGiveUp says to stop.
 */
export class GiveUpWatch {
  reason: string | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    health: HostsState,
    rules: GiveUpRules,
    giveUp: (reason: string) => void,
    { everyMs = 500, now = Date.now }: { everyMs?: number; now?: () => number } = {},
  ) {
    this.timer = setInterval(() => {
      const reason = reasonToGiveUp(waitingHosts(health), rules, now());
      if (reason === undefined) return;
      this.reason = reason;
      this.stop();
      giveUp(reason);
    }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
