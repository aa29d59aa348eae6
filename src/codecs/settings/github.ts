/**
 * The settings of git repositories on GitHub (or a GitHub Enterprise-style server): where its
 * web pages and its REST API are, the token sent to the API, which branches are landings, and
 * the Pulse exchange taskcluster-github announces pushes on.
 */
import * as t from 'io-ts';
import { MASK } from '../../redact.js';
import {
  HttpUrlFromString,
  NonEmptyString,
  fromString,
  orUnset,
  withDefault,
} from './fromString.js';

export const DEFAULT_GITHUB_PUSH_EXCHANGE = 'exchange/taskcluster-github/v1/push';
export const DEFAULT_GITHUB_WEB_URL = 'https://github.com';
export const DEFAULT_GITHUB_API_URL = 'https://api.github.com';
export const DEFAULT_GITHUB_BRANCHES = ['main', 'autoland', 'beta', 'release', 'esr*'];

/**
 * Branch names or `*` globs, comma-separated: `main,autoland,esr*`. A pattern holds what a git
 * branch name may (letters, digits, `.`, `_`, `-`, `/`) and `*`, which matches any run of them.
 */
export const BranchPatterns = fromString(
  'comma-separated branch names or globs with "*" (letters, digits, ".", "_", "-", "/")',
  (s) => {
    const patterns = s
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    const valid = patterns.every((p) => /^[A-Za-z0-9._/*-]+$/.test(p));
    return valid && patterns.length > 0 ? patterns : undefined;
  },
);

/**
 * A token for the GitHub API, sent as `Authorization: Bearer`. A refused value is never
 * repeated, not even in part: the whole of it is the secret.
 */
export const GitHubToken = new t.Type<string, string, unknown>(
  'a token without spaces',
  (u): u is string => typeof u === 'string',
  (input, context) =>
    typeof input === 'string' && /^[\x21-\x7e]+$/.test(input.trim())
      ? t.success(input.trim())
      : t.failure(MASK, context),
  String,
);

/** Part of UpstreamSettings: what the commands that read a git repository need. */
export const GitHubSettingProps = {
  /** The web address repository URLs are under: `<web>/<owner>/<repo>/tree/<branch>`. */
  GITHUB_WEB_URL: withDefault(HttpUrlFromString, DEFAULT_GITHUB_WEB_URL),
  /** The REST API; `https://host/api/v3` for GitHub Enterprise. Only its host is asked. */
  GITHUB_API_URL: withDefault(HttpUrlFromString, DEFAULT_GITHUB_API_URL),
  /** Optional; without it the API allows 60 requests an hour per address. Never logged. */
  GITHUB_TOKEN: orUnset(GitHubToken),
  /** The branches whose commits are landings. */
  GITHUB_BRANCHES: withDefault(BranchPatterns, DEFAULT_GITHUB_BRANCHES),
};

/** Part of PulseSettings: the exchange of GitHub pushes, bound only when a key is set. */
export const GitHubPulseSettingProps = {
  GITHUB_PUSH_EXCHANGE: withDefault(NonEmptyString, DEFAULT_GITHUB_PUSH_EXCHANGE),
  /** e.g. `primary.mozilla-firefox.firefox`; unset, no GitHub push is read from Pulse. */
  GITHUB_PUSH_ROUTING_KEY: orUnset(NonEmptyString),
};
