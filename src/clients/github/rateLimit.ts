/**
 * GitHub's rate limits, read from an answer's head, and waited out. GitHub says "not now" in
 * three ways, all with 403 or 429: the primary limit (`x-ratelimit-remaining: 0` and
 * `x-ratelimit-reset`, the epoch second it refills), a secondary limit with `retry-after`
 * (seconds), and a secondary limit with neither, after which its documentation asks for at
 * least a minute, longer each time it happens again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PipelineError } from '../../errors.js';
import { log } from '../../log.js';
import type { HostLimits } from '../hostLimits.js';
import type { AnswerHead } from '../http.js';
import { MAX_RETRY_AFTER_MS, retryAfterMs } from '../http/retryAfter.js';

export const DEFAULT_MIN_RATE_LIMIT_WAIT_MS = 60_000;

const isLimitStatus = (status: number): boolean => status === 403 || status === 429;

/** Whether a 403's body is GitHub's way of saying a (secondary) rate limit was exceeded. */
export const mentionsRateLimit = (body: string): boolean => /rate limit/i.test(body);

/**
 * When, from an answer's headers, GitHub may be asked again (ms since the epoch), or
 * undefined when the answer is not a rate limit that its headers name. A 429 is a rate limit
 * even without them (`bare`); a bare 403 may be one, which only its body tells.
 */
export const rateLimitUntil = (
  head: AnswerHead,
  now: number,
  bare: () => number,
): number | undefined => {
  if (!isLimitStatus(head.status)) return undefined;
  const reset = head.header('x-ratelimit-reset');
  if (head.header('x-ratelimit-remaining') === '0' && reset !== undefined && /^\d+$/.test(reset)) {
    // A second late rather than early: the reset is a whole second, clocks are not in step.
    const until = Number(reset) * 1000 + 1000;
    // A reset already past (our clock ahead of GitHub's) names no wait: waited as a bare limit,
    // longer each time, not asked again every second for as long as the clocks disagree.
    if (until <= now) return bare();
    return Math.min(Math.max(until, now + 1000), now + MAX_RETRY_AFTER_MS);
  }
  const asked = retryAfterMs(head.header('retry-after'), now);
  // `Retry-After: 0`, or a date already past, names no wait either: asked again at once, the
  // same answer would come back for ever.
  if (asked !== undefined && asked > 0) return now + asked;
  return asked !== undefined || head.status === 429 ? bare() : undefined;
};

/**
 * The wait after a secondary limit without headers: the least wait, doubled for each such
 * answer in a row (an answer that is not one starts over), at most an hour. Answers to
 * requests sent together arrive during the same wait: those count once, the wait they share.
 */
export class BareLimitBackoff {
  private inARow = 0;
  private until = 0;

  constructor(private readonly minMs: number) {}

  next(now: number): number {
    if (now < this.until) return this.until;
    this.inARow += 1;
    this.until = now + Math.min(this.minMs * 2 ** (this.inARow - 1), MAX_RETRY_AFTER_MS);
    return this.until;
  }

  answered(): void {
    this.inARow = 0;
  }
}

/**
 * Waits, before each request to the API host, while the host asked not to be asked: a wait,
 * not a failure. One log line per wait, naming when it resumes, and `onWait` told the time
 * (a metric, a progress line).
 */
export class RateLimitWaiter {
  private announced = 0;
  private readonly stopping = new AbortController();

  constructor(
    private readonly limits: HostLimits,
    private readonly host: string,
    private readonly onWait: ((until: number) => void) | undefined,
  ) {}

  /**
   * A run told to stop (Ctrl-C) must not sit out a limit that may last an hour: every wait
   * ends now, its request failing transiently, and so does any later one.
   */
  stop(): void {
    this.stopping.abort();
  }

  async ready(): Promise<void> {
    for (;;) {
      const until = this.limits.heldUntil(this.host);
      if (until === 0) return;
      if (this.stopping.signal.aborted) {
        const resumesAt = new Date(until).toISOString();
        throw new PipelineError(
          `stopped while ${this.host} asked us to wait until ${resumesAt}`,
          'transient',
        );
      }
      if (until !== this.announced) {
        this.announced = until;
        log.warn('GitHub asked us to wait (rate limit); nothing is sent to it meanwhile', {
          host: this.host,
          resumesAt: new Date(until).toISOString(),
        });
        this.onWait?.(until);
      }
      const waited = sleep(Math.max(until - Date.now(), 1), undefined, {
        signal: this.stopping.signal,
      });
      await waited.catch(() => undefined); // stopped: the next turn says so
    }
  }
}
