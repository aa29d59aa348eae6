import { shellQuote } from '../backfillPushlog/resumeCommand.js';
import { DEFAULT_MAX_WAIT_SECONDS } from '../backfillPushlog/arguments.js';
import { tell } from '../shared/tell.js';
import type { GitBackfillOptions } from './arguments.js';

/** The command line that carries on after commit `resumeAfter`, with the same options. */
export const gitResumeCommand = (
  invocation: readonly string[],
  options: GitBackfillOptions,
  repository: string,
  resumeAfter: string,
  head: string,
): string =>
  [
    ...invocation,
    ...(options.debug ? ['--debug'] : []),
    ...(options.send ? [] : ['--no-send']),
    ...(options.yes ? ['--yes'] : []),
    ...(options.resend ? ['--resend'] : []),
    ...(options.maxWait !== DEFAULT_MAX_WAIT_SECONDS
      ? ['--max-wait', String(options.maxWait)]
      : []),
    repository,
    resumeAfter,
    head,
  ]
    .map(shellQuote)
    .join(' ');

/** Says how to carry on: the command on a terminal, a `resume` event for a log collector. */
export const tellGitResume = (resumeAfter: string, command: string): void =>
  tell(
    'warn',
    'resume',
    { resumeAfter, command },
    `To resume after commit ${resumeAfter}, the last one completely done:\n  ${command}`,
  );
