/**
 * A git repository's landings are named by branch: `<web>/<owner>/<repo>/tree/<branch>`, the
 * branch being everything after `/tree/` (slashes included). Pure: parsing, building and
 * matching branch names against GITHUB_BRANCHES' globs. GitHub's owner and repository names
 * are case-insensitive, so both are lower-cased (one repository, one ledger, one document id
 * however a URL or a push message spells them); branch names are case-sensitive and kept.
 */

export interface GitRepository {
  /** GITHUB_WEB_URL, without its trailing slash. */
  readonly web: string;
  readonly owner: string;
  readonly repo: string;
  readonly branch: string;
}

/** An owner or repository name as GitHub allows it. */
const NAME = /^[A-Za-z0-9._-]+$/;

/** A branch name git accepts (git check-ref-format, the common subset), slashes allowed. */
const validBranch = (branch: string): boolean =>
  /^[A-Za-z0-9._/-]+$/.test(branch) &&
  !branch
    .split('/')
    .some((part) => part === '' || part.startsWith('.') || part.endsWith('.lock')) &&
  !branch.includes('..');

const withoutSlash = (url: string): string => url.replace(/\/+$/, '');

/**
 * `url` read as a git repository under `webUrl`, or a reason it is not one (for an error that
 * names what to write instead).
 */
export const parseGitRepository = (url: string, webUrl: string): GitRepository | string => {
  const web = withoutSlash(webUrl);
  const expected = `expected ${web}/<owner>/<repo>/tree/<branch>`;
  const trimmed = withoutSlash(url.trim());
  if (!trimmed.toLowerCase().startsWith(`${web.toLowerCase()}/`)) {
    return `${JSON.stringify(url)} is not under ${web}: ${expected}`;
  }
  const rest = trimmed.slice(web.length + 1);
  if (/[?#]/.test(rest)) return `${JSON.stringify(url)} has a query or fragment: ${expected}`;
  const [owner = '', repo = '', tree = '', ...branchParts] = rest.split('/');
  const branch = branchParts.join('/');
  if (!NAME.test(owner) || !NAME.test(repo) || tree !== 'tree' || branch === '') {
    return `${JSON.stringify(url)} does not name a branch: ${expected}`;
  }
  if (!validBranch(branch)) {
    return `${JSON.stringify(url)}: ${JSON.stringify(branch)} is not a branch name git accepts`;
  }
  return { web, owner: owner.toLowerCase(), repo: repo.toLowerCase(), branch };
};

/** The repository URL pings carry for a branch: `<web>/<owner>/<repo>/tree/<branch>`. */
export const gitRepositoryUrl = ({ web, owner, repo, branch }: GitRepository): string =>
  `${withoutSlash(web)}/${owner.toLowerCase()}/${repo.toLowerCase()}/tree/${branch}`;

const globToRegExp = (pattern: string): RegExp =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

/** Whether `branch` is a landing branch: equal to a pattern, or matching its `*` glob. */
export const branchMatches = (branch: string, patterns: readonly string[]): boolean =>
  patterns.some((pattern) => globToRegExp(pattern).test(branch));

/**
 * Whether `repository` is a branch whose commits are landings: a git repository URL under
 * `webUrl` whose branch matches one of `branches` (GITHUB_BRANCHES).
 */
export const followsBranch = (
  repository: string,
  { webUrl, branches }: { readonly webUrl: string; readonly branches: readonly string[] },
): boolean => {
  const parsed = parseGitRepository(repository, webUrl);
  return typeof parsed !== 'string' && branchMatches(parsed.branch, branches);
};
