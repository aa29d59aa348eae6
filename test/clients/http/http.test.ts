import test from 'ava';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HostLimits } from '../../../src/clients/hostLimits.js';
import { Http } from '../../../src/clients/http.js';
import { DeadlineExceeded, PipelineError } from '../../../src/errors.js';
import { configureLog } from '../../../src/log.js';
import { CountingLimits } from '../../support/countingLimits.js';

configureLog({ level: 'silent' });

/** A loopback server answering each request with the next status of `statuses` (then 200). */
const serve = async (statuses: number[], delayMs = 0) => {
  const seen: { path: string; userAgent: string | undefined }[] = [];
  let inFlight = 0;
  let peak = 0;
  let cutOff = 0;
  const server: Server = createServer((request, response) => {
    seen.push({ path: request.url ?? '', userAgent: request.headers['user-agent'] });
    inFlight += 1;
    peak = Math.max(peak, inFlight);
    response.on('close', () => {
      if (!response.writableEnded) cutOff += 1;
    });
    setTimeout(() => {
      inFlight -= 1;
      const status = statuses.shift() ?? 200;
      if (status === 302) {
        response.writeHead(302, { location: 'http://example.com/' }).end();
      } else {
        response
          .writeHead(status, { 'content-type': 'application/json' })
          .end(`{"status":${status}}`);
      }
    }, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    peak: () => peak,
    /** Requests whose connection the client closed before their answer was sent. */
    cutOff: () => cutOff,
    close: () => new Promise((r) => server.close(r)),
  };
};

const readStatus = async (response: { status: number }) => response.status;

test('retries 500, 502, 503 and 429, then hands the answer over', async (t) => {
  const server = await serve([500, 502, 503]);
  const http = new Http(new HostLimits(2), { backoffMs: 1 });
  t.is(await http.request({ url: `${server.url}/a` }, readStatus), 200);
  t.is(server.seen.length, 4);
  await server.close();
});

test('gives up after the last attempt with a transient error naming the URL and status', async (t) => {
  const server = await serve([503, 503, 503, 503, 503]);
  const http = new Http(new HostLimits(2), { backoffMs: 1, attempts: 4 });
  const error = await t.throwsAsync(http.request({ url: `${server.url}/down` }, readStatus), {
    instanceOf: PipelineError,
  });
  t.is(error?.kind, 'transient');
  t.is(error?.message, `GET ${server.url}/down answered 503`);
  t.is(server.seen.length, 4);
  await server.close();
});

test('does not retry a 4xx: the handler decides what it means', async (t) => {
  const server = await serve([404, 429]);
  const http = new Http(new HostLimits(2), { backoffMs: 1 });
  t.is(await http.request({ url: `${server.url}/missing` }, readStatus), 404);
  t.is(server.seen.length, 1);
  await server.close();
});

test('treats a refused connection as transient and retries it', async (t) => {
  const server = await serve([]);
  await server.close();
  const http = new Http(new HostLimits(2), { backoffMs: 1, attempts: 2 });
  const error = await t.throwsAsync(http.request({ url: `${server.url}/gone` }, readStatus));
  t.true(error instanceof PipelineError && error.kind === 'transient');
  t.regex(error!.message, /ECONNREFUSED/);
});

test('an answer that does not come before the deadline is a transient failure naming it', async (t) => {
  // A deadline long enough that the server has read the request before it passes, even on a
  // loaded machine: the test checks that the client then closes the connection.
  const server = await serve([], 3_000);
  const http = new Http(new HostLimits(2), { backoffMs: 1, attempts: 1, deadlineMs: 300 });
  const error = await t.throwsAsync(http.request({ url: `${server.url}/slow` }, readStatus), {
    instanceOf: DeadlineExceeded,
  });
  t.is(error?.kind, 'transient');
  t.is(error?.message, `GET ${server.url}/slow did not finish within its 0.3 s deadline`);
  // The connection is closed at the deadline, not left to wait for the answer.
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.is(server.cutOff(), 1);
  await server.close();
});

test('a streamed request has the stream deadline, not the one for answers read whole', async (t) => {
  const server = await serve([], 150);
  const http = new Http(new HostLimits(2), { attempts: 1, deadlineMs: 50, streamDeadlineMs: 5000 });
  t.is(await http.request({ url: `${server.url}/patch`, streamed: true }, readStatus), 200);
  await server.close();
});

test('does not follow redirects, so an allowed URL cannot lead elsewhere', async (t) => {
  const server = await serve([302]);
  const http = new Http(new HostLimits(2), { backoffMs: 1 });
  t.is(await http.request({ url: `${server.url}/moved` }, readStatus), 302);
  t.is(server.seen.length, 1);
  await server.close();
});

test('keeps at most `concurrency` requests in flight per host and names itself', async (t) => {
  const server = await serve([], 30);
  const limits = new CountingLimits(3);
  const http = new Http(limits);
  await Promise.all(
    Array.from({ length: 12 }, (_, i) => http.request({ url: `${server.url}/${i}` }, readStatus)),
  );
  t.is(server.peak(), 3);
  t.is(limits.peakInFlight.get(new URL(server.url).host), 3);
  t.regex(server.seen[0]!.userAgent ?? '', /^commit-telemetry-service\/\d+\.\d+\.\d+ /);
  await server.close();
});

test('clients of different upstreams share the cap of a host they both call', async (t) => {
  const server = await serve([], 30);
  const limits = new HostLimits(2);
  const [one, two] = [new Http(limits), new Http(limits)];
  await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      (i % 2 === 0 ? one : two).request({ url: `${server.url}/${i}` }, readStatus),
    ),
  );
  t.is(server.peak(), 2);
  await server.close();
});
