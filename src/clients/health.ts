import type { ExponentialBackoff } from 'cockatiel';
import { filter, firstValueFrom, Subject, type Observable } from 'rxjs';
import { DEFAULT_BREAKER_FAILURES, DEFAULT_BREAKER_PROBE_SECONDS } from '../codecs/settings.js';
import { log } from '../log.js';
import { HostBreaker } from './breaker.js';
import type { DownHost, HostHealthOptions, HostTransition, Probe } from './health/types.js';
import { HostWatch, probeBackoff } from './health/watch.js';

export type { DownHost, HostHealthOptions, HostTransition, Probe } from './health/types.js';

/**
 * The health of every upstream host (hg.mozilla.org, Bugzilla, telemetry; the worker adds
 * `store`), shared by all the clients through their HostLimits: one HostBreaker each, and a
 * probe of its own that runs while it is down until it answers. The probes of an outage come
 * `probeMs` apart, the first too, jittered up to half as long again; a host that goes down
 * again soon after its probe brought it back (some requests fail while the probe's succeed)
 * waits twice as long, and so on up to 16 times `probeMs`, until it stays up that long: it
 * cannot flap faster than its probe interval. A host that asked for a wait (Retry-After) is
 * not probed before then. One warning line when a host goes down (an error naming the
 * setting to check for a configuration fault), one info line when it is back.
 */
export class HostHealth {
  readonly failures: number;
  readonly probeMs: number;
  readonly whileDown: 'fail' | 'wait';
  private readonly watched = new Map<string, HostWatch>();
  /** Set apart from the breakers: a client names its hosts' probes before it asks them anything. */
  private readonly probes = new Map<string, Probe>();
  private readonly probeBackoff: ExponentialBackoff<number>;
  private readonly changes = new Subject<HostTransition>();
  /** Every host that goes down or comes back. */
  readonly transitions: Observable<HostTransition> = this.changes.asObservable();
  private closed = false;

  constructor(options: HostHealthOptions = {}) {
    this.failures = options.failures ?? DEFAULT_BREAKER_FAILURES;
    this.probeMs = options.probeMs ?? DEFAULT_BREAKER_PROBE_SECONDS * 1000;
    this.whileDown = options.whileDown ?? 'fail';
    this.probeBackoff = probeBackoff(this.probeMs);
  }

  /** The breaker of a host (`host:port` as in a URL, or a name such as `store`). */
  breaker(host: string): HostBreaker {
    return this.entry(host).breaker;
  }

  /** Sets the host's probe; `replace: false` keeps one set before. */
  setProbe(host: string, probe: Probe, { replace = true } = {}): void {
    if (replace || !this.probes.has(host)) this.probes.set(host, probe);
  }

  hasProbe(host: string): boolean {
    return this.probes.has(host);
  }

  isUp(host: string): boolean {
    return this.watched.get(host)?.breaker.up ?? true;
  }

  downHosts(): DownHost[] {
    return [...this.watched.values()]
      .filter(({ breaker }) => !breaker.up)
      .map(({ breaker }) => ({
        host: breaker.host,
        since: new Date(breaker.since),
        reason: breaker.reason,
      }));
  }

  /** Every host known so far, up or not: for a gauge. */
  hosts(): { host: string; up: boolean }[] {
    return [...this.watched.values()].map(({ breaker }) => ({
      host: breaker.host,
      up: breaker.up,
    }));
  }

  /**
   * The hosts down at any moment from `time` on: down now, gone down since, or come back
   * since (a job that started while the store was down and failed once it was back).
   */
  downSince(time: number): string[] {
    return [...this.watched.values()]
      .filter((w) => w.wasDownSince(time))
      .map((w) => w.breaker.host);
  }

  /** Resolves once `host` (or, without one, every host) is up, or once this is closed. */
  async waitUntilUp(host?: string): Promise<void> {
    const up = () =>
      this.closed || (host === undefined ? this.downHosts().length === 0 : this.isUp(host));
    if (up()) return;
    await firstValueFrom(this.transitions.pipe(filter(up)), { defaultValue: undefined });
  }

  /**
   * Whether a request to `host` started at `started` that failed transiently should wait for
   * the host and try again: in `wait` mode, when the host was down at any moment since the
   * request started (HostWatch.wasDownSince), or goes down before its next success (the first
   * failures of an outage come before it is taken for down). Waits for that at most `probeMs`.
   */
  async waitsOut(host: string, started: number): Promise<boolean> {
    if (this.whileDown !== 'wait' || this.closed) return false;
    const entry = this.watched.get(host);
    if (entry === undefined) return false;
    if (entry.wasDownSince(started)) return true;
    return entry.breaker.streakEndsDown(this.probeMs);
  }

  /** Stops probing; whoever waits for a host stops waiting. */
  close(): void {
    this.closed = true;
    for (const watch of this.watched.values()) watch.stop();
    this.changes.complete();
  }

  private entry(host: string): HostWatch {
    let watch = this.watched.get(host);
    if (watch === undefined) {
      const breaker = new HostBreaker(host, this.failures, (b) => this.changed(b));
      watch = new HostWatch(breaker, {
        probeMs: this.probeMs,
        probeBackoff: this.probeBackoff,
        keepsAlive: this.whileDown === 'wait',
        probeOf: (name) => this.probes.get(name),
        closed: () => this.closed,
      });
      this.watched.set(host, watch);
    }
    return watch;
  }

  /** One line when a host goes down (an error if it refuses every request), one when back. */
  private changed(breaker: HostBreaker): void {
    const watch = this.entry(breaker.host);
    const { host } = breaker;
    const since = new Date(breaker.since);
    if (breaker.up) {
      const downForMs = watch.cameBack();
      log.info(`${host} is back`, { host, downForSeconds: Math.round(downForMs / 100) / 10 });
      this.changes.next({ host, up: true, since, downForMs });
      return;
    }
    const probeEverySeconds = Math.round(watch.wentDown() / 100) / 10;
    const reason = breaker.reason;
    if (reason?.kind === 'refusing') {
      const setting = this.probes.get(host)?.setting ?? 'its URL';
      log.error(
        // What follows is the caller's to say: the worker pauses, a backfill gives up.
        `${host} answers every request with ${reason.status}: check ${setting}`,
        { host, status: reason.status, requests: reason.failures, setting, probeEverySeconds },
      );
    } else {
      log.warn(`${host} is down; waiting until it answers again`, {
        host,
        failures: reason?.failures,
        error: reason?.error,
        probeEverySeconds,
      });
    }
    this.changes.next({ host, up: false, since, ...(reason === undefined ? {} : { reason }) });
  }
}
