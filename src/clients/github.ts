import type { GitCommit } from '../codecs/github.js';
import type { Diffstat } from '../codecs/ping.js';
import type { Http } from './http.js';

export interface GitHubClientOptions {
  /** GITHUB_WEB_URL: repository URLs are `<web>/<owner>/<repo>/tree/<branch>`. */
  readonly webUrl: string;
  /** GITHUB_API_URL: every request goes to its host, `Link` URLs included. */
  readonly apiUrl: string;
  /** GITHUB_TOKEN, sent as a bearer token; never logged. */
  readonly token?: string | undefined;
  /** Hosts URLs from input may name (ALLOWED_HOSTS): the web URL's host must be one. */
  readonly allowedHosts: readonly string[];
  /** Told when the API asks us to wait (a rate limit), with when it may be asked again. */
  readonly onRateLimit?: (until: number) => void;
}

/** A branch's head, with the ETag that asks next time whether it moved. */
export interface BranchHead {
  readonly sha: string;
  readonly etag: string | undefined;
}

/** The GitHub REST API: compares, commits and branch heads of git repositories (branches). */
export class GitHubClient {
  constructor(
    private readonly http: Http,
    readonly options: GitHubClientOptions,
  ) {}

  /** The commits reachable from `head` and not from `base`, oldest first, every page. */
  async *compare(repository: string, base: string, head: string): AsyncIterable<GitCommit> {
    yield* [];
    throw new Error(`not yet: ${repository} ${base} ${head} ${String(this.http)}`);
  }

  /** One commit, as the pipeline reads a changeset. */
  async changeset(repository: string, sha: string): Promise<GitCommit> {
    throw new Error(`not yet: ${repository} ${sha}`);
  }

  /** The commit's diffstat (`git diff --numstat` summed), its files counted over every page. */
  async diffstat(repository: string, sha: string): Promise<Diffstat> {
    throw new Error(`not yet: ${repository} ${sha}`);
  }

  /** The branch's head commit; `'unchanged'` when `etag` still matches (a 304). */
  async branchHead(repository: string, etag?: string): Promise<BranchHead | 'unchanged'> {
    throw new Error(`not yet: ${repository} ${etag}`);
  }

  /** Whether `repository` is a git repository URL (its host is GITHUB_WEB_URL's). */
  owns(repository: string): boolean {
    try {
      return new URL(repository).host === new URL(this.options.webUrl).host;
    } catch {
      return false;
    }
  }
}
