import type { Writable } from 'node:stream';
import type { Ping } from '../codecs/ping.js';
import type { Sink } from './sink.js';

/** JSON with keys in sorted order at every level, so output is stable and diffable. */
export const sortedJson = (value: unknown, indent?: number): string =>
  JSON.stringify(
    value,
    (_key, v: unknown) =>
      v !== null && typeof v === 'object' && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : v,
    indent,
  );

/**
 * The no-send sink: pings go to stdout instead of telemetry, one JSON document a line, or
 * pretty-printed with 4-space indent (`dump-telemetry`).
 */
export const stdoutSink = (
  { pretty = false }: { pretty?: boolean } = {},
  out: Writable = process.stdout,
): Sink => ({
  send: (ping: Ping) =>
    new Promise<void>((resolve, reject) => {
      out.write(`${sortedJson(ping, pretty ? 4 : undefined)}\n`, (error) =>
        error ? reject(error) : resolve(),
      );
    }),
});
