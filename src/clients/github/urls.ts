import { PipelineError } from '../../errors.js';
import { maskUrlCredentials } from '../../redact.js';
import { parseGitRepository, type GitRepository } from '../../rules/gitRepository.js';
import { allowedUrl } from '../allowList.js';

/** A full commit sha: 40 lowercase hex characters (a person's upper case is lowered first). */
export const checkSha = (sha: string, repository: string): string => {
  const lower = sha.toLowerCase();
  if (!/^[0-9a-f]{40}$/.test(lower)) {
    throw new PipelineError(
      `commit ${JSON.stringify(sha)} of ${repository} is not a full 40-character hex sha`,
      'permanent',
    );
  }
  return lower;
};

/**
 * The repository a URL from input names, if it is a git repository under GITHUB_WEB_URL on an
 * allowed host; else a permanent error saying what to write.
 */
export const gitRepositoryOf = (
  repository: string,
  webUrl: string,
  allowedHosts: readonly string[],
): GitRepository => {
  const parsed = parseGitRepository(repository, webUrl);
  if (typeof parsed === 'string') {
    throw new PipelineError(`not a git repository URL: ${parsed}`, 'permanent');
  }
  allowedUrl(repository, allowedHosts);
  return parsed;
};

/** `<api>/repos/<owner>/<repo>/<path...>` with the query given; every segment encoded. */
export const apiUrl = (
  api: string,
  { owner, repo }: Pick<GitRepository, 'owner' | 'repo'>,
  path: readonly string[],
  query: Record<string, string> = {},
): string => {
  const url = new URL(api);
  const segments = ['repos', owner, repo, ...path].map(encodeURIComponent);
  url.pathname = [url.pathname.replace(/\/+$/, ''), ...segments].join('/');
  url.search = new URLSearchParams(query).toString();
  return url.href;
};

/**
 * The `rel="next"` URL of a `Link` header, if any. It is followed only on GITHUB_API_URL's
 * host (and scheme): an answer cannot send a request anywhere else.
 */
export const nextLink = (header: string | undefined, api: string): string | undefined => {
  if (header === undefined) return undefined;
  for (const part of header.split(',')) {
    const match = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (match === null || !/\brel="?([^"]*\s)?next(\s[^"]*)?"?/.test(match[2] ?? '')) continue;
    const base = new URL(api);
    let next: URL;
    try {
      next = new URL(match[1] ?? '', base);
    } catch {
      throw new PipelineError(`a Link header's next page is not a URL: ${header}`, 'permanent');
    }
    if (next.host !== base.host || next.protocol !== base.protocol) {
      throw new PipelineError(
        `refusing to follow ${maskUrlCredentials(next.href)}: a Link header named a next page off GITHUB_API_URL's host (${base.host})`,
        'permanent',
      );
    }
    return next.href;
  }
  return undefined;
};
