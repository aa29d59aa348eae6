import { allowedUrl } from '../../clients/allowList.js';
import {
  DEFAULT_GITHUB_BRANCHES,
  DEFAULT_GITHUB_WEB_URL,
  type UpstreamSettings,
} from '../../codecs/settings.js';
import { describeError } from '../../errors.js';
import { branchMatches, gitRepositoryUrl, parseGitRepository } from '../../rules/gitRepository.js';
import { EXIT, fail } from '../shared/program.js';

/**
 * REPO_URL must be a landing branch (GITHUB_BRANCHES) under GITHUB_WEB_URL on an allowed host;
 * anything else is a usage error that says what to write (an hg repository belongs to
 * backfill-pushlog). Returns it as pings name it (owner and repository lower-cased).
 */
export const checkGitRepository = (
  name: string,
  repository: string,
  settings: Pick<UpstreamSettings, 'ALLOWED_HOSTS' | 'GITHUB_WEB_URL' | 'GITHUB_BRANCHES'>,
): string => {
  const web = settings.GITHUB_WEB_URL ?? DEFAULT_GITHUB_WEB_URL;
  try {
    allowedUrl(repository, settings.ALLOWED_HOSTS);
    if (new URL(repository).host !== new URL(web).host) {
      throw new Error(
        `${repository} is not under GITHUB_WEB_URL (${web}): expected ${web}/<owner>/<repo>/tree/<branch>; for an hg repository use backfill-pushlog`,
      );
    }
    const parsed = parseGitRepository(repository, web);
    if (typeof parsed === 'string') throw new Error(parsed);
    const branches = settings.GITHUB_BRANCHES ?? DEFAULT_GITHUB_BRANCHES;
    if (!branchMatches(parsed.branch, branches)) {
      throw new Error(
        `branch ${parsed.branch} is not a landing branch (GITHUB_BRANCHES: ${branches.join(',')}); add it there to backfill it`,
      );
    }
    return gitRepositoryUrl(parsed);
  } catch (error) {
    return fail(name, `REPO_URL: ${describeError(error)}`, EXIT.usage);
  }
};
