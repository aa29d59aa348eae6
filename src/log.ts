import { Logger, type ILogObj, type IMeta } from 'tslog';
import { preview } from './preview.js';
import { MASK, isCredentialKey, maskUrlCredentials, secretMasker } from './redact.js';

const LEVELS = { debug: 2, info: 3, warn: 4, error: 5, silent: 7 } as const;
export type LogLevel = keyof typeof LEVELS;
export type LineLevel = Exclude<LogLevel, 'silent'>;
export type LogFields = Record<string, unknown>;

/** One line, before it is written out as JSON or as text. */
export interface LogEntry {
  readonly level: LineLevel;
  readonly time: Date;
  readonly msg: string;
  /** Already redacted and made JSON-safe (see `loggable`). */
  readonly fields: LogFields;
}

export interface LogOptions {
  readonly level?: LogLevel;
  /** Values that must never be printed, such as the Pulse password. */
  readonly secrets?: readonly string[];
}

/** What the logger prints an Error as; `stack` only when running at debug level. */
export interface LoggedError {
  message: string;
  kind?: string;
  cause?: LoggedError;
  stack?: string;
}

let state = { level: 'info' as LogLevel, mask: maskUrlCredentials };

// Deep or cyclic values (an axios error's request, say) would otherwise flood a line.
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

// `level`, `time` and `msg` always say what they mean; a field of the same name keeps its value
// under another name rather than overwriting them.
const RESERVED = new Set(['level', 'time', 'msg']);

/** The line written off a terminal: `{"level","time","msg",...fields}`. */
export const formatJson = (entry: LogEntry): string => {
  const line: Record<string, unknown> = {
    level: entry.level,
    time: entry.time.toISOString(),
    msg: entry.msg,
  };
  for (const [key, value] of Object.entries(entry.fields)) {
    line[RESERVED.has(key) ? `_${key}` : key] = value;
  }
  return JSON.stringify(line);
};

const ANSI = {
  dim: '\x1b[2m',
  reset: '\x1b[0m',
  red: '\x1b[31m',
  yellow: '\x1b[33m',
  cyan: '\x1b[36m',
};
const LEVEL_COLOUR: Record<LineLevel, string> = {
  debug: ANSI.dim,
  info: ANSI.cyan,
  warn: ANSI.yellow,
  error: ANSI.red,
};

const textValue = (value: unknown): string =>
  typeof value === 'string' && /^[^\s="\\]+$/.test(value) ? value : JSON.stringify(value);

// Nested fields read as `error.message="..." error.cause.message="..."`; a stack reads best on
// lines of its own, so it is set aside and printed after the line.
const flatten = (
  fields: LogFields,
  prefix: string,
  pairs: [string, string][],
  stacks: string[],
): void => {
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const name = `${prefix}${key}`;
    if (key === 'stack' && typeof value === 'string') stacks.push(value);
    else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      if (Object.keys(value).length === 0) pairs.push([name, '{}']);
      else flatten(value as LogFields, `${name}.`, pairs, stacks);
    } else pairs.push([name, textValue(value)]);
  }
};

const pad = (n: number): string => String(n).padStart(2, '0');

/** The line written on a terminal: `12:04:31 WARN  message key=value ...`. */
export const formatText = (entry: LogEntry, colours: boolean): string => {
  const paint = (code: string, text: string): string =>
    colours ? `${code}${text}${ANSI.reset}` : text;
  const { time } = entry;
  const clock = `${pad(time.getHours())}:${pad(time.getMinutes())}:${pad(time.getSeconds())}`;
  const pairs: [string, string][] = [];
  const stacks: string[] = [];
  flatten(entry.fields, '', pairs, stacks);
  const fields = pairs.map(([key, value]) => ` ${paint(ANSI.dim, `${key}=`)}${value}`).join('');
  const level = paint(LEVEL_COLOUR[entry.level], entry.level.toUpperCase().padEnd(5));
  const trailer = stacks.map((stack) => `\n${paint(ANSI.dim, stack.replace(/^/gm, '    '))}`);
  return `${paint(ANSI.dim, clock)} ${level} ${entry.msg}${fields}${trailer.join('')}`;
};

const coloursWanted = (): boolean => process.stderr.isTTY === true && !process.env.NO_COLOR;

const entryOf = (
  meta: IMeta | undefined,
  logObj: { msg?: unknown; fields?: unknown } | undefined,
): LogEntry => ({
  level: (meta?.logLevelName.toLowerCase() ?? 'info') as LineLevel,
  time: meta?.date ?? new Date(),
  msg: typeof logObj?.msg === 'string' ? logObj.msg : '',
  fields: (logObj?.fields ?? {}) as LogFields,
});

/**
 * tslog does the level filtering and the plumbing; these hooks decide what a line holds
 * (redacted `msg` and fields, nothing of tslog's `_meta`) and how it is written. Every line
 * goes to stderr: stdout carries pings only.
 */
const logger = new Logger<ILogObj>({
  type: process.stderr.isTTY ? 'pretty' : 'json',
  minLevel: LEVELS.info,
  hideLogPositionForProduction: true,
  overwrite: {
    // Runs only for lines at or above the level, before anything else sees the arguments.
    mask: ([msg, fields]) => {
      const options = { mask: state.mask, stacks: state.level === 'debug' };
      return [state.mask(String(msg)), loggable(fields ?? {}, options)];
    },
    toLogObj: ([msg, fields]) => ({ msg, fields }),
    // tslog's own header (date, level, file position) is replaced by formatText's.
    formatMeta: () => '',
    transportFormatted: (_header, args, _errors, meta) => {
      const entry = entryOf(meta, { msg: args[0], fields: args[1] });
      process.stderr.write(`${formatText(entry, coloursWanted())}\n`);
    },
    transportJSON: (logObj) => {
      const { _meta: meta, ...rest } = logObj as { _meta?: IMeta; msg?: unknown; fields?: unknown };
      process.stderr.write(`${formatJson(entryOf(meta, rest))}\n`);
    },
  },
});

// Calls written against the previous API, `log.info({ message, ...fields })`, still print
// something sensible while they are being moved over.
const emit = (level: LineLevel, msg: unknown, fields: LogFields | undefined): void => {
  if (typeof msg === 'string') {
    logger[level](msg, fields ?? {});
  } else if (msg !== null && typeof msg === 'object' && !(msg instanceof Error)) {
    const { message, ...rest } = msg as LogFields;
    logger[level](String(message ?? ''), { ...rest, ...fields });
  } else {
    logger[level](String(msg), { ...fields, ...(msg instanceof Error ? { error: msg } : {}) });
  }
};

/**
 * The one logger: `log.info('connected', { host })`. Off a terminal each line is one JSON
 * object `{"level","time","msg",...fields}`; on a terminal, `time LEVEL msg key=value`.
 */
export const log = {
  debug: (msg: string, fields?: LogFields): void => emit('debug', msg, fields),
  info: (msg: string, fields?: LogFields): void => emit('info', msg, fields),
  warn: (msg: string, fields?: LogFields): void => emit('warn', msg, fields),
  error: (msg: string, fields?: LogFields): void => emit('error', msg, fields),
};

/**
 * A line that ends a command, written whatever the level: `command: message` on a terminal,
 * else one JSON line `{"level":"error",...,"msg":message,"command":command}` like every other.
 * The message is written as given: its author masked what it quotes (a URL's password), and a
 * second masking would take the user name out of `user:***@` too.
 */
export const fatal = (command: string, msg: string): void => {
  const entry: LogEntry = { level: 'error', time: new Date(), msg, fields: { command } };
  process.stderr.write(`${process.stderr.isTTY ? `${command}: ${msg}` : formatJson(entry)}\n`);
};

/** Sets the level and registers secrets; called once by each command at start-up. */
export const configureLog = ({ level = 'info', secrets = [] }: LogOptions = {}): void => {
  logger.settings.minLevel = LEVELS[level];
  state = { level, mask: secretMasker(secrets) };
};
