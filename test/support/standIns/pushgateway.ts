/** A stand-in Prometheus Pushgateway on loopback, for the tests of pushing metrics. */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly body: string;
  readonly headers: IncomingMessage['headers'];
}

/** A stand-in Pushgateway: records every request, answers with `status`. */
export interface Gateway {
  readonly url: string;
  readonly requests: Recorded[];
  status: number;
  close(): Promise<void>;
}

export const startGateway = async (): Promise<Gateway> => {
  const requests: Recorded[] = [];
  const gateway = { requests, status: 200 } as { -readonly [K in keyof Gateway]: Gateway[K] };
  const server: Server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      requests.push({
        method: request.method ?? '',
        path: request.url ?? '',
        body,
        headers: request.headers,
      });
      response.writeHead(gateway.status).end(gateway.status >= 400 ? 'refused' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  gateway.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  gateway.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return gateway;
};

/** A loopback port nothing listens on (it was free a moment ago). */
export const closedPort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
};
