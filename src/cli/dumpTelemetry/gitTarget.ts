import type { UpstreamSettings } from '../../codecs/settings.js';
import { DEFAULT_GITHUB_WEB_URL } from '../../codecs/settings.js';
import { PipelineError } from '../../errors.js';
import { gitRepositoryUrl, parseGitRepository } from '../../rules/gitRepository.js';

/**
 * A repository on GITHUB_WEB_URL's host must name a branch as `<web>/<owner>/<repo>/tree/<branch>`
 * (the ping's repository); any other host is hg's. Throws what to write instead. Returns the
 * repository as pings name it (a git one with its owner and name lower-cased), and whether it
 * is git's.
 */
export const gitRepositoryOrHg = (
  repository: string,
  settings: Pick<UpstreamSettings, 'GITHUB_WEB_URL'>,
): { repository: string; git: boolean } => {
  const web = settings.GITHUB_WEB_URL ?? DEFAULT_GITHUB_WEB_URL;
  if (new URL(repository).host !== new URL(web).host) return { repository, git: false };
  const parsed = parseGitRepository(repository, web);
  if (typeof parsed === 'string') throw new PipelineError(parsed, 'permanent');
  return { repository: gitRepositoryUrl(parsed), git: true };
};
