import test from 'ava';
import { BareLimitBackoff, rateLimitUntil } from '../../../src/clients/github/rateLimit.js';
import { apiUrl, nextLink } from '../../../src/clients/github/urls.js';
import type { AnswerHead } from '../../../src/clients/http.js';

const head = (status: number, headers: Record<string, string> = {}): AnswerHead => ({
  status,
  header: (name) => headers[name.toLowerCase()],
});
const NOW = Date.parse('2026-12-06T12:00:00Z');
const bare = () => NOW + 60_000;

test('the primary limit waits until its reset, a second late', (t) => {
  const reset = String(NOW / 1000 + 120);
  for (const status of [403, 429]) {
    const until = rateLimitUntil(
      head(status, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset }),
      NOW,
      bare,
    );
    t.is(until, NOW + 121_000);
  }
});

test('a reset this second waits a second; one already past backs off as a bare limit; one far ahead at most an hour', (t) => {
  const headers = (reset: number) => ({
    'x-ratelimit-remaining': '0',
    'x-ratelimit-reset': String(reset),
  });
  t.is(rateLimitUntil(head(403, headers(NOW / 1000)), NOW, bare), NOW + 1000);
  // Our clock ahead of GitHub's: asking every second would go on as long as they disagree.
  t.is(rateLimitUntil(head(403, headers(NOW / 1000 - 50)), NOW, bare), NOW + 60_000);
  t.is(rateLimitUntil(head(403, headers(NOW / 1000 + 86_400)), NOW, bare), NOW + 3_600_000);
});

test('a secondary limit with retry-after waits that long; one naming no wait backs off', (t) => {
  t.is(rateLimitUntil(head(403, { 'retry-after': '30' }), NOW, bare), NOW + 30_000);
  t.is(rateLimitUntil(head(429, { 'retry-after': '5' }), NOW, bare), NOW + 5_000);
  // Read as "until now", these sent the request again at once, for ever (found in review).
  for (const status of [403, 429]) {
    for (const retryAfter of ['0', 'Wed, 21 Oct 2015 07:28:00 GMT']) {
      t.is(rateLimitUntil(head(status, { 'retry-after': retryAfter }), NOW, bare), NOW + 60_000);
    }
  }
});

test('a bare 429 backs off; a bare 403 is no limit by its headers; a 200 never', (t) => {
  t.is(rateLimitUntil(head(429), NOW, bare), NOW + 60_000);
  t.is(rateLimitUntil(head(403), NOW, bare), undefined);
  t.is(rateLimitUntil(head(403, { 'x-ratelimit-remaining': '12' }), NOW, bare), undefined);
  t.is(rateLimitUntil(head(200, { 'x-ratelimit-remaining': '0' }), NOW, bare), undefined);
});

test('bare limits in a row double the wait, from at least the minimum; an answer starts over', (t) => {
  const backoff = new BareLimitBackoff(60_000);
  t.is(backoff.next(0), 60_000);
  t.is(backoff.next(60_000), 180_000);
  t.is(backoff.next(180_000), 420_000);
  backoff.answered();
  t.is(backoff.next(420_000), 480_000);
});

test('bare limits answered during one wait count once: eight together wait a minute', (t) => {
  const backoff = new BareLimitBackoff(60_000);
  const waits = Array.from({ length: 8 }, (_, i) => backoff.next(i * 10));
  t.deepEqual(new Set(waits), new Set([60_000]));
  // One after that wait ended is the next in a row: twice as long.
  t.is(backoff.next(60_000), 180_000);
});

const API = 'https://api.github.com';

test('the next page is followed on the API host only', (t) => {
  const link = `<${API}/repositories/1/compare/a...b?per_page=100&page=2>; rel="next", <${API}/x?page=5>; rel="last"`;
  t.is(nextLink(link, API), `${API}/repositories/1/compare/a...b?per_page=100&page=2`);
  t.is(nextLink(`<${API}/x?page=5>; rel="last"`, API), undefined);
  t.is(nextLink(undefined, API), undefined);
  const error = t.throws(() => nextLink('<https://evil.example/x?page=2>; rel="next"', API));
  t.regex(error.message, /off GITHUB_API_URL's host \(api\.github\.com\)/);
});

test('API URLs keep an Enterprise path and encode a branch with slashes', (t) => {
  t.is(
    apiUrl('https://ghe.example/api/v3', { owner: 'o', repo: 'r' }, ['branches', 'release/x']),
    'https://ghe.example/api/v3/repos/o/r/branches/release%2Fx',
  );
  t.is(
    apiUrl(API, { owner: 'o', repo: 'r' }, ['compare', 'a...b'], { per_page: '100' }),
    `${API}/repos/o/r/compare/a...b?per_page=100`,
  );
});
