import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { recordedFixtures, type FixtureData } from './fixtureData.js';

/** One fake upstream on its own loopback port, so per-host limits can be observed. */
export interface Upstream {
  readonly url: string;
  /** `127.0.0.1:port`, as ALLOWED_HOSTS wants it. */
  readonly host: string;
  /** Every request, as `METHOD path`. */
  readonly requests: string[];
  inFlight: number;
  peakInFlight: number;
}

export interface Fault {
  /** Requests whose `METHOD path` matches are answered `status` instead. */
  readonly match: RegExp;
  readonly status: number;
  /** How many matching requests fail; then they are served normally. */
  times: number;
}

export interface FixtureOptions {
  readonly data?: FixtureData;
  /** Added before every answer, to stand in for the network. */
  readonly latencyMs?: number;
}

export interface Fixtures {
  readonly hg: Upstream;
  readonly bmo: Upstream;
  readonly tmo: Upstream & { readonly received: Map<string, unknown> };
  /** Repository URLs on the fake hg.mozilla.org, e.g. `repo('integration/autoland')`. */
  repo(path: string): string;
  /** The environment a command needs to talk to these upstreams. */
  readonly env: Record<string, string>;
  fail(fault: Omit<Fault, 'times'> & { times?: number }): void;
  close(): Promise<void>;
}

type Handler = (request: IncomingMessage, path: string, body: Buffer) => Promise<Answer>;
type Answer = { status: number; body?: unknown; stream?: Readable | string };

const json = (status: number, body: unknown): Answer => ({ status, body });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const readBody = async (request: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

const listen = async (
  handler: Handler,
  faults: Fault[],
  latencyMs: number,
): Promise<{ upstream: Upstream; server: Server }> => {
  const upstream: Upstream = { url: '', host: '', requests: [], inFlight: 0, peakInFlight: 0 };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const line = `${request.method} ${request.url}`;
    upstream.requests.push(line);
    upstream.inFlight += 1;
    upstream.peakInFlight = Math.max(upstream.peakInFlight, upstream.inFlight);
    response.on('close', () => {
      upstream.inFlight -= 1;
    });
    void (async () => {
      const body = await readBody(request);
      if (latencyMs > 0) await sleep(latencyMs);
      const fault = faults.find((f) => f.times > 0 && f.match.test(line));
      let answer: Answer;
      if (fault !== undefined) {
        fault.times -= 1;
        answer = json(fault.status, { error: true, message: 'injected failure' });
      } else {
        answer = await handler(
          request,
          new URL(request.url ?? '/', 'http://x').pathname,
          body,
        ).catch((error: unknown) => json(500, { error: true, message: String(error) }));
      }
      if (answer.stream !== undefined) {
        response.writeHead(answer.status, { 'content-type': 'text/plain' });
        const stream =
          typeof answer.stream === 'string' ? Readable.from([answer.stream]) : answer.stream;
        stream.pipe(response);
      } else {
        response.writeHead(answer.status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(answer.body ?? {}));
      }
    })();
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  Object.assign(upstream, { url: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}` });
  return { upstream, server };
};

const JSON_PUSHES = /^\/(.+)\/json-pushes$/;
const REV = /^\/(.+)\/(json-rev|raw-rev)\/([0-9a-f]+)$/;
const BUG = /^\/rest\/bug\/(\d+)\/(attachment|history)$/;
const SUBMIT = /^\/submit\/([^/]+)\/([^/]+)\/([^/]+)\/([0-9a-f-]{36})$/;

const hgHandler =
  (data: FixtureData): Handler =>
  async (request, path) => {
    const pushes = JSON_PUSHES.exec(path);
    if (pushes !== null) {
      const pushlog = data.pushlog(pushes[1]!);
      if (pushlog === undefined) return json(404, { error: 'unknown repository' });
      const query = new URL(request.url ?? '/', 'http://x').searchParams;
      const start = Number(query.get('startID') ?? 0);
      const end = Number(query.get('endID') ?? pushlog.lastpushid);
      const page = Object.fromEntries(
        Object.entries(pushlog.pushes).filter(([id]) => Number(id) > start && Number(id) <= end),
      );
      return json(200, { lastpushid: pushlog.lastpushid, pushes: page });
    }
    const rev = REV.exec(path);
    if (rev !== null) {
      const [, repoPath, endpoint, node] = rev as unknown as [string, string, string, string];
      if (endpoint === 'json-rev') {
        const changeset = data.changeset(repoPath, node);
        return changeset === undefined
          ? json(404, { error: `unknown revision '${node}'` })
          : json(200, changeset);
      }
      const patch = data.patch(repoPath, node);
      return patch === undefined
        ? json(404, { error: 'unknown revision' })
        : { status: 200, stream: patch };
    }
    return json(404, { error: 'not found' });
  };

const bmoHandler =
  (data: FixtureData): Handler =>
  async (_request, path) => {
    const bug = BUG.exec(path);
    const answer =
      bug === null ? undefined : data.bug(Number(bug[1]), bug[2] as 'attachment' | 'history');
    return answer === undefined
      ? json(404, { error: true, code: 101, message: 'Bug does not exist.' })
      : { status: answer.status, body: answer.body };
  };

const tmoHandler =
  (received: Map<string, unknown>): Handler =>
  async (request, path, body) => {
    const submit = SUBMIT.exec(path);
    if (request.method !== 'PUT' || submit === null) return json(404, { error: 'not found' });
    received.set(path, JSON.parse(body.toString('utf8')));
    return json(200, {});
  };

/** Starts fake hg.mozilla.org, Bugzilla and telemetry servers on loopback. */
export const startFixtures = async (options: FixtureOptions = {}): Promise<Fixtures> => {
  const data = options.data ?? recordedFixtures();
  const latency = options.latencyMs ?? 0;
  const faults: Fault[] = [];
  const received = new Map<string, unknown>();
  const hg = await listen(hgHandler(data), faults, latency);
  const bmo = await listen(bmoHandler(data), faults, latency);
  const tmo = await listen(tmoHandler(received), faults, latency);
  return {
    hg: hg.upstream,
    bmo: bmo.upstream,
    tmo: Object.assign(tmo.upstream, { received }),
    repo: (path) => `${hg.upstream.url}/${path}`,
    env: {
      ALLOWED_HOSTS: hg.upstream.host,
      BMO_API_URL: `${bmo.upstream.url}/rest`,
      TMO_BASE_URL: `${tmo.upstream.url}/submit`,
    },
    fail: (fault) => faults.push({ times: Infinity, ...fault }),
    close: async () => {
      for (const { server } of [hg, bmo, tmo]) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    },
  };
};
