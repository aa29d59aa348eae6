import type { Writable } from 'node:stream';
import { log, type LineLevel, type LogFields } from '../../log.js';

/** Who reads stderr: a person at a terminal, or a program collecting log lines. */
export interface Audience {
  readonly tty: boolean;
  /** Where text for a person goes. */
  readonly out: Writable;
}

export const stderrAudience = (): Audience => ({
  tty: process.stderr.isTTY === true,
  out: process.stderr,
});

/**
 * Says one thing to whoever reads stderr: `text` on a terminal, or else a `msg` event with
 * `fields`, so that a log collector never gets a line it cannot parse.
 */
export const tell = (
  level: LineLevel,
  msg: string,
  fields: LogFields,
  text: string,
  audience: Audience = stderrAudience(),
): void => {
  if (audience.tty) audience.out.write(`${text}\n`);
  else log[level](msg, fields);
};
