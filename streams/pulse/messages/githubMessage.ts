import { allowedUrl } from '../../../src/clients/allowList.js';
import { decodeJsonWith } from '../../../src/codecs/decodeJson.js';
import { GitHubPushMessage, ZERO_SHA } from '../../../src/codecs/githubPush.js';
import { describeError } from '../../../src/errors.js';
import type { GitPushTarget } from '../../../src/pipeline/job.js';
import {
  branchMatches,
  gitRepositoryUrl,
  parseGitRepository,
} from '../../../src/rules/gitRepository.js';
import { MAX_MESSAGE_BYTES } from './message.js';

/** What a taskcluster-github push message asks of us, as message.ts says of an hgpush one. */
export type GitHubPushReading =
  | { readonly kind: 'push'; readonly target: GitPushTarget }
  | { readonly kind: 'skip'; readonly reason: string }
  | { readonly kind: 'reject'; readonly reason: string };

/** What reading a GitHub push needs besides the message. */
export interface GitHubPushReader {
  /** GITHUB_WEB_URL: the forge's web address; a repository elsewhere is not ours to read. */
  readonly webUrl: string;
  /** GITHUB_BRANCHES: the branches whose pushes are landings. */
  readonly branches: readonly string[];
  /** ALLOWED_HOSTS: a repository URL from the message must be on one of them. */
  readonly allowedHosts: readonly string[];
}

// A push webhook lists up to 20 commits with their messages: tens of KB, far below this.
const readMessage = decodeJsonWith(GitHubPushMessage, 'GitHub push message', {
  maxBytes: MAX_MESSAGE_BYTES,
  strictUtf8: true,
});

const HEADS = 'refs/heads/';

/**
 * `owner/repo` from the webhook's `repository.full_name`, else from the repository URL
 * taskcluster copies into `details` (which must be on GITHUB_WEB_URL's host). Throws, with
 * the field named, when neither names a repository of this forge.
 */
const ownerAndRepo = (message: GitHubPushMessage, reader: GitHubPushReader): string => {
  const fullName = message.body.repository?.full_name;
  if (fullName !== undefined) {
    if (/^[\w.-]+\/[\w.-]+$/.test(fullName)) return fullName;
    throw new Error(`body.repository.full_name: not owner/repository: ${fullName.slice(0, 80)}`);
  }
  const raw = message.details?.['event.head.repo.url'];
  if (raw === undefined) {
    throw new Error('the message names no repository (body.repository.full_name)');
  }
  const url = allowedUrl(raw, reader.allowedHosts);
  const web = new URL(reader.webUrl);
  const path = url.pathname.replace(/\.git$/, '').replace(/^\/+|\/+$/g, '');
  if (url.host !== web.host || !/^[\w.-]+\/[\w.-]+$/.test(path)) {
    throw new Error(`details.event.head.repo.url: not a repository on ${web.host}: ${raw}`);
  }
  return path;
};

/**
 * Reads a taskcluster-github push message body. A push to a branch of GITHUB_BRANCHES is the
 * commits between `before` and `after` (none for the push that creates the branch); a tag,
 * another branch, a branch deleted is skipped. A body that does not read (an `after` that is
 * not 40 hex, no repository, a repository on another forge) is parked with the reason.
 */
export const readGitHubPush = (
  body: Buffer | string,
  reader: GitHubPushReader,
): GitHubPushReading => {
  const decoded = readMessage(body);
  if (!decoded.ok) return { kind: 'reject', reason: decoded.error.message };
  const message = decoded.value;
  const { ref, before, after, created, deleted } = message.body;
  if (!ref.startsWith(HEADS)) return { kind: 'skip', reason: `not a branch: ${ref}` };
  const branch = ref.slice(HEADS.length);
  if (deleted === true || after === ZERO_SHA) {
    return { kind: 'skip', reason: `branch ${branch} deleted` };
  }
  if (!branchMatches(branch, reader.branches)) {
    return { kind: 'skip', reason: `branch ${branch} is not in GITHUB_BRANCHES` };
  }
  let repository: string;
  try {
    const [owner = '', repo = ''] = ownerAndRepo(message, reader).split('/');
    repository = gitRepositoryUrl({ web: reader.webUrl, owner, repo, branch });
    // The same rules as a repository URL given as an argument: a branch git would refuse is too.
    const parsed = parseGitRepository(repository, reader.webUrl);
    if (typeof parsed === 'string') throw new Error(parsed);
    allowedUrl(repository, reader.allowedHosts);
  } catch (error) {
    return { kind: 'reject', reason: describeError(error) };
  }
  if (created === true || before === ZERO_SHA) {
    // A new branch is taken to land nothing: Firefox makes its branches from commits that
    // landed on another one (a commit pushed first with the branch itself is not sent). It is
    // a push of no commits at its head, so that the branch's git watermark starts there, or
    // restarts there if a branch of that name had one (gitRecord.ts).
    return {
      kind: 'push',
      target: { kind: 'gitPush', repository, base: after, head: after, commits: [], created: true },
    };
  }
  return { kind: 'push', target: { kind: 'gitPush', repository, base: before, head: after } };
};
