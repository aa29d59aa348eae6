import http, { type IncomingMessage } from 'node:http';
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

export interface Outgoing {
  readonly method: string;
  readonly headers: Record<string, string>;
  /** Sent as is (JSON already serialized). */
  readonly body?: string;
  readonly signal: AbortSignal;
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
      signal: outgoing.signal,
    });
    request.once('response', resolve);
    request.once('error', reject);
    request.end(outgoing.body);
  });
