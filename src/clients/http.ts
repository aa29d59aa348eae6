import type { RetryPolicy } from 'cockatiel';
import { setTimeout as sleep } from 'node:timers/promises';
import { isTransient } from '../errors.js';
import { log } from '../log.js';
import type { HostBreaker } from './breaker.js';
import type { HostHealth, Probe } from './health.js';
import type { HostLimits } from './hostLimits.js';
import { attempt, HostWait, type AttemptContext } from './http/exchange.js';
import { afterPendingIo, keepAliveAgents } from './http/transport.js';
import type {
  Answer,
  AnswerHandler,
  FinalAnswer,
  HttpOptions,
  HttpRequest,
  ProbeTarget,
} from './http/types.js';
import { httpRetryPolicy } from './retryBackoff.js';
import { USER_AGENT } from './userAgent.js';

export { decodeAnswer, decodedOrFail, requireOk } from './http/answers.js';
export { HostWait } from './http/exchange.js';
export type * from './http/types.js';

const MIB = 1024 * 1024;

/**
 * An HTTP client for one upstream, with its own keep-alive connections. Each request waits for
 * a slot of its host in the shared HostLimits; its answer, read in the slot, reaches the caller
 * after pending I/O (afterPendingIo). Each attempt has a deadline for the whole exchange, body
 * included (an idle timeout would let an upstream that sends a byte now and then hold it
 * forever), past which its socket is destroyed. Transient failures (network errors,
 * deadlines, 429, 5xx, or a handler's transient PipelineError) are retried with exponential
 * backoff and full jitter (cockatiel's retry policy), permanent ones are not. Bodies always
 * arrive as streams, so an answer is counted as it comes and never held past
 * `maxAnswerBytes`. Redirects are not followed, so an allowed URL cannot lead somewhere that
 * is not allowed. When the HostLimits carry a HostHealth, each request (its retries inside)
 * goes through its host's circuit breaker: refused at once while the host is down, or, in
 * the health's `wait` mode, held until the host is back and tried again. A 429 or 503 with
 * Retry-After holds its host (in the shared HostLimits): no request of any client goes to it
 * before that time, and a retry waits for it (up to `maxWaitMs`, else it fails with
 * RetryLater); so does an answer holdWhen reads as a wait (a HostWait: the client's to wait
 * out, no failure to the breaker).
 */
export class Http {
  private readonly context: AttemptContext;
  private readonly maxWaitMs: number;
  private readonly retry: RetryPolicy;
  private readonly health: HostHealth | undefined;

  constructor(
    private readonly limits: HostLimits,
    options: HttpOptions = {},
  ) {
    this.maxWaitMs = options.maxWaitMs ?? 60_000;
    this.context = {
      agents: keepAliveAgents(),
      userAgent: USER_AGENT,
      limits,
      deadlineMs: options.deadlineMs ?? 30_000,
      streamDeadlineMs: options.streamDeadlineMs ?? 300_000,
      maxAnswerBytes: options.maxAnswerBytes ?? 32 * MIB,
    };
    this.health = limits.health;
    this.retry = httpRetryPolicy({ ...options, maxWaitMs: this.maxWaitMs });
  }

  /** Sends the request, retrying transient failures, and gives a final answer to `handle`. */
  async request<T>(request: HttpRequest, handle: AnswerHandler<T>): Promise<T> {
    const result = await this.send(request, handle);
    await afterPendingIo();
    return result;
  }

  private async send<T>(request: HttpRequest, handle: AnswerHandler<T>): Promise<T> {
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
        const result = await breaker.run(
          () =>
            this.withRetries<T | HostWait>(request, handle, breaker, final).catch((e: unknown) => {
              if (e instanceof HostWait) return e;
              throw e;
            }),
          () => final.status,
        );
        if (result instanceof HostWait) throw result;
        return result;
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
        this.limits.refuseWhileHeld(request, 0);
        return attempt(this.context, request, status, {});
      });
    return { setting, run };
  }

  /**
   * Waits until the request's host may be asked again, if it asked for a wait: at most
   * `maxWaitMs`, else fails at once with RetryLater. A client that reads its host's waits
   * itself (holdWhen: GitHub's) waits out every one of them itself, where a stop can end it:
   * its request fails at once, with a HostWait.
   */
  private async awaitHold(request: HttpRequest): Promise<void> {
    const waitMs = this.limits.refuseWhileHeld(request, this.maxWaitMs);
    if (waitMs > 0 && request.holdWhen !== undefined) {
      const host = new URL(request.url).host;
      const until = Date.now() + waitMs;
      throw new HostWait(request.url, host, until, 'not sent: its host asked us to wait');
    }
    if (waitMs > 0) await sleep(waitMs);
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
        return attempt(this.context, request, handle, final);
      }),
    );
  }
}
