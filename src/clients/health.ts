import { ExponentialBackoff, type GeneratorFn, type IBackoff } from 'cockatiel';
import { filter, firstValueFrom, Subject, type Observable } from 'rxjs';
import { DEFAULT_BREAKER_FAILURES, DEFAULT_BREAKER_PROBE_SECONDS } from '../codecs/settings.js';
import { describeError, RetryLater } from '../errors.js';
import { log } from '../log.js';
import { HostBreaker, type DownReason } from './breaker.js';

export interface HostHealthOptions {
  /** Consecutive failures of distinct requests (or the same 4xx) that take a host for down. */
  readonly failures?: number;
  /** How often a down host is probed. */
  readonly probeMs?: number;
  /**
   * What a request does when its host is down: `fail` at once with HostDown (the worker,
   * which pauses and hands its messages back), or `wait` until the host is back and try
   * again (the backfill).
   */
  readonly whileDown?: 'fail' | 'wait';
}

/**
 * A host's own cheap request, never a message's: it resolves with the status of its answer
 * and rejects when there was none (network, deadline) or it was 429 or 5xx.
 */
export interface Probe {
  readonly run: () => Promise<number>;
  /** What to check when the host refuses every request: `TMO_BASE_URL`, `BMO_API_URL`. */
  readonly setting: string;
}

/** A host went down or came back. `since`: when that happened. */
export interface HostTransition {
  readonly host: string;
  readonly up: boolean;
  readonly since: Date;
  /** Why it went down (`up: false`). */
  readonly reason?: DownReason;
  /** How long it was down (`up: true`). */
  readonly downForMs?: number;
}

export interface DownHost {
  readonly host: string;
  readonly since: Date;
  readonly reason: DownReason | undefined;
}

interface Watched {
  readonly breaker: HostBreaker;
  /** Set while it is down: the next probe. */
  timer?: NodeJS.Timeout;
  /** When it last went down, in ms since the epoch. */
  wentDownAt?: number;
  /** When it last came back, in ms since the epoch. */
  cameBackAt?: number;
  /** The wait before each probe of the current outage; longer each time the host flaps. */
  backoff?: IBackoff<unknown>;
}

/** How many times the probe interval the wait grows to at most, when a host keeps flapping. */
const MAX_PROBE_BACKOFF = 16;

/**
 * Doubling waits, each at least the probe interval (so that a host cannot be taken down and
 * back faster than that) and up to half as long again, so that many processes (or hosts)
 * that went down together do not all probe at the same instant.
 */
const atLeastTheInterval: GeneratorFn<number> = (attempt = 0, options) => {
  const base = Math.min(options.maxDelay, options.initialDelay * options.exponent ** attempt);
  return [Math.min(options.maxDelay, base * (1 + Math.random() / 2)), attempt + 1];
};

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
  private readonly watched = new Map<string, Watched>();
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
    this.probeBackoff = new ExponentialBackoff({
      initialDelay: this.probeMs,
      maxDelay: this.probeMs * MAX_PROBE_BACKOFF,
      generator: atLeastTheInterval,
    });
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

  /** The hosts down now or gone down at `time` or after (and maybe back already). */
  downSince(time: number): string[] {
    return [...this.watched.values()]
      .filter((w) => !w.breaker.up || (w.wentDownAt !== undefined && w.wentDownAt >= time))
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
   * the host and try again: in `wait` mode, when the host is down, went down meanwhile, or
   * goes down before its next success (the first failures of an outage come before it is
   * taken for down). Waits for that at most `probeMs`.
   */
  async waitsOut(host: string, started: number): Promise<boolean> {
    if (this.whileDown !== 'wait' || this.closed) return false;
    const entry = this.watched.get(host);
    if (entry === undefined) return false;
    if (!entry.breaker.up || (entry.wentDownAt ?? 0) >= started) return true;
    return entry.breaker.streakEndsDown(this.probeMs);
  }

  /** Stops probing; whoever waits for a host stops waiting. */
  close(): void {
    this.closed = true;
    for (const entry of this.watched.values()) clearTimeout(entry.timer);
    this.changes.complete();
  }

  private entry(host: string): Watched {
    let entry = this.watched.get(host);
    if (entry === undefined) {
      entry = { breaker: new HostBreaker(host, this.failures, (b) => this.changed(b)) };
      this.watched.set(host, entry);
    }
    return entry;
  }

  private changed(breaker: HostBreaker): void {
    const entry = this.entry(breaker.host);
    const { host } = breaker;
    const since = new Date(breaker.since);
    if (breaker.up) {
      clearTimeout(entry.timer);
      entry.timer = undefined;
      entry.cameBackAt = breaker.since;
      const downForMs = breaker.since - (entry.wentDownAt ?? breaker.since);
      log.info(`${host} is back`, { host, downForSeconds: Math.round(downForMs / 100) / 10 });
      this.changes.next({ host, up: true, since, downForMs });
      return;
    }
    entry.wentDownAt = breaker.since;
    // Down again before it stayed up as long as the longest wait: it flaps, so wait longer.
    const last = entry.backoff;
    const flapped =
      last !== undefined &&
      entry.cameBackAt !== undefined &&
      breaker.since - entry.cameBackAt < this.probeMs * MAX_PROBE_BACKOFF;
    entry.backoff = flapped ? last.next(undefined) : this.probeBackoff.next();
    const reason = breaker.reason;
    const probeEverySeconds = Math.round(entry.backoff.duration / 100) / 10;
    if (reason?.kind === 'refusing') {
      const setting = this.probes.get(host)?.setting ?? 'its URL';
      log.error(
        `${host} answers every request with ${reason.status}: check ${setting}; pausing until it answers otherwise`,
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
    this.probeLater(entry, entry.backoff.duration);
  }

  private probeLater(entry: Watched, delayMs: number): void {
    if (this.closed) return;
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => void this.probe(entry), delayMs);
    // What waits for the host (`wait` mode) keeps the process alive only through the probes.
    if (this.whileDown === 'fail') entry.timer.unref();
  }

  /**
   * One probe: the first good answer closes the breaker; else the next after the outage's
   * wait, or once the host's Retry-After has passed if that is later.
   */
  private async probe(entry: Watched): Promise<void> {
    const { breaker } = entry;
    const probe = this.probes.get(breaker.host);
    if (breaker.up || this.closed) return;
    let answer: string;
    let notBefore = 0;
    try {
      if (probe === undefined) throw new Error('no probe for this host');
      const status = await probe.run();
      const refusedFor = breaker.reason?.kind === 'refusing' ? breaker.reason.status : undefined;
      if (status !== refusedFor) {
        if (!breaker.up) breaker.close();
        return;
      }
      answer = `answered ${status} again`;
    } catch (error) {
      answer = describeError(error);
      if (error instanceof RetryLater) notBefore = error.until;
    }
    log.debug('probed; still down', { host: breaker.host, answer });
    const waitMs = Math.max(entry.backoff?.duration ?? this.probeMs, notBefore - Date.now());
    if (!breaker.up) this.probeLater(entry, waitMs);
  }
}
