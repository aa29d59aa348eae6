import { connect, createServer, type Socket } from 'node:net';

export type ProxyMode = 'forward' | 'black hole' | 'cut';

export interface TcpProxy {
  readonly port: number;
  readonly mode: ProxyMode;
  /** Connections accepted so far. */
  readonly accepted: number;
  /**
   * Stops forwarding, both ways, and keeps every socket open: what a client sends is taken
   * and dropped, nothing comes back, nothing is reset. New connections are accepted the same.
   */
  blackHole(): void;
  /** Ends every connection at once, and each new one as soon as it is accepted. */
  cut(): void;
  /**
   * Forwards new connections again. The ones black-holed are ended: after a real black hole
   * they would have been long reset, and what they held must not reach the server late.
   */
  restore(): void;
  close(): Promise<void>;
}

interface Pair {
  readonly client: Socket;
  upstream?: Socket;
  /** Black-holed once: never forwarded again. */
  holed: boolean;
}

/**
 * A TCP relay on loopback to 127.0.0.1:`targetPort` that a test can turn into a black hole or
 * cut, standing between a process and a real server (PostgreSQL) that stays up meanwhile.
 */
export const startTcpProxy = async (targetPort: number): Promise<TcpProxy> => {
  const pairs = new Set<Pair>();
  let mode: ProxyMode = 'forward';
  let accepted = 0;
  const end = (pair: Pair) => {
    pair.client.destroy();
    pair.upstream?.destroy();
    pairs.delete(pair);
  };
  const server = createServer((client) => {
    accepted += 1;
    const pair: Pair = { client, holed: mode !== 'forward' };
    pairs.add(pair);
    client.on('error', () => end(pair)).on('close', () => end(pair));
    if (mode === 'cut') return end(pair);
    client.on('data', (chunk) => {
      if (!pair.holed) pair.upstream?.write(chunk);
    });
    if (pair.holed) return;
    const upstream = connect(targetPort, '127.0.0.1');
    pair.upstream = upstream;
    upstream.on('error', () => end(pair)).on('close', () => end(pair));
    upstream.on('data', (chunk) => {
      if (!pair.holed) client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    get mode() {
      return mode;
    },
    get accepted() {
      return accepted;
    },
    blackHole() {
      mode = 'black hole';
      for (const pair of pairs) pair.holed = true;
    },
    cut() {
      mode = 'cut';
      for (const pair of [...pairs]) end(pair);
    },
    restore() {
      mode = 'forward';
      for (const pair of [...pairs]) if (pair.holed) end(pair);
    },
    close: async () => {
      for (const pair of [...pairs]) end(pair);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
