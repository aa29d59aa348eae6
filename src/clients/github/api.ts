import type { Decoded } from '../../codecs/report.js';
import { PipelineError, RetryLater } from '../../errors.js';
import type { HostLimits } from '../hostLimits.js';
import { decodeAnswer, HostWait, type Answer, type Http } from '../http.js';
import {
  BareLimitBackoff,
  DEFAULT_MIN_RATE_LIMIT_WAIT_MS,
  mentionsRateLimit,
  RateLimitWaiter,
  rateLimitUntil,
} from './rateLimit.js';
import { nextLink } from './urls.js';

export interface GitHubApiOptions {
  /** GITHUB_API_URL: every request goes to its host, `Link` URLs included. */
  readonly apiUrl: string;
  /** GITHUB_TOKEN, sent as a bearer token; never logged. */
  readonly token?: string | undefined;
  /** Told when the API asks us to wait (a rate limit), with when it may be asked again. */
  readonly onRateLimit?: (until: number) => void;
  /** The least wait after a rate limit that names no time (GitHub asks for a minute). */
  readonly minRateLimitWaitMs?: number;
}

/**
 * The request path to the GitHub REST API: its Accept header, the token, and its rate limits
 * waited out before any further request to the host (a wait, not a failure: the caller sees
 * a slower answer, nothing fails, no attempt is spent).
 */
export class GitHubApi {
  readonly host: string;
  private readonly headers: Record<string, string>;
  private readonly waiter: RateLimitWaiter;
  private readonly bare: BareLimitBackoff;
  private readonly listeners: ((until: number) => void)[] = [];

  constructor(
    private readonly http: Http,
    private readonly limits: HostLimits,
    readonly options: GitHubApiOptions,
  ) {
    this.host = new URL(options.apiUrl).host;
    this.headers = {
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
    };
    this.waiter = new RateLimitWaiter(limits, this.host, (until) => {
      options.onRateLimit?.(until);
      for (const listener of this.listeners) listener(until);
    });
    this.bare = new BareLimitBackoff(options.minRateLimitWaitMs ?? DEFAULT_MIN_RATE_LIMIT_WAIT_MS);
  }

  /** Calls `listener` with the end of each rate-limit wait, as it starts. */
  onRateLimit(listener: (until: number) => void): void {
    this.listeners.push(listener);
  }

  /** Ends every rate-limit wait at once, and refuses the next ones (RateLimitWaiter.stop). */
  stopWaiting(): void {
    this.waiter.stop();
  }

  /** A GET, once the host may be asked, waiting out every rate limit it meets. */
  async get<T>(
    url: string,
    handle: (answer: Answer) => Promise<T>,
    headers: Record<string, string> = {},
  ): Promise<T> {
    for (;;) {
      await this.waiter.ready();
      try {
        const result = await this.http.request(
          {
            url,
            headers: { ...this.headers, ...headers },
            holdWhen: (head) => rateLimitUntil(head, Date.now(), () => this.bare.next(Date.now())),
          },
          async (answer) => {
            if (answer.status !== 403) return handle(answer);
            // The body is read once: the handler's error message quotes the same excerpt.
            const excerpt = await answer.excerpt();
            if (mentionsRateLimit(excerpt)) {
              const until = this.bare.next(Date.now());
              this.limits.holdUntil(this.host, until);
              throw new HostWait(answer.request, this.host, until, 'answered 403: rate limited');
            }
            return handle({ ...answer, excerpt: () => Promise.resolve(excerpt) });
          },
        );
        this.bare.answered();
        return result;
      } catch (error) {
        // Ours to wait out (waiter.ready): the host is held until then.
        if (error instanceof RetryLater && error.host === this.host) continue;
        throw error;
      }
    }
  }

  /** A 200's decoded body; a 404 or 422 is `unknown()`, when given; other answers permanent. */
  async ok<A>(
    answer: Answer,
    decode: (text: string) => Decoded<A>,
    unknown?: () => Error,
  ): Promise<A> {
    if ((answer.status === 404 || answer.status === 422) && unknown !== undefined) throw unknown();
    if (answer.status !== 200) {
      const excerpt = await answer.excerpt();
      const hint = answer.status === 401 || answer.status === 403 ? '; check GITHUB_TOKEN' : '';
      throw new PipelineError(
        `${answer.request} answered ${answer.status}${hint}: ${excerpt}`,
        'permanent',
      );
    }
    return decodeAnswer(answer, decode);
  }

  /** The answer's next page, on the API's host only. */
  next(answer: Answer): string | undefined {
    return nextLink(answer.header('link'), this.options.apiUrl);
  }
}
