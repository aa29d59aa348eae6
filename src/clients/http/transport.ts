import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';

/** Keep-alive connection pools, one per scheme, for one Http's requests. */
export interface Agents {
  readonly http: http.Agent;
  readonly https: https.Agent;
}

export const keepAliveAgents = (): Agents => ({
  http: new http.Agent({ keepAlive: true }),
  https: new https.Agent({ keepAlive: true }),
});

/**
 * Stops one request when its attempt's deadline passes, whether it was sent yet or not.
 * Node's client could take an AbortSignal instead, but listening to one costs it tens of µs
 * of CPU a request, a fifth to a third more than the request itself (bench:request-cost,
 * docs/benchmarks.md); destroying the request does the same for nothing.
 */
export class Cancellation {
  private request: ClientRequest | undefined;
  private reason: Error | undefined;

  cancel(reason: Error): void {
    this.reason = reason;
    this.request?.destroy(reason);
  }

  /** The request to destroy on `cancel`: at once, if that came before the request did. */
  attach(request: ClientRequest): void {
    this.request = request;
    if (this.reason !== undefined) request.destroy(this.reason);
  }
}

/**
 * Resolves once the I/O already waiting has been handled (setImmediate runs after the event
 * loop's poll phase). Http hands each answer on this way: the answers that arrived together
 * are all read and decoded (in their slots), and their hosts' next requests sent as the
 * slots free, before any caller's work on one of them (classifying, the next stage's
 * requests, the store's writes) takes the thread. A busy backfill otherwise kept hg's slots
 * idle while answers waited their turn (docs/benchmarks.md).
 */
export const afterPendingIo = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface Outgoing {
  readonly method: string;
  readonly headers: Record<string, string>;
  /** Sent as is (JSON already serialized). */
  readonly body?: string;
  readonly cancellation: Cancellation;
}

/**
 * One request with Node's own client, answered with its head and its body as a stream. Node
 * follows no redirect, so an allowed URL cannot lead somewhere that is not allowed; it sets
 * no timeout of its own, so each attempt's deadline (exchange.ts) is the only one. Measured
 * against axios and undici here, it costs the least CPU per request and per byte of a large
 * body (docs/benchmarks.md).
 */
export const transport = (
  url: string,
  agents: Agents,
  outgoing: Outgoing,
): Promise<IncomingMessage> =>
  new Promise((resolve, reject) => {
    const secure = url.startsWith('https:');
    const client = secure ? https : http;
    const request = client.request(url, {
      method: outgoing.method,
      headers: outgoing.headers,
      agent: secure ? agents.https : agents.http,
    });
    outgoing.cancellation.attach(request);
    request.once('response', resolve);
    request.once('error', reject);
    request.end(outgoing.body);
  });
