import { createProgram, intArgument } from '../shared/program.js';
import { TELEMETRY_HELP } from '../shared/settingsHelp.js';
import { withBackfillOptions } from '../shared/backfill/options.js';
import type { ResumeOptions } from '../shared/backfill/resumeCommand.js';

export const NAME = 'backfill-pushlog';

export type PushlogBackfillOptions = ResumeOptions & {
  readonly pageSize: number;
  readonly maxWait: number;
};

export interface Arguments {
  readonly repoArg: string;
  readonly start: number;
  readonly end: number;
  readonly options: PushlogBackfillOptions;
}

/** Reads the command line; `--help` and a usage error exit here (0 and 2). */
export const parseArguments = (): Arguments => {
  const program = withBackfillOptions(
    createProgram(
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
      .argument('<ENDING_PUSHID>', 'the last push to process', intArgument('a push id', 0)),
  )
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
        '\nA changeset refused for its own sake (a 4xx, an invalid ping) is listed in the summary' +
        '\nand the run goes on. The run stops early, with the summary and the resume command, when' +
        '\na host answers BREAKER_FAILURES (default 5) requests in a row with the same 4xx (a wrong' +
        '\nsetting, such as a TMO_BASE_URL path answered 404), or stays down longer than --max-wait' +
        '\n(a rate limit with a known end is waited out and shown as "waiting until HH:MM:SS").' +
        '\nExit status: 0 all sent, 1 some changeset failed or the run stopped early, 2 usage' +
        '\nerror, 130 Ctrl-C, 143 SIGTERM, 141 stdout closed by its reader (--no-send | head).',
    )
    .parse();
  const [repoArg, start, end] = program.processedArgs as [string, number, number];
  return { repoArg, start, end, options: program.opts<PushlogBackfillOptions>() };
};
