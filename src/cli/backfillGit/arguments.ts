import { InvalidArgumentError } from 'commander';
import { withBackfillOptions } from '../shared/backfill/options.js';
import type { ResumeOptions } from '../shared/backfill/resumeCommand.js';
import { createProgram } from '../shared/program.js';
import { TELEMETRY_HELP } from '../shared/settingsHelp.js';

export const NAME = 'backfill-git';

export type GitBackfillOptions = ResumeOptions & { readonly maxWait: number };

export interface GitArguments {
  readonly repoArg: string;
  readonly base: string;
  readonly head: string;
  readonly options: GitBackfillOptions;
}

const parseSha = (value: string): string => {
  if (!/^[0-9a-fA-F]{40}$/.test(value)) {
    throw new InvalidArgumentError('a commit is named by its full sha: 40 hex characters.');
  }
  return value.toLowerCase();
};

/** Reads the command line; `--help` and a usage error exit here (0 and 2). */
export const parseArguments = (): GitArguments => {
  const program = withBackfillOptions(
    createProgram(
      NAME,
      'Re-create the pings of the commits of a git branch reachable from HEAD and not from BASE ' +
        "(GitHub's compare), oldest first, and send them (or print them with --no-send).",
      TELEMETRY_HELP,
    )
      .argument(
        '<REPO_URL>',
        'the branch, as pings name it: <GITHUB_WEB_URL>/<owner>/<repo>/tree/<branch>, e.g. https://github.com/mozilla-firefox/firefox/tree/autoland',
      )
      .argument('<BASE>', 'the commit before the first one to process (40 hex)', parseSha)
      .argument('<HEAD>', 'the last commit to process (40 hex)', parseSha),
  )
    .addHelpText(
      'after',
      '\nProgress and the summary go to stderr, as for backfill-pushlog, counted in commits.' +
        '\nA GitHub rate limit is waited out and shown as "waiting until HH:MM:SS".' +
        '\nOn a failure, Ctrl-C or SIGTERM the resume command is printed.' +
        '\nExit status: 0 all sent, 1 some commit failed or the run stopped early, 2 usage' +
        '\nerror, 130 Ctrl-C, 143 SIGTERM, 141 stdout closed by its reader (--no-send | head).',
    )
    .parse();
  const [repoArg, base, head] = program.processedArgs as [string, string, string];
  return { repoArg, base, head, options: program.opts<GitBackfillOptions>() };
};
