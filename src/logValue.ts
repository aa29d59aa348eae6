/**
 * What a log line may print of a value: credentials and registered secrets masked, Errors as
 * LoggedError, and nothing JSON.stringify would throw on or silently mangle. log.ts applies it
 * to every line's fields before tslog hands the line on.
 */
import { preview } from './preview.js';
import { MASK, isCredentialKey } from './redact.js';

/** What the logger prints an Error as; `stack` only when running at debug level. */
export interface LoggedError {
  message: string;
  kind?: string;
  cause?: LoggedError;
  stack?: string;
}

// Deep or cyclic values (an HTTP error's request and socket, say) would otherwise flood a line.
const MAX_DEPTH = 6;
const MAX_CAUSES = 5;

/** How much of a thrown value that is not an Error a line shows. */
const MAX_NON_ERROR = 1_000;

// A cause need not be an Error: `{ code: 'ECONNRESET' }` should not read as `[object Object]`.
// Nor serialised whole: a value thrown from input may nest thousands deep (JSON.stringify and
// String would both overflow the stack) or run to megabytes.
const describeNonError = (value: unknown, mask: (text: string) => string): string =>
  typeof value === 'string'
    ? mask(value).slice(0, MAX_NON_ERROR)
    : mask(preview(value, MAX_NON_ERROR, mask));

const serialiseError = (
  error: unknown,
  mask: (text: string) => string,
  stacks: boolean,
  depth = 0,
): LoggedError => {
  if (!(error instanceof Error)) return { message: describeNonError(error, mask) };
  const logged: LoggedError = { message: mask(error.message) };
  const kind = (error as { kind?: unknown }).kind;
  if (typeof kind === 'string') logged.kind = kind;
  // Before `cause`, so that on a terminal the outer stack prints first.
  if (stacks && error.stack !== undefined) logged.stack = mask(error.stack);
  if (error.cause !== undefined && error.cause !== error && depth < MAX_CAUSES) {
    logged.cause = serialiseError(error.cause, mask, stacks, depth + 1);
  }
  return logged;
};

/**
 * A copy of `value` that is safe to print: credentials and registered secrets masked, Errors
 * in the LoggedError shape, and nothing JSON.stringify would throw on or silently mangle
 * (cycles, bigints, Maps, Buffers).
 */
export const loggable = (
  value: unknown,
  options: { mask: (text: string) => string; stacks: boolean },
  depth = 0,
  seen: WeakSet<object> = new WeakSet(),
): unknown => {
  const { mask } = options;
  switch (typeof value) {
    case 'string':
      return mask(value);
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return value.toString();
    case 'boolean':
    case 'undefined':
      return value;
    case 'symbol':
    case 'function':
      return undefined;
  }
  if (value === null) return null;
  const object = value as object;
  if (object instanceof Error) return serialiseError(object, mask, options.stacks);
  if (object instanceof Date)
    return Number.isNaN(object.getTime()) ? 'Invalid Date' : object.toISOString();
  if (object instanceof URL) return mask(object.href);
  if (ArrayBuffer.isView(object)) return `[${object.byteLength} bytes]`;
  if (seen.has(object)) return '[Circular]';
  if (depth >= MAX_DEPTH) return Array.isArray(object) ? '[Array]' : '[Object]';
  seen.add(object);
  try {
    if (Array.isArray(object) || object instanceof Set) {
      return [...(object as Iterable<unknown>)].map((item) =>
        loggable(item, options, depth + 1, seen),
      );
    }
    const entries: [unknown, unknown][] =
      object instanceof Map ? [...object.entries()] : Object.entries(object);
    const copy: Record<string, unknown> = {};
    for (const [rawKey, item] of entries) {
      const key = String(rawKey);
      copy[key] =
        isCredentialKey(key) && item !== undefined
          ? MASK
          : loggable(item, options, depth + 1, seen);
    }
    return copy;
  } finally {
    seen.delete(object);
  }
};
