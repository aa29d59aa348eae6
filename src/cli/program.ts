import { Command, CommanderError } from 'commander';
import type * as t from 'io-ts';
import { readSettings } from '../config.js';

/** Exit codes shared by every command. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

const SETTINGS_HELP = `
Settings (environment variables, or a .env file in the working directory):
  BMO_API_URL          Bugzilla REST API (default https://bugzilla.mozilla.org/rest)
  ALLOWED_HOSTS        hosts whose URLs may be fetched when they come from input, comma-separated
                       host or host:port (default hg.mozilla.org)
  HTTP_CONCURRENCY     most requests in flight per host (default 8)
  DEBUG                true to log every request and decision (same as --debug)`;

export const TELEMETRY_HELP = `
  TMO_BASE_URL         telemetry ingestion (default https://incoming.telemetry.mozilla.org/submit)
  TMO_PING_NAMESPACE   ping namespace (default eng-workflow)
  TMO_PING_DOCTYPE     ping document type (default hgpush)
  TMO_PING_DOCVERSION  ping document version (default 1)`;

/**
 * A commander program whose usage errors exit 2 (commander's own default is 1, which we
 * keep for "ran, but something failed").
 */
export const createProgram = (name: string, description: string, settingsHelp = ''): Command =>
  new Command(name)
    .description(description)
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `${SETTINGS_HELP}${settingsHelp}`)
    .exitOverride((error: CommanderError) => {
      process.exit(error.exitCode === 0 ? EXIT.ok : EXIT.usage);
    });

/** Prints `name: message` on stderr and exits with `code`. */
export const fail = (name: string, message: string, code: number): never => {
  process.stderr.write(`${name}: ${message}\n`);
  process.exit(code);
};

/** Reads a group of settings, or exits 2 naming every variable that is wrong. */
export const settingsOrExit = <C extends t.Mixed>(name: string, codec: C): t.TypeOf<C> => {
  const settings = readSettings(codec);
  if (settings.ok) return settings.value;
  return fail(
    name,
    `bad settings, fix these environment variables:\n  ${settings.error.problems.join('\n  ')}`,
    EXIT.usage,
  );
};
