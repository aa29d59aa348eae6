import { formatWithOptions } from 'node:util';
import { Logger, type ILogObj } from 'tslog';

/** Replaces the password in `scheme://user:password@host` wherever a URL shows up. */
const URL_CREDENTIALS = /(?<=\/\/[^:/@\s]+:)[^@\s]+(?=@)/g;
const SECRET_KEYS = ['password', 'pulse_password', 'authorization', 'cookie'];

const LEVELS = { debug: 2, info: 3, warn: 4, silent: 7 } as const;
export type LogLevel = keyof typeof LEVELS;

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The one logger. Every line goes to stderr (stdout carries pings only): pretty on a
 * terminal, one JSON object a line elsewhere (Heroku, files, pipes).
 */
export const log = new Logger<ILogObj>({
  name: 'commit-telemetry',
  type: process.stderr.isTTY ? 'pretty' : 'json',
  minLevel: LEVELS.info,
  hideLogPositionForProduction: true,
  maskValuesOfKeys: SECRET_KEYS,
  maskValuesOfKeysCaseInsensitive: true,
  maskValuesRegEx: [URL_CREDENTIALS],
  overwrite: {
    // JSON lines read best as {"message": "...", ...fields}: strings join into `message`,
    // objects add their fields (tslog's default numbers the arguments instead).
    toLogObj: (args, base) => {
      const entry: Record<string, unknown> = { ...(base ?? {}) };
      const words: string[] = [];
      for (const arg of args) {
        if (arg !== null && typeof arg === 'object' && !(arg instanceof Error))
          Object.assign(entry, arg);
        else words.push(arg instanceof Error ? arg.message : String(arg));
      }
      if (words.length > 0) entry.message = words.join(' ');
      return entry as ILogObj;
    },
    transportFormatted: (meta, args, errors) => {
      const text = formatWithOptions({ colors: process.stderr.isTTY }, ...args);
      process.stderr.write(`${meta}${text}${errors.length > 0 ? `\n${errors.join('\n')}` : ''}\n`);
    },
    transportJSON: (json) => {
      process.stderr.write(`${JSON.stringify(json)}\n`);
    },
  },
});

export interface LogOptions {
  readonly level?: LogLevel;
  /** Values that must never be printed, such as the Pulse password. */
  readonly secrets?: readonly string[];
}

/** Sets the level and registers secrets; called once by each command at start-up. */
export const configureLog = ({ level = 'info', secrets = [] }: LogOptions): void => {
  log.settings.minLevel = LEVELS[level];
  log.settings.maskValuesRegEx = [
    URL_CREDENTIALS,
    ...secrets.filter((s) => s !== '').map((s) => new RegExp(escapeRegExp(s), 'g')),
  ];
};
