/**
 * The one logger, a thin layer over tslog: tslog filters by level and calls these hooks; what
 * a line may print is logValue.ts's (secrets masked), how it reads is logFormat.ts's.
 */
import { Logger, type ILogObj, type IMeta } from 'tslog';
import { formatJson, formatText, LEVELS, type LineLevel, type LogEntry } from './logFormat.js';
import type { LogFields, LogLevel } from './logFormat.js';
import { loggable } from './logValue.js';
import { maskUrlCredentials, secretMasker } from './redact.js';

export { formatJson, formatText, type LineLevel, type LogEntry, type LogFields, type LogLevel };
export { loggable, type LoggedError } from './logValue.js';

export interface LogOptions {
  readonly level?: LogLevel;
  /** Values that must never be printed, such as the Pulse password. */
  readonly secrets?: readonly string[];
}

let state = { level: 'info' as LogLevel, mask: maskUrlCredentials };

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
export const fatal = (command: string, msg: string, stack?: string): void => {
  const fields = { command, ...(stack === undefined ? {} : { stack }) };
  const entry: LogEntry = { level: 'error', time: new Date(), msg, fields };
  const text = stack === undefined ? `${command}: ${msg}` : `${command}: ${msg}\n${stack}`;
  process.stderr.write(`${process.stderr.isTTY ? text : formatJson(entry)}\n`);
};

/**
 * A crash (an exception or rejection nobody handled: a bug) ends the run with a fatal line
 * like any other, masked, with its stack, then exit 1; not Node's bare trace among JSON lines.
 */
export const fatalOnCrash = (command: string): void => {
  process.once('uncaughtException', (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    const stack = error instanceof Error ? error.stack : undefined;
    fatal(command, `unexpected error: ${state.mask(message)}`, stack && state.mask(stack));
    process.exit(1);
  });
};

/** Sets the level and registers secrets; called once by each command at start-up. */
export const configureLog = ({ level = 'info', secrets = [] }: LogOptions = {}): void => {
  logger.settings.minLevel = LEVELS[level];
  state = { level, mask: secretMasker(secrets) };
};
