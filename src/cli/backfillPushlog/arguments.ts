import { createProgram, intArgument } from '../shared/program.js';
import { TELEMETRY_HELP } from '../shared/settingsHelp.js';
import type { ResumeOptions } from './resumeCommand.js';

export const NAME = 'backfill-pushlog';

export interface Arguments {
  readonly repoArg: string;
  readonly start: number;
  readonly end: number;
  readonly options: ResumeOptions;
}

/** Reads the command line; `--help` and a usage error exit here (0 and 2). */
export const parseArguments = (): Arguments => {
  const program = createProgram(
    NAME,
    'Re-create the pings of the pushes STARTING_PUSHID < id <= ENDING_PUSHID of a repository, ' +
      'read from its pushlog, and send them (or print them with --no-send).',
    TELEMETRY_HELP,
  )
    .argument('<REPO_URL>', 'repository, e.g. https://hg.mozilla.org/integration/autoland')
    .argument(
      '<STARTING_PUSHID>',
      'the push before the first one to process',
      intArgument('a push id', 0),
    )
    .argument('<ENDING_PUSHID>', 'the last push to process', intArgument('a push id', 0))
    .option('--debug', 'log every request and decision to stderr')
    .option('--no-send', 'print the pings on stdout, one JSON document a line; send nothing')
    .option('-y, --yes', 'do not ask for confirmation before starting')
    .option('--resend', 'send even the pings the store says were sent (and record them again)')
    .option(
      '--page-size <N>',
      'pushes per pushlog request (1 to 1000)',
      intArgument('a page size', 1, 1000),
      100,
    )
    .addHelpText(
      'after',
      '\nProgress and the summary go to stderr: text on a terminal, else JSON lines. On a failure,' +
        '\nCtrl-C or SIGTERM (pushes in flight finish first) the resume command is printed.' +
        '\nExit status: 0 all sent, 1 some changeset failed, 2 usage error, 130 Ctrl-C, 143 SIGTERM.',
    )
    .parse();
  const [repoArg, start, end] = program.processedArgs as [string, number, number];
  return { repoArg, start, end, options: program.opts<ResumeOptions>() };
};
