import { stderrAudience, tell, type Audience } from '../tell.js';

/** --max-wait's default: five minutes. */
export const DEFAULT_MAX_WAIT_SECONDS = 300;

/** The options of a backfill (backfill-pushlog, backfill-git) that its resume command repeats. */
export interface ResumeOptions {
  readonly debug: boolean;
  readonly send: boolean;
  readonly yes: boolean;
  /**
   * --resend: not repeated as such; openBackfill turns it into `resendBefore` (the run's
   * start, by the store's clock), which is.
   */
  readonly resend?: boolean | undefined;
  /** Send again what the ledger recorded before this time (epoch ms); a resume repeats it. */
  readonly resendBefore?: number | undefined;
  /** backfill-pushlog's --page-size; repeated when not the default (100). */
  readonly pageSize?: number;
  /** --max-wait, in seconds; repeated when not the default. */
  readonly maxWait?: number;
}

/**
 * How this run was started, as words of a command line a person can type again where they
 * typed the first. Run through npx (or `npm exec`), the script is a bin link in npx's cache
 * or the project's `node_modules/.bin`: `npx <name>` finds the same one again, from the same
 * directory. Otherwise `process.argv[1]` itself, since a bare command name need not be on the
 * PATH (a checkout), and there `npx` would ask the registry. A script file was run by node
 * (its shebang is not enough where it is not executable).
 */
export const programInvocation = (
  script: string | undefined,
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): string[] => {
  if (script === undefined || script === '') return [name];
  if (env.npm_command === 'exec' && /\/node_modules\/\.bin\/[^/]+$/.test(script)) {
    return ['npx', name];
  }
  return /\.[cm]?js$/.test(script) ? ['node', script] : [script];
};

/** `word` as a POSIX shell reads it back: as is when that is safe, else single-quoted. */
export const shellQuote = (word: string): string =>
  /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;

/**
 * The exact command line that carries on after `resumeAfter`, with the same options, started
 * the way this run was (`invocation`, see programInvocation).
 */
export const resumeCommand = (
  invocation: readonly string[],
  options: ResumeOptions,
  repository: string,
  resumeAfter: number | string,
  end: number | string,
): string =>
  [
    ...invocation,
    ...(options.debug ? ['--debug'] : []),
    ...(options.send ? [] : ['--no-send']),
    ...(options.yes ? ['--yes'] : []),
    // Not --resend: what this run sent is in the ledger since, and is not sent a third time.
    ...(options.resendBefore !== undefined
      ? ['--resend-before', new Date(options.resendBefore).toISOString()]
      : []),
    ...(options.pageSize !== undefined && options.pageSize !== 100
      ? ['--page-size', String(options.pageSize)]
      : []),
    ...(options.maxWait !== undefined && options.maxWait !== DEFAULT_MAX_WAIT_SECONDS
      ? ['--max-wait', String(options.maxWait)]
      : []),
    repository,
    String(resumeAfter),
    String(end),
  ]
    .map(shellQuote)
    .join(' ');

/**
 * What the resume point is. A pushlog backfill goes on after its last push done with every one
 * before it; a git one after a commit done with everything it descends from, which need not
 * be the last commit done (GitCompareSource.resumePoint).
 */
const RESUME_POINT = {
  push: 'the last one completely done',
  commit: 'done with every commit it descends from',
} as const;

/** Says how to carry on: the command on a terminal, a `resume` event for a log collector. */
export const tellResume = (
  unit: 'push' | 'commit',
  resumeAfter: number | string,
  command: string,
  audience: Audience = stderrAudience(),
): void =>
  tell(
    'warn',
    'resume',
    { resumeAfter, command },
    `To resume after ${unit} ${resumeAfter}, ${RESUME_POINT[unit]}:\n  ${command}`,
    audience,
  );
