import axios, { type AxiosInstance } from 'axios';
import {
  ExponentialBackoff,
  fullJitterGenerator,
  handleWhen,
  retry,
  type RetryPolicy,
} from 'cockatiel';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Decoded } from '../codecs/report.js';
import {
  AnswerTooLarge,
  DeadlineExceeded,
  isTransient,
  PipelineError,
  RetryLater,
  UndecodableAnswer,
} from '../errors.js';
import { log } from '../log.js';
import { HostDown, type HostBreaker } from './breaker.js';
import type { HostHealth, Probe } from './health.js';
import type { HostLimits } from './hostLimits.js';
import { asksToWait, retryAfterMs } from './retryAfter.js';
import { honouringRetryAfter } from './retryBackoff.js';
import { USER_AGENT } from './userAgent.js';

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
}

/** An answer whose body is still to be read, once, by one of the ways below. */
export interface Answer {
  readonly status: number;
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

const MIB = 1024 * 1024;
const EXCERPT_BYTES = 200;

const TRANSIENT_STATUS = (status: number): boolean => status === 429 || status >= 500;

/** The status of a request's last answer that was not transient, if it had one. */
interface FinalAnswer {
  status?: number;
}

// Chunks are taken from 'data' events rather than by async iteration, whose read() joins
// whatever is buffered into a new Buffer: copying much of a 400 MB json-rev once more.
const eachChunk = (body: Readable, take: (chunk: Buffer) => void): Promise<void> =>
  new Promise((resolve, reject) => {
    // Destroyed before it was read (its deadline passed): its 'close' has come and gone.
    if (body.destroyed) {
      reject(body.errored ?? new Error('cut off'));
      return;
    }
    let done = false;
    const settle = (error?: unknown) => {
      if (done) return;
      done = true;
      body.off('data', onData);
      if (error === undefined) {
        resolve();
      } else {
        body.destroy();
        reject(error);
      }
    };
    const onData = (chunk: Buffer) => {
      try {
        take(chunk);
      } catch (error) {
        // Thrown out of a 'data' listener, it would escape into the socket's callback.
        settle(error);
      }
    };
    body.on('data', onData);
    body.once('end', () => settle());
    body.once('error', (error) => settle(error));
    body.once('close', () => settle(body.readableEnded ? undefined : new Error('cut off')));
  });

/** A stream's failure is the network's, and may pass; ours (a cap, a deadline) stays ours. */
const brokeOff = (request: string, error: unknown): PipelineError =>
  error instanceof PipelineError
    ? error
    : new PipelineError(`${request} broke off while reading the answer`, 'transient', {
        cause: error,
      });

const readText = async (body: Readable, request: string, maxBytes: number): Promise<string> => {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    await eachChunk(body, (chunk) => {
      size += chunk.length;
      if (size > maxBytes) throw new AnswerTooLarge(request, maxBytes);
      chunks.push(chunk);
    });
  } catch (error) {
    throw brokeOff(request, error);
  }
  return Buffer.concat(chunks).toString('utf8');
};

const readExcerpt = async (body: Readable): Promise<string> => {
  const chunks: Buffer[] = [];
  let size = 0;
  const enough = new Error('enough');
  await eachChunk(body, (chunk) => {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= EXCERPT_BYTES) throw enough;
  }).catch(() => undefined);
  return Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8');
};

/**
 * An HTTP client for one upstream, with its own axios instance. Each request waits for a slot
 * of its host in the shared HostLimits. Each attempt has a deadline for the whole exchange,
 * body included (an idle timeout would let an upstream that sends a byte now and then hold
 * it forever), past which its socket is destroyed. Transient failures (network errors,
 * deadlines, 429, 5xx, or a handler's transient PipelineError) are retried with exponential
 * backoff and full jitter (cockatiel's retry policy), permanent ones are not. Bodies always
 * arrive as streams, so an answer is counted as it comes and never held past
 * `maxAnswerBytes`. Redirects are not followed, so an allowed URL cannot lead somewhere that
 * is not allowed. When the HostLimits carry a HostHealth, each request (its retries inside)
 * goes through its host's circuit breaker: refused at once while the host is down, or, in
 * the health's `wait` mode, held until the host is back and tried again. A 429 or 503 with
 * Retry-After holds its host (in the shared HostLimits): no request of any client goes to it
 * before that time, and a retry waits for it (up to `maxWaitMs`, else it fails with
 * RetryLater).
 */
export class Http {
  private readonly axios: AxiosInstance;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly deadlineMs: number;
  private readonly streamDeadlineMs: number;
  private readonly maxAnswerBytes: number;
  private readonly maxWaitMs: number;
  private readonly retry: RetryPolicy;
  private readonly health: HostHealth | undefined;

  constructor(
    private readonly limits: HostLimits,
    options: HttpOptions = {},
  ) {
    this.attempts = options.attempts ?? 4;
    this.backoffMs = options.backoffMs ?? 500;
    this.deadlineMs = options.deadlineMs ?? 30_000;
    this.streamDeadlineMs = options.streamDeadlineMs ?? 300_000;
    this.maxAnswerBytes = options.maxAnswerBytes ?? 32 * MIB;
    this.maxWaitMs = options.maxWaitMs ?? 60_000;
    this.axios = axios.create({
      headers: { 'User-Agent': USER_AGENT },
      responseType: 'stream',
      maxRedirects: 0,
      validateStatus: () => true,
      proxy: false,
    });
    this.health = limits.health;
    // Not once the host is down: its breaker refuses the next attempt anyway. Nor when the
    // host asked for a longer wait than a request may spend here.
    this.retry = retry(
      handleWhen(
        (error) =>
          isTransient(error) &&
          !(error instanceof HostDown) &&
          !(error instanceof RetryLater && error.until - Date.now() > this.maxWaitMs),
      ),
      {
        maxAttempts: this.attempts - 1,
        backoff: honouringRetryAfter(
          new ExponentialBackoff({
            initialDelay: this.backoffMs,
            maxDelay: 60_000,
            generator: fullJitterGenerator,
          }),
        ),
      },
    );
    this.retry.onRetry((retrying) =>
      log.debug('retrying', {
        delayMs: Math.round(retrying.delay),
        error: 'error' in retrying ? retrying.error : undefined,
      }),
    );
  }

  /** Sends the request, retrying transient failures, and gives a final answer to `handle`. */
  async request<T>(request: HttpRequest, handle: AnswerHandler<T>): Promise<T> {
    const health = this.health;
    if (health === undefined) return this.withRetries(request, handle, undefined, {});
    const url = new URL(request.url);
    const host = url.host;
    if (!health.hasProbe(host)) health.setProbe(host, this.probe(`${url.origin}/`, 'its URL'));
    const breaker = health.breaker(host);
    for (;;) {
      const started = Date.now();
      const final: FinalAnswer = {};
      try {
        return await breaker.run(
          () => this.withRetries(request, handle, breaker, final),
          () => final.status,
        );
      } catch (error) {
        if (!isTransient(error) || !(await health.waitsOut(host, started))) throw error;
        log.debug('waiting for the host to come back', { host, request: request.url });
        await health.waitUntilUp(host);
      }
    }
  }

  /**
   * Makes `url` (a GET) the probe of its host, with the setting to check when the host
   * answers every request with the same 4xx; `replace: false` keeps a probe set before.
   */
  watch(url: string, setting: string, { replace = true } = {}): void {
    this.health?.setProbe(new URL(url).host, this.probe(url, setting), { replace });
  }

  /**
   * Makes `target()`, asked at each probe, the probe of `host`: for a client whose probe
   * depends on what it was asked (hg.mozilla.org: a repository it read). A probe while
   * `target()` names nothing fails, and the host stays down until the next one.
   */
  watchHost(host: string, target: () => ProbeTarget | undefined): void {
    const probeOf = () => {
      const known = target();
      return known === undefined ? undefined : this.probe(known.url, known.setting);
    };
    this.health?.setProbe(host, {
      get setting() {
        return probeOf()?.setting ?? 'its URL';
      },
      run: async () => {
        const probe = probeOf();
        if (probe === undefined) throw new Error(`nothing of ${host} was asked yet to probe it`);
        return probe.run();
      },
    });
  }

  /**
   * One attempt of a GET, no retry, no breaker: its status, or a transient rejection (a
   * RetryLater, without asking, while the host asked not to be asked yet).
   */
  private probe(url: string, setting: string): Probe {
    const request: HttpRequest = { url };
    const status = (answer: Answer) => answer.excerpt().then(() => answer.status);
    const run = () =>
      this.limits.run(url, () => {
        this.refuseWhileHeld(request, 0);
        return this.attempt(request, status, {});
      });
    return { setting, run };
  }

  /**
   * Waits until the request's host may be asked again, if it asked for a wait: at most
   * `maxWaitMs`, else fails at once with RetryLater.
   */
  private async awaitHold(request: HttpRequest): Promise<void> {
    const waitMs = this.refuseWhileHeld(request, this.maxWaitMs);
    if (waitMs > 0) await sleep(waitMs);
  }

  /** The wait the request's host asked for, in ms; a RetryLater if longer than `maxMs`. */
  private refuseWhileHeld(request: HttpRequest, maxMs: number): number {
    const host = new URL(request.url).host;
    const until = this.limits.heldUntil(host);
    const waitMs = until - Date.now();
    if (waitMs > maxMs) {
      const name = `${request.method ?? 'GET'} ${request.url}`;
      throw new RetryLater(name, host, until, 'not sent: its host asked us to wait (Retry-After)');
    }
    return Math.max(waitMs, 0);
  }

  private withRetries<T>(
    request: HttpRequest,
    handle: AnswerHandler<T>,
    breaker: HostBreaker | undefined,
    final: FinalAnswer,
  ): Promise<T> {
    return this.retry.execute(() =>
      this.limits.run(request.url, async () => {
        await this.awaitHold(request);
        // A request that waited for a slot, or for its host's Retry-After, may find its host
        // gone down meanwhile.
        breaker?.check();
        final.status = undefined;
        return this.attempt(request, handle, final);
      }),
    );
  }

  /** One attempt, raced against its deadline; when that passes, its socket is destroyed. */
  private async attempt<T>(
    request: HttpRequest,
    handle: AnswerHandler<T>,
    final: FinalAnswer,
  ): Promise<T> {
    const name = `${request.method ?? 'GET'} ${request.url}`;
    const deadlineMs = request.streamed ? this.streamDeadlineMs : this.deadlineMs;
    const abort = new AbortController();
    let body: Readable | undefined;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new DeadlineExceeded(name, deadlineMs);
        // Aborting covers the time before the answer's headers; after, axios leaves the
        // body to us, and destroying it closes the socket.
        abort.abort(error);
        body?.destroy(error);
        reject(error);
      }, deadlineMs);
    });
    const exchange = this.exchange(request, name, abort.signal, handle, (b, status) => {
      body = b;
      if (!TRANSIENT_STATUS(status)) final.status = status;
    });
    // Whichever loses the race settles unobserved.
    exchange.catch(() => undefined);
    expired.catch(() => undefined);
    try {
      return await Promise.race([exchange, expired]);
    } catch (error) {
      // A 200 whose body would not do is no sign that the host is well (see HostBreaker.run).
      if (isTransient(error)) final.status = undefined;
      throw error;
    } finally {
      clearTimeout(timer);
      // An answer the handler left unread would otherwise hold its socket.
      if (body !== undefined && !body.readableEnded) body.destroy();
    }
  }

  private async exchange<T>(
    request: HttpRequest,
    name: string,
    signal: AbortSignal,
    handle: AnswerHandler<T>,
    received: (body: Readable, status: number) => void,
  ): Promise<T> {
    const started = Date.now();
    let status: number;
    let body: Readable;
    let retryAfter: string | undefined;
    try {
      const response = await this.axios.request<Readable>({
        url: request.url,
        method: request.method ?? 'GET',
        data: request.data,
        signal,
      });
      ({ status, data: body } = response);
      retryAfter = response.headers['retry-after'] as string | undefined;
    } catch (error) {
      const reason = axios.isAxiosError(error) ? (error.code ?? error.message) : String(error);
      throw new PipelineError(`${name} failed: ${reason}`, 'transient', { cause: error });
    }
    received(body, status);
    log.debug('answered', { request: name, status, ms: Date.now() - started });
    if (TRANSIENT_STATUS(status)) {
      body.destroy();
      const now = Date.now();
      const waitMs = asksToWait(status) ? retryAfterMs(retryAfter, now) : undefined;
      if (waitMs === undefined) throw new PipelineError(`${name} answered ${status}`, 'transient');
      // Every client's requests to the host wait for it, not only this one's retries.
      const host = new URL(request.url).host;
      this.limits.holdUntil(host, now + waitMs);
      const why = `answered ${status} with Retry-After: ${retryAfter}`;
      throw new RetryLater(name, host, now + waitMs, why);
    }
    const maxBytes = this.maxAnswerBytes;
    return handle({
      status,
      request: name,
      maxBytes,
      each: (take) => eachChunk(body, take),
      text: () => readText(body, name, maxBytes),
      excerpt: () => readExcerpt(body),
    });
  }
}

/**
 * An answer that failed its codec: transient, since the upstream can mend it (an error page
 * with 200, a body cut short). Too large an answer is another failure (AnswerTooLarge),
 * permanent, found before any decoding.
 */
export const decodedOrFail = <A>(answer: Answer, decoded: Decoded<A>): A => {
  if (!decoded.ok) {
    const { what, problems } = decoded.error;
    throw new UndecodableAnswer(answer.request, answer.status, what, problems, {
      cause: decoded.error,
    });
  }
  return decoded.value;
};

/** Reads the whole answer and decodes it with a `decodeJsonWith` decoder. */
export const decodeAnswer = async <A>(
  answer: Answer,
  decode: (text: string) => Decoded<A>,
): Promise<A> => decodedOrFail(answer, decode(await answer.text()));

/** Any answer but 200 is final here (transient ones were retried): `notFound` names a 404. */
export const requireOk = (answer: Answer, notFound?: () => Error): void => {
  if (answer.status === 404 && notFound !== undefined) throw notFound();
  if (answer.status !== 200) {
    throw new PipelineError(`${answer.request} answered ${answer.status}`, 'permanent');
  }
};
