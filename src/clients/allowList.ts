import { DEFAULT_GITHUB_WEB_URL } from '../codecs/settings/github.js';
import { HostNotAllowed } from '../errors.js';

/**
 * Parses a repository URL that came from input (a command-line argument, a Pulse message)
 * and accepts it only over http(s), only for a host in ALLOWED_HOSTS, and without a query
 * string or fragment. An entry without a port allows that host on its scheme's default
 * port; `host:port` allows exactly that port (ALLOWED_HOSTS refuses a default port: HostList).
 */
export const allowedUrl = (raw: string, allowed: readonly string[]): URL => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new HostNotAllowed(raw, allowed, 'not a url');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HostNotAllowed(raw, allowed, 'scheme');
  }
  if (url.username !== '' || url.password !== '') {
    throw new HostNotAllowed(raw, allowed, 'credentials');
  }
  // A repository's URL is its key in the ledger: with `?x` it would be another repository,
  // and every landing of it would be sent again.
  if (/[?#]/.test(raw)) throw new HostNotAllowed(raw, allowed, 'query');
  if (!allowed.includes(url.host)) throw new HostNotAllowed(raw, allowed, 'host');
  return url;
};

/**
 * The hosts an hg URL may be on: ALLOWED_HOSTS less GitHub's web host (GITHUB_WEB_URL). A git
 * repository is read through GITHUB_API_URL only; fetched as hg (json-pushes, json-rev), its
 * URL would ask GitHub's web pages for paths that are not there.
 */
export const hgHosts = (
  allowed: readonly string[],
  githubWebUrl: string = DEFAULT_GITHUB_WEB_URL,
): string[] => {
  const github = new URL(githubWebUrl).host;
  return allowed.filter((host) => host !== github);
};

/** allowedUrl for an hg repository: on GitHub's web host it is refused, saying why. */
export const allowedHgUrl = (
  raw: string,
  allowed: readonly string[],
  githubWebUrl: string = DEFAULT_GITHUB_WEB_URL,
): URL => {
  const url = allowedUrl(raw, allowed);
  if (url.host === new URL(githubWebUrl).host) throw new HostNotAllowed(raw, allowed, 'git');
  return url;
};
