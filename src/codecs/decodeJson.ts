import type * as t from 'io-ts';
import { DecodeError, decodeWith, type Decoded } from './report.js';

/**
 * How deep JSON from outside may nest. Every format we read nests a handful of levels; a
 * value thousands deep is an attack or an accident, and walking it (a decode report, a log
 * line) could overflow the stack.
 */
export const MAX_JSON_DEPTH = 64;

export interface JsonLimits {
  /** Bytes of text past which it is refused unread; by default, no limit here. */
  readonly maxBytes?: number;
  /** Nesting of arrays and objects past which it is refused unparsed. */
  readonly maxDepth?: number;
  /** Bytes that are not UTF-8 are refused, rather than read with replacement characters. */
  readonly strictUtf8?: boolean;
}

// A byte order mark is kept, and then is not JSON, as Buffer's own toString does.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** How deep the arrays and objects of JSON text nest, read in one pass with no recursion. */
export const jsonDepth = (text: string, stopAbove = Infinity): number => {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i += 1; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth += 1;
      if (depth > deepest) deepest = depth;
      if (deepest > stopAbove) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth -= 1;
  }
  return deepest;
};

/**
 * Parses JSON text and decodes it with `codec`. Text that is too large, not UTF-8, nested too
 * deep or not JSON fails like a value of the wrong shape: a DecodeError naming `what`, never a
 * throw. The limits are checked before anything walks the value.
 */
export const decodeJsonWith = <C extends t.Mixed>(
  codec: C,
  what: string,
  limits: JsonLimits = {},
) => {
  const decode = decodeWith(codec, what);
  const maxDepth = limits.maxDepth ?? MAX_JSON_DEPTH;
  const fail = (problem: string): Decoded<t.TypeOf<C>> => ({
    ok: false,
    error: new DecodeError(what, [`(root): ${problem}`]),
  });
  return (input: string | Buffer): Decoded<t.TypeOf<C>> => {
    const bytes = typeof input === 'string' ? Buffer.byteLength(input) : input.byteLength;
    if (limits.maxBytes !== undefined && bytes > limits.maxBytes) {
      return fail(`larger than ${limits.maxBytes} bytes (${bytes})`);
    }
    let text: string;
    try {
      if (typeof input === 'string') text = input;
      else text = limits.strictUtf8 === true ? strictUtf8.decode(input) : input.toString();
    } catch {
      return fail('not UTF-8 text');
    }
    if (jsonDepth(text, maxDepth) > maxDepth) return fail(`nested deeper than ${maxDepth} levels`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return fail('not JSON');
    }
    return decode(json);
  };
};
