/** The options of a backfill that its resume command repeats. */
export interface ResumeOptions {
  readonly debug: boolean;
  readonly send: boolean;
  readonly yes: boolean;
  readonly pageSize: number;
}

/** The exact command line that carries on after `resumeAfter`, with the same options. */
export const resumeCommand = (
  name: string,
  options: ResumeOptions,
  repository: string,
  resumeAfter: number,
  end: number,
): string =>
  [
    name,
    ...(options.debug ? ['--debug'] : []),
    ...(options.send ? [] : ['--no-send']),
    ...(options.yes ? ['--yes'] : []),
    ...(options.pageSize !== 100 ? ['--page-size', String(options.pageSize)] : []),
    repository,
    String(resumeAfter),
    String(end),
  ].join(' ');
