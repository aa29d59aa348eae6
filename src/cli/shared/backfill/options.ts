import { InvalidArgumentError, Option, type Command } from 'commander';
import { intArgument } from '../program.js';
import { DEFAULT_MAX_WAIT_SECONDS } from './resumeCommand.js';

/** --resend-before's time: ISO 8601 with a time zone, as a resume command prints it. */
const timeArgument = (value: string): number => {
  const ms = /T.*(Z|[+-]\d\d:\d\d)$/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) {
    throw new InvalidArgumentError('--resend-before takes a time such as 2026-12-07T15:30:00Z.');
  }
  return ms;
};

/** The options both backfills take (ResumeOptions and --max-wait), added to their program. */
export const withBackfillOptions = (program: Command): Command =>
  program
    .option('--debug', 'log every request and decision to stderr')
    .option('--no-send', 'print the pings on stdout, one JSON document a line; send nothing')
    .option('-y, --yes', 'do not ask for confirmation before starting')
    .addOption(
      new Option(
        '--resend',
        'send again the pings the store says were sent before this run started',
      ).conflicts('resendBefore'),
    )
    .option(
      '--resend-before <TIME>',
      'send again the pings the store recorded before TIME, or before this run started if TIME is later (ISO 8601; resume commands use it)',
      timeArgument,
    )
    .option(
      '--max-wait <SECONDS>',
      'how long to wait for a host that is down before giving up (1 to 86400)',
      intArgument('a number of seconds', 1, 86_400),
      DEFAULT_MAX_WAIT_SECONDS,
    );
