import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline, Readable } from 'node:stream';
import { recordedFixtures, type FixtureData } from '../data/fixtureData.js';

/** One fake upstream on its own loopback port, so per-host limits can be observed. */
export interface Upstream {
  readonly url: string;
  /** `127.0.0.1:port`, as ALLOWED_HOSTS wants it. */
  readonly host: string;
  /** Every request, as `METHOD path`. */
  readonly requests: string[];
  /**
   * For each answered request, when it arrived and when its whole answer was handed to the
   * socket (not when the client had read it), in ms on this process's performance clock.
   */
  readonly answers: { readonly arrivedMs: number; readonly finishedMs: number }[];
  /** Requests whose answer has not closed yet: 0 again once a client let go of its sockets. */
  inFlight: number;
  peakInFlight: number;
}

/**
 * A misbehaving upstream, for requests whose `METHOD path` matches: it answers `status`
 * with an error body, or `body` (status 200 unless `status` says otherwise), or the normal
 * answer; and with `trickleMs`, sends that answer one byte every `trickleMs`.
 */
export interface Fault {
  readonly match: RegExp;
  readonly status?: number;
  /** A body to send instead, made afresh for each request (it may be endless). */
  readonly body?: () => Readable | string;
  readonly trickleMs?: number;
  /** Headers added to its answer, e.g. `retry-after`. */
  readonly headers?: Readonly<Record<string, string>>;
  /** How many matching requests misbehave; then they are served normally. */
  times: number;
}

export interface FixtureOptions {
  readonly data?: FixtureData;
  /** How long after its request every answer starts, to stand in for the network. */
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
type Answer = {
  status: number;
  body?: unknown;
  stream?: Readable | string;
  type?: string;
  headers?: Readonly<Record<string, string>>;
};

const json = (status: number, body: unknown): Answer => ({ status, body });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const readBody = async (request: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

/** The answer's body, one byte every `everyMs`; it stops when the client goes away. */
async function* trickle(body: Readable, everyMs: number): AsyncGenerator<Buffer> {
  for await (const chunk of body) {
    // A stream of strings yields strings: iterate over bytes, not characters.
    for (const byte of Buffer.from(chunk as Buffer | string)) {
      yield Buffer.from([byte]);
      await sleep(everyMs);
    }
  }
}

const faulty = (fault: Fault, normal: () => Promise<Answer>): Promise<Answer> => {
  const headers = fault.headers ?? {};
  if (fault.body !== undefined) {
    const status = fault.status ?? 200;
    return Promise.resolve({ status, stream: fault.body(), type: 'json', headers });
  }
  if (fault.status !== undefined) {
    const answer = json(fault.status, { error: true, message: 'injected failure' });
    return Promise.resolve({ ...answer, headers });
  }
  return normal();
};

const send = (response: ServerResponse, answer: Answer, trickleMs: number | undefined): void => {
  const type = answer.stream === undefined || answer.type === 'json' ? 'json' : 'plain';
  response.writeHead(answer.status, {
    'content-type': type === 'json' ? 'application/json' : 'text/plain',
    ...answer.headers,
  });
  const whole = answer.stream === undefined ? JSON.stringify(answer.body ?? {}) : answer.stream;
  if (typeof whole === 'string' && trickleMs === undefined) {
    // A body in hand is written at once: the stand-in shares the cores with its client, and
    // a stream per answer cost it about twice the CPU.
    response.end(whole);
    return;
  }
  let body = typeof whole === 'string' ? Readable.from([whole]) : whole;
  if (trickleMs !== undefined) body = Readable.from(trickle(body, trickleMs));
  // pipeline, not pipe: a client that goes away must stop an endless or trickling body.
  pipeline(body, response, () => undefined);
};

const listen = async (
  handler: Handler,
  faults: Fault[],
  latencyMs: number,
): Promise<{ upstream: Upstream; server: Server }> => {
  const upstream: Upstream = {
    url: '',
    host: '',
    requests: [],
    answers: [],
    inFlight: 0,
    peakInFlight: 0,
  };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const arrived = performance.now();
    const line = `${request.method} ${request.url}`;
    upstream.requests.push(line);
    upstream.inFlight += 1;
    upstream.peakInFlight = Math.max(upstream.peakInFlight, upstream.inFlight);
    response.on('finish', () =>
      upstream.answers.push({ arrivedMs: arrived, finishedMs: performance.now() }),
    );
    response.on('close', () => {
      upstream.inFlight -= 1;
    });
    void (async () => {
      const body = await readBody(request);
      // Node's timers count whole milliseconds from the event loop's last tick, so one fires
      // up to a millisecond early or late. Waiting out every fraction left (a ceiling) made
      // the mean answer 20.8 ms for 20, which the backfill bench counted against the client:
      // wait in rounded steps until less than half a millisecond is left (mean 20.3-20.6).
      for (let left = latencyMs; left > 0.5; left = latencyMs - (performance.now() - arrived)) {
        await sleep(Math.round(left));
      }
      const normal = () =>
        handler(request, new URL(request.url ?? '/', 'http://x').pathname, body).catch(
          (error: unknown) => json(500, { error: true, message: String(error) }),
        );
      const fault = faults.find((f) => f.times > 0 && f.match.test(line));
      if (fault !== undefined) fault.times -= 1;
      const answer = await (fault === undefined ? normal() : faulty(fault, normal));
      send(response, answer, fault?.trickleMs);
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
      const [start, end] = [query.get('startID'), query.get('endID')];
      // hg.mozilla.org would answer its latest pushes; no client of ours may rely on that.
      if (start === null || end === null) {
        return json(400, { error: 'this fixture server wants both startID and endID' });
      }
      const page = Object.fromEntries(
        Object.entries(pushlog.pushes).filter(
          ([id]) => Number(id) > Number(start) && Number(id) <= Number(end),
        ),
      );
      return json(200, { lastpushid: pushlog.lastpushid, pushes: page });
    }
    const rev = REV.exec(path);
    if (rev !== null) {
      // The pattern's three groups always take part in a match.
      const [repoPath = '', endpoint = '', node = ''] = rev.slice(1);
      if (endpoint === 'json-rev') {
        const changeset = data.changeset(repoPath, node);
        if (changeset === undefined) return json(404, { error: `unknown revision '${node}'` });
        return changeset instanceof Readable
          ? { status: 200, stream: changeset, type: 'json' }
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
    if (answer !== undefined) return { status: answer.status, body: answer.body };
    if (bug !== null) return json(404, { error: true, code: 101, message: 'Bug does not exist.' });
    // As Bugzilla answers a path it does not serve, under its REST API or not.
    return path.startsWith('/rest/')
      ? json(404, {
          error: true,
          code: 32614,
          message: `A REST API resource was not found for '${path}'.`,
        })
      : {
          status: 404,
          stream: '<!DOCTYPE html><html><body>Not Found</body></html>',
          type: 'text/html',
        };
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
