import { maskUrlCredentials } from './redact.js';

/**
 * Every failure the pipeline reports has a kind: a *transient* one (network, timeout, 429,
 * 5xx) may succeed later and is retried; a *permanent* one (bad input, unknown changeset,
 * other 4xx, a refused host) will not, and is reported as it is.
 */
export type FailureKind = 'permanent' | 'transient';

export class PipelineError extends Error {
  override readonly name: string = 'PipelineError';
  constructor(
    message: string,
    readonly kind: FailureKind,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** hg.mozilla.org does not know the changeset (json-rev answered 404). */
export class NoSuchChangeset extends PipelineError {
  override readonly name = 'NoSuchChangeset';
  constructor(
    readonly node: string,
    readonly repository: string,
  ) {
    super(`changeset ${node} was not found in ${repository}`, 'permanent');
  }
}

/**
 * GitHub answered 404 or 422 for a commit or a compare of a push it announced. Its API may not
 * have caught up with the push yet (a read can lag the write), so the push is tried again
 * later, as one past a pushlog's head is; RETRY_MAX_HOURS bounds the tries. `what` is the
 * commit or the `base...head` range.
 */
export class NotOnGitHubYet extends PipelineError {
  override readonly name = 'NotOnGitHubYet';
  constructor(
    readonly what: string,
    readonly repository: string,
  ) {
    super(
      `GitHub knows no ${what} in ${repository}: its API may not have caught up with the push yet`,
      'transient',
    );
  }
}

/** A NoSuchChangeset of a commit a push announced, as NotOnGitHubYet; anything else as it is. */
export const notOnGitHubYet = (error: unknown): unknown =>
  error instanceof NoSuchChangeset ? new NotOnGitHubYet(error.node, error.repository) : error;

/** An attempt that did not finish, body included, in time; the next one may. */
export class DeadlineExceeded extends PipelineError {
  override readonly name = 'DeadlineExceeded';
  constructor(
    readonly request: string,
    readonly deadlineMs: number,
  ) {
    super(`${request} did not finish within its ${deadlineMs / 1000} s deadline`, 'transient');
  }
}

/**
 * A 2xx answer whose body is not what its codec expects: an HTML error page, JSON cut short,
 * another shape. The upstream may mend it (a proxy's page, a deploy half done), so it is
 * transient: retried like a 5xx, and parked only once its message is older than
 * RETRY_MAX_HOURS.
 */
export class UndecodableAnswer extends PipelineError {
  override readonly name = 'UndecodableAnswer';
  constructor(
    readonly request: string,
    readonly status: number,
    readonly what: string,
    readonly problems: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(
      `${request} answered ${status} with a body that is not the expected ${what} (${problems.join('; ')}); retried as a transient failure`,
      'transient',
      options,
    );
  }
}

/**
 * A host that answered 429 or 503 with Retry-After, or whose earlier answer asked us to wait:
 * it is not asked again before `until` (ms since the epoch). Transient, carrying the time,
 * so that whoever retries (the worker's delay queues, the breaker's probe) waits that long.
 */
export class RetryLater extends PipelineError {
  override readonly name = 'RetryLater';
  constructor(
    readonly request: string,
    readonly host: string,
    readonly until: number,
    why: string,
  ) {
    super(
      `${request}: ${why}; ${host} is not asked again before ${new Date(until).toISOString()}`,
      'transient',
    );
  }
}

const MIB = 1024 * 1024;

/** More of an answer than MAX_ANSWER_MB lets us hold; asking again would bring the same. */
export class AnswerTooLarge extends PipelineError {
  override readonly name = 'AnswerTooLarge';
  constructor(
    readonly request: string,
    readonly maxBytes: number,
    part = 'the answer',
  ) {
    const cap = maxBytes % MIB === 0 ? `${maxBytes / MIB} MB` : `${maxBytes} bytes`;
    super(
      `${request}: more than the ${cap} cap (MAX_ANSWER_MB) in ${part}; a permanent failure, not retried`,
      'permanent',
    );
  }
}

/**
 * A URL from input that will not be fetched, refused before any request: it is not a URL,
 * not http(s), carries credentials, or its host is not in ALLOWED_HOSTS. The message says
 * which, so the person fixes the right thing.
 */
export class HostNotAllowed extends PipelineError {
  override readonly name = 'HostNotAllowed';
  constructor(
    readonly url: string,
    allowed: readonly string[],
    why: 'not a url' | 'scheme' | 'credentials' | 'query' | 'host' | 'git' = 'host',
  ) {
    // The URL comes from input and may carry user:password@, which the message must not repeat.
    const shown = maskUrlCredentials(url);
    const reasons = {
      'not a url': `${JSON.stringify(shown)} is not a URL (expected https://host/path)`,
      scheme: `refusing to fetch ${shown}: only http and https URLs are fetched`,
      credentials: `refusing to fetch ${shown}: a URL from input may not carry user:password@`,
      query: `refusing to fetch ${shown}: a repository URL has no query string or fragment (?..., #...)`,
      host: `refusing to fetch ${shown}: its host is not in ALLOWED_HOSTS (${allowed.join(', ')})`,
      git: `refusing to read ${shown} as an hg repository: its host is GitHub's (GITHUB_WEB_URL); a git repository is read through GITHUB_API_URL (backfill-git, GitHub push messages)`,
    };
    super(reasons[why], 'permanent');
  }
}

/**
 * Failures of the durable store. The store cannot tell a database that is down for a minute
 * from one that is gone; it says what failed and why, and the caller decides (the pipeline
 * treats a failure at run time as transient, the CLI exits on one at start-up).
 */
export class StoreError extends Error {
  override readonly name: string = 'StoreError';
}

/** The store was closed (the process is stopping): trying again cannot help. */
export class StoreClosed extends StoreError {
  override readonly name = 'StoreClosed';
}

export const isTransient = (error: unknown): error is PipelineError =>
  error instanceof PipelineError && error.kind === 'transient';

export const describeError = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);
