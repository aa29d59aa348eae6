import axios, { type AxiosInstance, type AxiosRequestConfig, type AxiosResponse } from 'axios';
import type { Decoded } from '../codecs/report.js';
import { isTransient, PipelineError } from '../errors.js';
import { log } from '../log.js';
import type { HostLimits } from './hostLimits.js';
import { USER_AGENT } from './userAgent.js';

export interface HttpOptions {
  readonly timeoutMs?: number;
  /** Attempts in all, the first included. */
  readonly attempts?: number;
  /** First backoff; each retry doubles it, with full jitter. */
  readonly backoffMs?: number;
}

/** Reads an answer that is not transient; runs while the host slot is still held. */
export type ResponseHandler<T> = (response: AxiosResponse) => Promise<T>;

const TRANSIENT_STATUS = (status: number): boolean => status === 429 || status >= 500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Frees the socket of an answer we will not read (stream answers must be drained). */
const discard = (response: AxiosResponse): void => {
  const data: unknown = response.data;
  if (data !== null && typeof data === 'object' && 'destroy' in data) {
    (data as { destroy: () => void }).destroy();
  }
};

/**
 * An HTTP client for one upstream, with its own axios instance. Each request waits for a slot
 * of its host in the shared HostLimits and has a timeout; transient failures (network errors,
 * timeouts, 429, 5xx, or a handler's transient PipelineError) are retried with exponential
 * backoff and full jitter, permanent ones are not. Redirects are not followed, so an allowed
 * URL cannot lead somewhere that is not allowed.
 */
export class Http {
  private readonly axios: AxiosInstance;
  private readonly attempts: number;
  private readonly backoffMs: number;

  constructor(
    private readonly limits: HostLimits,
    options: HttpOptions = {},
  ) {
    this.attempts = options.attempts ?? 4;
    this.backoffMs = options.backoffMs ?? 500;
    this.axios = axios.create({
      timeout: options.timeoutMs ?? 30_000,
      headers: { 'User-Agent': USER_AGENT },
      maxRedirects: 0,
      validateStatus: () => true,
      proxy: false,
    });
  }

  /** Sends the request, retrying transient failures, and gives a final answer to `handle`. */
  async request<T>(
    config: AxiosRequestConfig & { url: string },
    handle: ResponseHandler<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.limits.run(config.url, () => this.attempt(config, handle));
      } catch (error) {
        if (!isTransient(error) || attempt >= this.attempts) throw error;
        const delay = Math.random() * this.backoffMs * 2 ** (attempt - 1);
        log.debug(`retrying ${config.url} in ${Math.round(delay)} ms: ${error.message}`);
        await sleep(delay);
      }
    }
  }

  private async attempt<T>(
    config: AxiosRequestConfig & { url: string },
    handle: ResponseHandler<T>,
  ): Promise<T> {
    const method = (config.method ?? 'GET').toUpperCase();
    const started = Date.now();
    let response: AxiosResponse;
    try {
      response = await this.axios.request(config);
    } catch (error) {
      const reason = axios.isAxiosError(error) ? (error.code ?? error.message) : String(error);
      throw new PipelineError(`${method} ${config.url} failed: ${reason}`, 'transient', {
        cause: error,
      });
    }
    log.debug(`${method} ${config.url} -> ${response.status} in ${Date.now() - started} ms`);
    if (TRANSIENT_STATUS(response.status)) {
      discard(response);
      throw new PipelineError(`${method} ${config.url} answered ${response.status}`, 'transient');
    }
    try {
      return await handle(response);
    } finally {
      discard(response);
    }
  }
}

/** Parses a JSON body read as text; a body that is not JSON is the upstream's fault, for good. */
export const parseJson = (response: AxiosResponse, what: string): unknown => {
  try {
    return JSON.parse(String(response.data));
  } catch {
    throw new PipelineError(`${what} is not JSON (HTTP ${response.status})`, 'permanent');
  }
};

/** Decodes a parsed answer; an answer of the wrong shape is a permanent failure. */
export const decodeAnswer = <A>(body: unknown, decode: (input: unknown) => Decoded<A>): A => {
  const decoded = decode(body);
  if (!decoded.ok) {
    throw new PipelineError(decoded.error.message, 'permanent', { cause: decoded.error });
  }
  return decoded.value;
};

/** Any answer but 200 is final here (transient ones were retried): `notFound` names a 404. */
export const requireOk = (response: AxiosResponse, what: string, notFound?: () => Error): void => {
  if (response.status === 404 && notFound !== undefined) throw notFound();
  if (response.status !== 200) {
    throw new PipelineError(`${what} answered ${response.status}`, 'permanent');
  }
};
