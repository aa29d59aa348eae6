/**
 * A GitHub REST API stand-in on loopback, serving the recorded repository under
 * fixtures/github/<owner>/<repo>/ (commits/<sha>.json as `GET commits/{sha}` answers them,
 * branches/<name>.json as `GET branches/{name}` does) at `<url>/api/v3`, the way a GitHub
 * Enterprise server does:
 *
 *   compare/{base}...{head}  the commits reachable from head and not from base, oldest first;
 *                            with per_page or page, paged (at most 100, or `maxPerPage`) with
 *                            a Link header; without, the first 250 and no Link, as GitHub does
 *   commits/{sha}            its files paged the same way (per_page, at most 300), and no
 *                            more than 3000 of them over all pages
 *   branches/{name}          with an ETag; If-None-Match with it answers 304
 *
 * An unknown sha answers 404 (compare) or 422 (commits), as GitHub does. `rateLimit()` opens
 * a window in which every request is refused as GitHub refuses one over a limit.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FIXTURES_DIR } from '../data/fixtureData.js';

export const GITHUB_WEB = 'https://github.com';
export const FIREFOX = 'mozilla-firefox/firefox';

interface RecordedCommit {
  readonly sha: string;
  readonly commit: { readonly committer: { readonly date: string } };
  readonly parents: readonly { readonly sha: string }[];
  readonly files: readonly unknown[];
  readonly [key: string]: unknown;
}

/**
 * `primary`: 403, `x-ratelimit-remaining: 0` and the reset second; `secondary`: 403 with
 * `retry-after`; `bare`: 403 whose body names a secondary limit, without either header.
 */
export type RateLimitKind = 'primary' | 'secondary' | 'bare';

export interface GitHubStandIn {
  readonly url: string;
  readonly apiUrl: string;
  readonly host: string;
  /** Every request, as `METHOD path?query`. */
  readonly requests: string[];
  /** Each request's Authorization, Accept and User-Agent headers, in order. */
  readonly headers: { authorization?: string; accept?: string; userAgent?: string }[];
  /** How many requests a rate-limit window refused. */
  limited: number;
  /** The repository URL of a branch of the recorded repository, as pings name it. */
  repository(branch: string): string;
  /** The settings a command needs (ALLOWED_HOSTS: add it to the others'). */
  readonly env: { readonly GITHUB_API_URL: string; readonly GITHUB_WEB_URL: string };
  /**
   * Every request for the next `ms` is refused as over a rate limit of this kind; with
   * `from`, the window opens at the first request whose `METHOD path?query` matches it.
   */
  rateLimit(kind: RateLimitKind, ms: number, from?: RegExp): void;
  /** Every request matching `which` is refused as a token without the permission is. */
  forbid(which: RegExp): void;
  /** Points a branch at another recorded commit (a push). */
  moveBranch(branch: string, sha: string): void;
  close(): Promise<void>;
}

const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));

const loadCommits = (dir: string): Map<string, RecordedCommit> => {
  const folder = join(dir, 'commits');
  const commits = new Map<string, RecordedCommit>();
  for (const file of readdirSync(folder)) {
    const commit = readJson(join(folder, file)) as RecordedCommit;
    commits.set(commit.sha, commit);
  }
  return commits;
};

const reachable = (commits: Map<string, RecordedCommit>, from: string): Set<string> => {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length > 0) {
    const sha = stack.pop()!;
    if (seen.has(sha)) continue;
    seen.add(sha);
    for (const parent of commits.get(sha)?.parents ?? []) stack.push(parent.sha);
  }
  return seen;
};

/** A compare answer's entry: a commit without its stats and files. */
const listed = ({ stats: _stats, files: _files, ...rest }: RecordedCommit): unknown => rest;

interface Page<T> {
  readonly items: readonly T[];
  readonly link: string | undefined;
}

/** One page of `all` as `?per_page&page` ask, with GitHub's Link header. */
const paged = <T>(all: readonly T[], url: URL, perPage: number): Page<T> => {
  const page = Math.max(Number(url.searchParams.get('page') ?? '1'), 1);
  const last = Math.max(Math.ceil(all.length / perPage), 1);
  const at = (n: number) => {
    const next = new URL(url);
    next.searchParams.set('per_page', String(perPage));
    next.searchParams.set('page', String(n));
    return next.href;
  };
  const rels = [
    ...(page < last ? [`<${at(page + 1)}>; rel="next"`, `<${at(last)}>; rel="last"`] : []),
    ...(page > 1 ? [`<${at(1)}>; rel="first"`, `<${at(page - 1)}>; rel="prev"`] : []),
  ];
  return {
    items: all.slice((page - 1) * perPage, page * perPage),
    link: rels.length > 0 ? rels.join(', ') : undefined,
  };
};

const perPageOf = (url: URL, fallback: number, max: number): number =>
  Math.min(Math.max(Number(url.searchParams.get('per_page') ?? fallback) || fallback, 1), max);

interface Options {
  readonly repo?: string;
  /** The most items a page holds whatever per_page asks (to page a small history). */
  readonly maxPerPage?: number;
  /** Added before every answer, to stand in for the network. */
  readonly latencyMs?: number;
  /** Compare answers count this many commits more than they list (as past GitHub's cap). */
  readonly unlistedCommits?: number;
  /**
   * Every commit changes this many files more than recorded (named `extra/<n>`, no lines),
   * of which commits/{sha} lists at most GITHUB_LISTED_FILES, as GitHub does.
   */
  readonly extraFiles?: number;
}

/**
 * The most files GitHub lists of one commit, over all pages: GitHub's behaviour, which the
 * stand-in plays; the client's GITHUB_FILES_CAP is what it expects of GitHub.
 */
export const GITHUB_LISTED_FILES = 3000;

const extraFile = (n: number) => ({
  filename: `extra/${n}`,
  status: 'modified',
  additions: 0,
  deletions: 0,
  changes: 0,
});

/** Starts the stand-in on a loopback port of its own. */
export const startGitHub = async (options: Options = {}): Promise<GitHubStandIn> => {
  const repoName = options.repo ?? FIREFOX;
  const dir = join(FIXTURES_DIR, 'github', repoName);
  const commits = loadCommits(dir);
  const heads = new Map<string, string>();
  for (const file of readdirSync(join(dir, 'branches'))) {
    const branch = readJson(join(dir, 'branches', file)) as {
      name: string;
      commit: { sha: string };
    };
    heads.set(branch.name, branch.commit.sha);
  }
  const maxPerPage = options.maxPerPage ?? 100;
  let window: { kind: RateLimitKind; until: number } | undefined;
  let armed: { kind: RateLimitKind; ms: number; from: RegExp } | undefined;
  let forbidden: RegExp | undefined;
  const base = `/api/v3/repos/${repoName}/`;

  const answer = (
    url: URL,
    request: IncomingMessage,
  ): [number, unknown, Record<string, string>] => {
    const path = decodeURIComponent(url.pathname);
    if (path === '/' || path === '/api/v3') return [200, {}, {}];
    if (!path.startsWith(base)) return [404, { message: 'Not Found' }, {}];
    const rest = path.slice(base.length);
    const compare = /^compare\/([0-9a-f]{40})\.\.\.([0-9a-f]{40})$/.exec(rest);
    if (compare !== null) {
      const [from = '', to = ''] = compare.slice(1);
      if (!commits.has(from) || !commits.has(to)) return [404, { message: 'Not Found' }, {}];
      const old = reachable(commits, from);
      const all = [...reachable(commits, to)]
        .filter((sha) => !old.has(sha))
        .map((sha) => commits.get(sha)!)
        .sort((a, b) => a.commit.committer.date.localeCompare(b.commit.committer.date));
      const asked = url.searchParams.has('per_page') || url.searchParams.has('page');
      const page = asked
        ? paged(all, url, perPageOf(url, 30, Math.min(maxPerPage, 100)))
        : undefined;
      const items = page?.items ?? all.slice(0, 250);
      const body = {
        url: url.href,
        status: 'ahead',
        ahead_by: all.length,
        behind_by: 0,
        total_commits: all.length + (options.unlistedCommits ?? 0),
        base_commit: listed(commits.get(from)!),
        merge_base_commit: listed(commits.get(from)!),
        commits: items.map(listed),
        files: [],
      };
      return [200, body, page?.link === undefined ? {} : { link: page.link }];
    }
    const commit = /^commits\/([0-9a-f]{40})$/.exec(rest);
    if (commit !== null) {
      const found = commits.get(commit[1]!);
      if (found === undefined) {
        return [422, { message: `No commit found for SHA: ${commit[1]}`, status: '422' }, {}];
      }
      const files = [
        ...found.files,
        ...Array.from({ length: options.extraFiles ?? 0 }, (_, n) => extraFile(n)),
      ].slice(0, GITHUB_LISTED_FILES);
      const page = paged(files, url, perPageOf(url, 300, Math.min(maxPerPage, 300)));
      return [
        200,
        { ...found, files: page.items },
        page.link === undefined ? {} : { link: page.link },
      ];
    }
    const branch = /^branches\/(.+)$/.exec(rest);
    const head = branch === null ? undefined : heads.get(branch[1]!);
    if (branch !== null && head !== undefined) {
      const etag = `W/"${head}"`;
      if (request.headers['if-none-match'] === etag) return [304, undefined, { etag }];
      const body = { name: branch[1], commit: listed(commits.get(head)!), protected: true };
      return [200, body, { etag }];
    }
    return [404, { message: 'Not Found' }, {}];
  };

  const refusal = (line: string): [number, unknown, Record<string, string>] | undefined => {
    if (forbidden?.test(line) === true) {
      return [403, { message: 'Resource not accessible by personal access token' }, {}];
    }
    if (window === undefined || Date.now() >= window.until) return undefined;
    standIn.limited += 1;
    const seconds = Math.ceil((window.until - Date.now()) / 1000);
    const secondary = { message: 'You have exceeded a secondary rate limit. Please wait.' };
    if (window.kind === 'primary') {
      const headers = {
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(Math.ceil(window.until / 1000)),
      };
      return [403, { message: 'API rate limit exceeded for user ID 1.' }, headers];
    }
    if (window.kind === 'secondary') return [403, secondary, { 'retry-after': String(seconds) }];
    return [403, secondary, {}];
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const line = `${request.method} ${request.url}`;
    standIn.requests.push(line);
    if (armed?.from.test(line) === true) {
      window = { kind: armed.kind, until: Date.now() + armed.ms };
      armed = undefined;
    }
    standIn.headers.push({
      authorization: request.headers.authorization,
      accept: request.headers.accept,
      userAgent: request.headers['user-agent'],
    });
    void (async () => {
      if (options.latencyMs !== undefined) await sleep(options.latencyMs);
      respond(request, response);
    })();
  });
  const respond = (request: IncomingMessage, response: ServerResponse): void => {
    const url = new URL(request.url ?? '/', standIn.url);
    const [status, body, headers] =
      refusal(`${request.method} ${request.url}`) ?? answer(url, request);
    response.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      ...headers,
    });
    response.end(body === undefined ? undefined : JSON.stringify(body));
  };
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const standIn: GitHubStandIn = {
    url,
    apiUrl: `${url}/api/v3`,
    host: `127.0.0.1:${port}`,
    requests: [],
    headers: [],
    limited: 0,
    repository: (branch) => `${GITHUB_WEB}/${repoName}/tree/${branch}`,
    env: { GITHUB_API_URL: `${url}/api/v3`, GITHUB_WEB_URL: GITHUB_WEB },
    rateLimit: (kind, ms, from) => {
      if (from === undefined) window = { kind, until: Date.now() + ms };
      else armed = { kind, ms, from };
    },
    forbid: (which) => {
      forbidden = which;
    },
    moveBranch: (branch, sha) => {
      if (!commits.has(sha)) throw new Error(`no recorded commit ${sha}`);
      heads.set(branch, sha);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return standIn;
};

/** The recorded branch heads and commits, for tests that name them. */
export const recordedGitHub = (repo: string = FIREFOX) => {
  const dir = join(FIXTURES_DIR, 'github', repo);
  const head = (branch: string): string => {
    const path = join(dir, 'branches', `${branch}.json`);
    if (!existsSync(path)) throw new Error(`no recorded branch ${branch}`);
    return (readJson(path) as { commit: { sha: string } }).commit.sha;
  };
  return { head, commits: loadCommits(dir) };
};

/** For `npm run stand-in`: the settings that point the commands at `gh`, and example lines. */
export const gitHubExamples = (gh: GitHubStandIn): { env: [string, string][]; lines: string[] } => {
  const { head } = recordedGitHub();
  const root = [...recordedGitHub().commits.values()].find((c) => c.parents.length === 0)!.sha;
  return {
    env: [['GITHUB_API_URL', gh.apiUrl]],
    lines: [
      `# git (GitHub stand-in at ${gh.apiUrl}; repository URLs stay https://github.com/...):`,
      `#   npx dump-telemetry --target-repo ${gh.repository('autoland')} ${head('autoland')}`,
      `#   npx backfill-git --yes ${gh.repository('autoland')} ${root} ${head('autoland')}`,
    ],
  };
};
