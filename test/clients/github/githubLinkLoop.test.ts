/**
 * GitHub's paging by Link headers, against a loopback server. A next page that leads back to
 * the page itself (on the API's host, so it is followed): the compare and the diffstat fail,
 * transiently, after one page, where they paged for ever (found in review: the compare
 * yielded its one commit again and again, the diffstat never settled and held every later
 * caller of that commit with it). And the end of a listing is the end, whatever Link says.
 */
import test from 'ava';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GitHubClient } from '../../../src/clients/github.js';
import { HostLimits } from '../../../src/clients/hostLimits.js';
import { Http } from '../../../src/clients/http.js';
import { PipelineError } from '../../../src/errors.js';
import { configureLog } from '../../../src/log.js';

configureLog({ level: 'silent' });

const SHA_A = 'a'.repeat(40);
const SHA_B = 'b'.repeat(40);
const REPOSITORY = 'https://github.com/o/r/tree/main';
const person = { name: 'n', email: 'e@x', date: '2026-01-01T00:00:00Z' };
const commit = {
  sha: SHA_B,
  commit: { author: person, committer: person, message: 'Bug 1 - x' },
  parents: [{ sha: SHA_A }],
};

type Teardown = { teardown: (f: () => void) => void };

/** A GitHubClient whose API is `handler`, served on loopback until the test ends. */
const gitHubServing = async (t: Teardown, handler: RequestListener): Promise<GitHubClient> => {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const limits = new HostLimits(8);
  return new GitHubClient(new Http(limits, { backoffMs: 5 }), limits, {
    webUrl: 'https://github.com',
    apiUrl: api,
    allowedHosts: ['github.com'],
  });
};

/** Every answer names itself as its next page. */
const selfLinkingGitHub = async (t: Teardown) => {
  let requests = 0;
  const git = await gitHubServing(t, (request, response) => {
    requests += 1;
    const self = `http://${request.headers.host}${request.url}`;
    const body = request.url!.includes('/compare/')
      ? { total_commits: 2, commits: [commit] }
      : {
          ...commit,
          stats: { additions: 1, deletions: 0 },
          files: [{ filename: 'f', additions: 1, deletions: 0 }],
        };
    response.writeHead(200, { 'content-type': 'application/json', link: `<${self}>; rel="next"` });
    response.end(JSON.stringify(body));
  });
  return { git, requests: () => requests };
};

test('a compare whose next page is itself fails after its first page, transiently', async (t) => {
  const { git, requests } = await selfLinkingGitHub(t);
  const yielded: string[] = [];
  const error = await t.throwsAsync(async () => {
    for await (const c of git.compare(REPOSITORY, SHA_A, SHA_B)) yielded.push(c.node);
  });
  t.deepEqual(yielded, [SHA_B]);
  t.true(error instanceof PipelineError && error.kind === 'transient');
  t.regex(error!.message, /a page already read/);
  t.is(requests(), 1);
});

test('a diffstat whose next page is itself fails after its first page, and is asked again later', async (t) => {
  const { git, requests } = await selfLinkingGitHub(t);
  const error = await t.throwsAsync(git.diffstat(REPOSITORY, SHA_B));
  t.true(error instanceof PipelineError && error.kind === 'transient');
  t.is(requests(), 1);
  // Not kept: the next caller asks again (and fails again), it does not wait for ever.
  await t.throwsAsync(git.diffstat(REPOSITORY, SHA_B));
  t.is(requests(), 2);
});

test('a commit with more files than GitHub lists: its listing ends at the cap, whatever Link says', async (t) => {
  // 5,000 files; GitHub lists 3,000 of them, and here names a next page even past those.
  const git = await gitHubServing(t, (request, response) => {
    const url = new URL(request.url!, `http://${request.headers.host}`);
    const page = Number(url.searchParams.get('page') ?? '1');
    const files = Array.from({ length: 100 }, (_, i) => ({
      filename: `f${(page - 1) * 100 + i}`,
      additions: 1,
      deletions: 0,
    }));
    url.searchParams.set('page', String(page + 1));
    response.writeHead(200, {
      'content-type': 'application/json',
      ...(page < 50 ? { link: `<${url.href}>; rel="next"` } : {}),
    });
    const listed = (page - 1) * 100 < 3000 ? files : [];
    response.end(
      JSON.stringify({ ...commit, stats: { additions: 5000, deletions: 0 }, files: listed }),
    );
  });
  const diffstat = await git.diffstat(REPOSITORY, SHA_B);
  t.is(Number(diffstat.changedFiles), 3000);
  t.is(Number(diffstat.additions), 5000);
});
