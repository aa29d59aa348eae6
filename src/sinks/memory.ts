import type { Ping } from '../codecs/ping.js';
import type { Sink } from './sink.js';

/** Keeps every ping in order; for tests and benchmarks. */
export class MemorySink implements Sink {
  readonly pings: Ping[] = [];

  send(ping: Ping): Promise<void> {
    this.pings.push(ping);
    return Promise.resolve();
  }
}
