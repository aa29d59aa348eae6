import { Command, CommanderError, InvalidArgumentError } from 'commander';
import type * as t from 'io-ts';
import { IntFromString } from '../../codecs/settings.js';
import pkg from '../../../package.json' with { type: 'json' };
import { readSettings, setByDotenv } from '../../config.js';
import { fatal, fatalOnCrash, type LogLevel } from '../../log.js';
import { SETTINGS_HELP } from './settingsHelp.js';

/** Exit codes shared by every command. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130, readerGone: 141 } as const;

/**
 * A reader of stdout that goes away (`| head -1`) ends the run as it ends other Unix tools:
 * at once, quietly, with the status a shell gives a program stopped by SIGPIPE. Node ignores
 * SIGPIPE, and the next write's EPIPE was a crash with its stack.
 */
const endWhenStdoutCloses = (): void => {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(EXIT.readerGone);
  });
};

/**
 * A commander program whose usage errors exit 2 (commander's own default is 1, which we
 * keep for "ran, but something failed"). Its errors are fatal lines like ours (`name: ...` on
 * a terminal, a JSON line otherwise), not commander's `error: ...`; so is a crash.
 */
export const createProgram = (name: string, description: string, settingsHelp = ''): Command => {
  fatalOnCrash(name);
  endWhenStdoutCloses();
  return new Command(name)
    .description(description)
    .version(pkg.version, '-V, --version', 'print the version and exit')
    .configureOutput({
      outputError: (text) =>
        fatal(name, `${text.trim().replace(/^error: /, '')} (run with --help for usage)`),
    })
    .addHelpText('after', `${SETTINGS_HELP}${settingsHelp}`)
    .exitOverride((error: CommanderError) => {
      process.exit(error.exitCode === 0 ? EXIT.ok : EXIT.usage);
    });
};

/** A commander argument parser for an integer from `min` to `max`, read as settings are. */
export const intArgument =
  (what: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  (value: string): number => {
    const decoded = IntFromString(min, max).decode(value);
    if (decoded._tag === 'Left') {
      throw new InvalidArgumentError(`${what} is an integer from ${min} to ${max}.`);
    }
    return decoded.right;
  };

/** The log level: debug with --debug or DEBUG=true, else LOG_LEVEL, else the command's own. */
export const logLevelFor = (
  debugFlag: boolean | undefined,
  settings: { readonly DEBUG: boolean; readonly LOG_LEVEL?: LogLevel | undefined } | undefined,
  otherwise: LogLevel,
): LogLevel => (debugFlag || settings?.DEBUG ? 'debug' : (settings?.LOG_LEVEL ?? otherwise));

/** Says `message` as a fatal line (see log.ts's `fatal`) and exits with `code`. */
export const fail = (name: string, message: string, code: number): never => {
  fatal(name, message);
  process.exit(code);
};

/** Reads a group of settings, or exits 2 naming every variable that is wrong. */
export const settingsOrExit = <C extends t.Mixed>(name: string, codec: C): t.TypeOf<C> => {
  const settings = readSettings(codec);
  if (settings.ok) return settings.value;
  // A value the .env file set is fixed there, not in the environment: say where it came from.
  const where = (problem: string) => {
    const variable = /^(\w+):/.exec(problem)?.[1];
    return variable !== undefined && setByDotenv.has(variable)
      ? `${problem} (set in .env)`
      : problem;
  };
  return fail(
    name,
    `bad settings, fix these environment variables:\n  ${settings.error.problems.map(where).join('\n  ')}`,
    EXIT.usage,
  );
};
