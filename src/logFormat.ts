/**
 * How a log line is written: one JSON object off a terminal, `time LEVEL msg key=value` on one.
 * Pure: log.ts hands each line, already made safe (logValue.ts), to one of these.
 */
/** tslog's level numbers, and `silent` above them all. */
export const LEVELS = { debug: 2, info: 3, warn: 4, error: 5, silent: 7 } as const;
export type LogLevel = keyof typeof LEVELS;
export type LineLevel = Exclude<LogLevel, 'silent'>;
export type LogFields = Record<string, unknown>;

/** One line, before it is written out as JSON or as text. */
export interface LogEntry {
  readonly level: LineLevel;
  readonly time: Date;
  readonly msg: string;
  /** Already redacted and made JSON-safe (see logValue.ts). */
  readonly fields: LogFields;
}

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
