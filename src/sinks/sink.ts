import type { Ping } from '../codecs/ping.js';

/** Where pings end up; chosen once, at the edge, by each command. */
export interface Sink {
  /** Resolves once the ping is delivered (accepted, written); rejects with a PipelineError. */
  send(ping: Ping): Promise<void>;
}
