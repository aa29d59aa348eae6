/** What a request says and what its answer offers, for Http and the clients built on it. */

export interface HttpOptions {
  /** Attempts in all, the first included. */
  readonly attempts?: number;
  /** First backoff; each retry doubles it, with full jitter. */
  readonly backoffMs?: number;
  /** How long an attempt whose answer is read whole may take, its body included. */
  readonly deadlineMs?: number;
  /** How long an attempt whose answer is streamed may take, its body included. */
  readonly streamDeadlineMs?: number;
  /** The most bytes of an answer that may be held (an answer read whole, json-rev's fields). */
  readonly maxAnswerBytes?: number;
  /**
   * The longest a request waits in-process for its host's Retry-After; a longer wait fails
   * it at once, transient, with the time (a RetryLater) for the caller to honour.
   */
  readonly maxWaitMs?: number;
}

/** What a probe asks (a GET), and the setting to check when the host refuses every request. */
export interface ProbeTarget {
  readonly url: string;
  readonly setting: string;
}

export interface HttpRequest {
  readonly url: string;
  readonly method?: 'GET' | 'PUT';
  /** Sent as JSON. */
  readonly data?: unknown;
  /** The handler streams the body (the stream deadline applies); else it reads it whole. */
  readonly streamed?: boolean;
  /** Sent as they are, besides the User-Agent (an API's Accept, a token, If-None-Match). */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * The client's own reading of an answer that asks it to wait (GitHub's rate limits: a 403
   * with `x-ratelimit-remaining: 0`): when until (ms since the epoch) the host must not be
   * asked, or undefined. Such an answer holds the host, in the shared HostLimits as a
   * Retry-After does, and fails at once with a HostWait for the client to wait out.
   */
  readonly holdWhen?: (answer: AnswerHead) => number | undefined;
}

/** An answer's status and headers, before its body is read. */
export interface AnswerHead {
  readonly status: number;
  /** A response header by its name (any case); the first value of a repeated one. */
  header(name: string): string | undefined;
}

/** An answer whose body is still to be read, once, by one of the ways below. */
export interface Answer extends AnswerHead {
  /** `METHOD url`, to name the request in messages. */
  readonly request: string;
  /** The most bytes of the body the handler may hold. */
  readonly maxBytes: number;
  /**
   * Hands each chunk of the body to `take` as it arrives; rejects with what `take` throws
   * (the rest is not read) or with why the body broke off.
   */
  each(take: (chunk: Buffer) => void): Promise<void>;
  /** The whole body as text; a body over `maxBytes` is an AnswerTooLarge, found unheld. */
  text(): Promise<string>;
  /** The body's first bytes as text, for an error message; never fails. */
  excerpt(): Promise<string>;
}

/** Reads an answer that is not transient; runs while the host slot is still held. */
export type AnswerHandler<T> = (answer: Answer) => Promise<T>;

/** The status of a request's last answer that was not transient, if it had one. */
export interface FinalAnswer {
  status?: number;
}
