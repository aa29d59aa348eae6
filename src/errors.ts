/**
 * Every failure the pipeline reports has a kind: a *transient* one (network, timeout, 429,
 * 5xx) may succeed later and is retried; a *permanent* one (bad input, unknown changeset,
 * other 4xx, a refused host) will not, and is reported as it is.
 */
export type FailureKind = 'permanent' | 'transient';

export class PipelineError extends Error {
  override readonly name: string = 'PipelineError';
  constructor(
    message: string,
    readonly kind: FailureKind,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** hg.mozilla.org does not know the changeset (json-rev answered 404). */
export class NoSuchChangeset extends PipelineError {
  override readonly name = 'NoSuchChangeset';
  constructor(
    readonly node: string,
    readonly repository: string,
  ) {
    super(`changeset ${node} was not found in ${repository}`, 'permanent');
  }
}

/** Input may carry `user:password@`; an error message must not repeat it. */
const withoutCredentials = (url: string): string => url.replace(/\/\/[^/@\s]*@/, '//***@');

/** A URL from input whose host is not in ALLOWED_HOSTS; refused before any request. */
export class HostNotAllowed extends PipelineError {
  override readonly name = 'HostNotAllowed';
  constructor(
    readonly url: string,
    allowed: readonly string[],
  ) {
    super(
      `refusing to fetch ${withoutCredentials(url)}: its host is not in ALLOWED_HOSTS (${allowed.join(', ')})`,
      'permanent',
    );
  }
}

export const isTransient = (error: unknown): error is PipelineError =>
  error instanceof PipelineError && error.kind === 'transient';

export const describeError = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);
