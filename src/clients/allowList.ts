import { HostNotAllowed } from '../errors.js';

/**
 * Parses a URL that came from input (a command-line argument, a Pulse message) and accepts
 * it only over http(s) and only for a host in ALLOWED_HOSTS. An entry without a port
 * allows that host on its scheme's default port; `host:port` allows exactly that port.
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
  if (!allowed.includes(url.host)) throw new HostNotAllowed(raw, allowed, 'host');
  return url;
};
