import type { Command } from 'commander';
import { intArgument } from '../program.js';
import { DEFAULT_MAX_WAIT_SECONDS } from './resumeCommand.js';

/** The options both backfills take (ResumeOptions and --max-wait), added to their program. */
export const withBackfillOptions = (program: Command): Command =>
  program
    .option('--debug', 'log every request and decision to stderr')
    .option('--no-send', 'print the pings on stdout, one JSON document a line; send nothing')
    .option('-y, --yes', 'do not ask for confirmation before starting')
    .option('--resend', 'send even the pings the store says were sent (and record them again)')
    .option(
      '--max-wait <SECONDS>',
      'how long to wait for a host that is down before giving up (1 to 86400)',
      intArgument('a number of seconds', 1, 86_400),
      DEFAULT_MAX_WAIT_SECONDS,
    );
