import { ExponentialBackoff, type GeneratorFn, type IBackoff } from 'cockatiel';
import { describeError, RetryLater } from '../../errors.js';
import { log } from '../../log.js';
import type { HostBreaker } from '../breaker.js';
import type { Probe } from './types.js';

/** How many times the probe interval the wait grows to at most, when a host keeps flapping. */
export const MAX_PROBE_BACKOFF = 16;

/**
 * Doubling waits, each at least the probe interval (so that a host cannot be taken down and
 * back faster than that) and up to half as long again, so that many processes (or hosts)
 * that went down together do not all probe at the same instant.
 */
const atLeastTheInterval: GeneratorFn<number> = (attempt = 0, options) => {
  const base = Math.min(options.maxDelay, options.initialDelay * options.exponent ** attempt);
  return [Math.min(options.maxDelay, base * (1 + Math.random() / 2)), attempt + 1];
};

/** Cockatiel's exponential backoff with jitter upwards: the waits between a host's probes. */
export const probeBackoff = (probeMs: number): ExponentialBackoff<number> =>
  new ExponentialBackoff({
    initialDelay: probeMs,
    maxDelay: probeMs * MAX_PROBE_BACKOFF,
    generator: atLeastTheInterval,
  });

/** What a host's watch needs from its HostHealth. */
export interface WatchSettings {
  readonly probeMs: number;
  readonly probeBackoff: ExponentialBackoff<number>;
  /** Whether waiting on a probe keeps the process alive (`wait` mode). */
  readonly keepsAlive: boolean;
  readonly probeOf: (host: string) => Probe | undefined;
  readonly closed: () => boolean;
}

/**
 * One host's breaker and, while it is down, its probes: the first `probeMs` (jittered) after
 * it went down, then again after each wait until one answers. A host that goes down again
 * soon after it came back (it flaps) starts from the longer wait of its last outage.
 */
export class HostWatch {
  /** Set while it is down: the next probe. */
  private timer: NodeJS.Timeout | undefined;
  /** When it last went down, in ms since the epoch. */
  wentDownAt: number | undefined;
  /** When it last came back, in ms since the epoch. */
  private cameBackAt: number | undefined;
  /** The wait before each probe of the current outage; longer each time the host flaps. */
  private backoff: IBackoff<unknown> | undefined;

  constructor(
    readonly breaker: HostBreaker,
    private readonly settings: WatchSettings,
  ) {}

  /** The host went down: probes start. Answers the wait before each probe, in ms. */
  wentDown(): number {
    const { breaker, settings } = this;
    this.wentDownAt = breaker.since;
    // Down again before it stayed up as long as the longest wait: it flaps, so wait longer.
    const last = this.backoff;
    const flapped =
      last !== undefined &&
      this.cameBackAt !== undefined &&
      breaker.since - this.cameBackAt < settings.probeMs * MAX_PROBE_BACKOFF;
    this.backoff = flapped ? last.next(undefined) : settings.probeBackoff.next();
    this.probeLater(this.backoff.duration);
    return this.backoff.duration;
  }

  /** The host is back: probes stop. Answers how long it was down, in ms. */
  cameBack(): number {
    this.stop();
    this.cameBackAt = this.breaker.since;
    return this.breaker.since - (this.wentDownAt ?? this.breaker.since);
  }

  /**
   * Whether it was down at any moment from `time` on: down now, or went down or came back
   * since.
   */
  wasDownSince(time: number): boolean {
    const since = (at: number | undefined) => at !== undefined && at >= time;
    return !this.breaker.up || since(this.wentDownAt) || since(this.cameBackAt);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private probeLater(delayMs: number): void {
    if (this.settings.closed()) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.probe(), delayMs);
    // What waits for the host (`wait` mode) keeps the process alive only through the probes.
    if (!this.settings.keepsAlive) this.timer.unref();
  }

  /**
   * One probe: the first good answer closes the breaker; else the next after the outage's
   * wait, or once the host's Retry-After has passed if that is later.
   */
  private async probe(): Promise<void> {
    const { breaker, settings } = this;
    const probe = settings.probeOf(breaker.host);
    if (breaker.up || settings.closed()) return;
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
    const waitMs = Math.max(this.backoff?.duration ?? settings.probeMs, notBefore - Date.now());
    if (!breaker.up) this.probeLater(waitMs);
  }
}
