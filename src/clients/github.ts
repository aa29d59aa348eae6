import { GitHubBranch, GitHubCommitDetail, GitHubCompare, toGitCommit } from '../codecs/github.js';
import type { GitCommit } from '../codecs/github.js';
import { decodeJsonWith } from '../codecs/decodeJson.js';
import type { Diffstat } from '../codecs/ping.js';
import { NonNegativeInt } from '../codecs/scalars.js';
import { NoSuchChangeset, PipelineError } from '../errors.js';
import { log } from '../log.js';
import { GitHubApi, type GitHubApiOptions } from './github/api.js';
import { PageTrail } from './github/pageTrail.js';
import { apiUrl, checkSha, gitRepositoryOf } from './github/urls.js';
import type { HostLimits } from './hostLimits.js';
import type { Http } from './http.js';

export interface GitHubClientOptions extends GitHubApiOptions {
  /** GITHUB_WEB_URL: repository URLs are `<web>/<owner>/<repo>/tree/<branch>`. */
  readonly webUrl: string;
  /** Hosts URLs from input may name (ALLOWED_HOSTS): the web URL's host must be one. */
  readonly allowedHosts: readonly string[];
}

/** A branch's head, with the ETag that asks next time whether it moved. */
export interface BranchHead {
  readonly sha: string;
  readonly etag: string | undefined;
}

/** Past this many files GitHub lists no more of a commit's (its documented cap). */
export const GITHUB_FILES_CAP = 3000;
const PER_PAGE = '100';
/** Diffstats kept: more than a day of landings, so main finds those autoland asked for. */
const DIFFSTAT_CACHE = 2000;

const decodeCompare = decodeJsonWith(GitHubCompare, 'GitHub compare answer');
const decodeCommit = decodeJsonWith(GitHubCommitDetail, 'GitHub commit answer');
const decodeBranch = decodeJsonWith(GitHubBranch, 'GitHub branch answer');

/**
 * GitHub's compares, commits and branch heads of git repositories (branches), through the
 * GitHubApi (rate limits waited out). Only for a repository URL under GITHUB_WEB_URL on an
 * allowed host; every request goes to GITHUB_API_URL's host.
 */
export class GitHubClient {
  private readonly api: GitHubApi;
  /** Its rate-limit waits: told as each starts (a progress line, a metric), ended by a stop. */
  readonly rateLimits: Pick<GitHubApi, 'onRateLimit' | 'stopWaiting'>;
  /** Diffstats by commit URL (the repository's, not the branch's), oldest dropped first. */
  private readonly diffstats = new Map<string, Promise<Diffstat>>();

  constructor(
    http: Http,
    limits: HostLimits,
    readonly options: GitHubClientOptions,
  ) {
    this.api = new GitHubApi(http, limits, options);
    this.rateLimits = this.api;
  }

  /** The commits reachable from `head` and not from `base`, oldest first, every page. */
  async *compare(repository: string, base: string, head: string): AsyncIterable<GitCommit> {
    const repo = gitRepositoryOf(repository, this.options.webUrl, this.options.allowedHosts);
    const range = `${checkSha(base, repository)}...${checkSha(head, repository)}`;
    const trail = new PageTrail(`GitHub compare of ${repository} from ${base} to ${head}`);
    const first = apiUrl(this.options.apiUrl, repo, ['compare', range], { per_page: PER_PAGE });
    let url = trail.follow(first);
    let listed = 0;
    let total = 0;
    while (url !== undefined) {
      const page: { compare: GitHubCompare; next: string | undefined } = await this.api.get(
        url,
        async (answer) => {
          if (answer.status === 404) throw new NoSuchChangeset(range, repository);
          return { compare: await this.api.ok(answer, decodeCompare), next: this.api.next(answer) };
        },
      );
      total = page.compare.total_commits;
      listed += page.compare.commits.length;
      for (const commit of page.compare.commits) yield toGitCommit(commit);
      url = listed >= total ? undefined : trail.follow(page.next, page.compare.commits.length > 0);
    }
    // Transient, not settled: a push marked done would move the watermark past unpinged commits.
    if (listed < total) {
      const why = `GitHub compare of ${repository} from ${base} to ${head} listed ${listed} commits but counted ${total}`;
      throw new PipelineError(`${why}; the push is retried later`, 'transient');
    }
  }

  /** How many commits compare lists (one request of one commit). */
  async compareCount(repository: string, base: string, head: string): Promise<number> {
    const repo = gitRepositoryOf(repository, this.options.webUrl, this.options.allowedHosts);
    const range = `${checkSha(base, repository)}...${checkSha(head, repository)}`;
    const url = apiUrl(this.options.apiUrl, repo, ['compare', range], { per_page: '1' });
    return this.api.get(url, async (answer) => {
      if (answer.status === 404) throw new NoSuchChangeset(range, repository);
      return (await this.api.ok(answer, decodeCompare)).total_commits;
    });
  }

  /** One commit, as the pipeline reads a changeset (its first page: the files are not read). */
  async changeset(repository: string, sha: string): Promise<GitCommit> {
    const url = this.commitUrl(repository, sha);
    return this.api.get(url, async (answer) =>
      toGitCommit(
        await this.api.ok(answer, decodeCommit, () => new NoSuchChangeset(sha, repository)),
      ),
    );
  }

  /**
   * The commit's diffstat, as `git diff --numstat` summed: its stats' additions and deletions,
   * and its files counted over every page. GitHub lists at most GITHUB_FILES_CAP files; a
   * commit with more counts those and says so in the log.
   */
  async diffstat(repository: string, sha: string): Promise<Diffstat> {
    const url = this.commitUrl(repository, sha);
    // A commit is the same on every branch it lands on (autoland, then main): asked once,
    // even by two branches at the same time; a failure is forgotten, to be asked again.
    const known = this.diffstats.get(url);
    if (known !== undefined) return known;
    const counting = this.countDiffstat(repository, sha, url);
    if (this.diffstats.size >= DIFFSTAT_CACHE) {
      this.diffstats.delete(this.diffstats.keys().next().value!);
    }
    this.diffstats.set(url, counting);
    counting.catch(() => this.diffstats.delete(url));
    return counting;
  }

  private async countDiffstat(repository: string, sha: string, first: string): Promise<Diffstat> {
    const trail = new PageTrail(`the files of ${sha} in ${repository}`);
    const noSuchCommit = () => new NoSuchChangeset(sha, repository);
    let url = trail.follow(first);
    let changedFiles = 0;
    let stats: Pick<Diffstat, 'additions' | 'deletions'> | undefined;
    while (url !== undefined) {
      const page: { commit: GitHubCommitDetail; next: string | undefined } = await this.api.get(
        url,
        async (answer) => ({
          commit: await this.api.ok(answer, decodeCommit, noSuchCommit),
          next: this.api.next(answer),
        }),
      );
      const { files } = page.commit;
      changedFiles += files.length;
      stats = page.commit.stats;
      // GitHub lists no file past its cap: a next page, if one is named, has none.
      url =
        changedFiles >= GITHUB_FILES_CAP ? undefined : trail.follow(page.next, files.length > 0);
    }
    if (changedFiles >= GITHUB_FILES_CAP) {
      log.warn('GitHub lists no more than 3000 files of a commit: changedFiles counts those', {
        repository,
        sha,
        changedFiles,
      });
    }
    if (stats === undefined || !NonNegativeInt.is(changedFiles)) {
      throw new PipelineError(`no diffstat of ${sha} in ${repository}`, 'transient');
    }
    return { changedFiles, additions: stats.additions, deletions: stats.deletions };
  }

  /** The branch's head commit; `'unchanged'` when `etag` still matches (a 304, free of quota). */
  async branchHead(repository: string, etag?: string): Promise<BranchHead | 'unchanged'> {
    const repo = gitRepositoryOf(repository, this.options.webUrl, this.options.allowedHosts);
    const url = apiUrl(this.options.apiUrl, repo, ['branches', repo.branch]);
    const conditional: Record<string, string> = etag === undefined ? {} : { 'if-none-match': etag };
    return this.api.get(
      url,
      async (answer) => {
        if (answer.status === 304) return 'unchanged';
        if (answer.status === 404) {
          throw new PipelineError(
            `branch ${repo.branch} was not found: ${repository}`,
            'permanent',
          );
        }
        const branch = await this.api.ok(answer, decodeBranch);
        return { sha: branch.commit.sha, etag: answer.header('etag') };
      },
      conditional,
    );
  }

  /** Whether `repository` is a git repository URL (its host is GITHUB_WEB_URL's). */
  owns(repository: string): boolean {
    const web = new URL(this.options.webUrl).host; // a checked setting
    return URL.canParse(repository) && new URL(repository).host === web;
  }

  private commitUrl(repository: string, sha: string): string {
    const repo = gitRepositoryOf(repository, this.options.webUrl, this.options.allowedHosts);
    const commit = checkSha(sha, repository);
    return apiUrl(this.options.apiUrl, repo, ['commits', commit], { per_page: PER_PAGE });
  }
}
