/**
 * `npm run demo`: replays the recorded Pulse stream in fixtures/ through the whole pipeline
 * against the fixture servers on loopback, offline, and prints the pings it would send; then
 * one recorded GitHub push (fixtures/pulse/github-push.ndjson) against the GitHub stand-in.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { from, lastValueFrom, of, tap, toArray, type ObservableInput } from 'rxjs';
import { readGitHubPush } from '../../streams/pulse/messages/githubMessage.js';
import { replayJobs } from '../../streams/pulse/messages/recording.js';
import { createClients } from '../../src/clients/index.js';
import { configureLog } from '../../src/log.js';
import { pipeline } from '../../src/pipeline/index.js';
import { dryRun } from '../../src/pipeline/ledger.js';
import { pushOf, type Job, type JobOutcome } from '../../src/pipeline/job.js';
import { stdoutSink } from '../../src/sinks/stdout.js';
import { FIXTURES_DIR } from './data/fixtureData.js';
import { startFixtures } from './standIns/fixtureServer.js';
import { GITHUB_WEB, recordedGitHub, startGitHub } from './standIns/githubStandIn.js';

const STREAM = join(FIXTURES_DIR, 'pulse', 'autoland.ndjson');
const GITHUB_STREAM = join(FIXTURES_DIR, 'pulse', 'github-push.ndjson');

/** The recorded autoland push, its range moved onto the commits the GitHub stand-in serves. */
const gitHubJob = async (): Promise<Job> => {
  const recorded = recordedGitHub();
  const [root] = [...recorded.commits.values()].sort((a, b) =>
    a.commit.committer.date.localeCompare(b.commit.committer.date),
  );
  const message = JSON.parse((await readFile(GITHUB_STREAM, 'utf8')).split('\n')[0]!) as {
    body: Record<string, unknown>;
  };
  Object.assign(message.body, { before: root!.sha, after: recorded.head('autoland') });
  const reading = readGitHubPush(JSON.stringify(message), {
    webUrl: GITHUB_WEB,
    branches: ['autoland', 'main'],
    allowedHosts: ['github.com'],
  });
  if (reading.kind !== 'push') throw new Error(`the recorded GitHub push: ${reading.reason}`);
  return { label: 'github push', target: reading.target, receivedAt: Date.now() };
};

const describe = (result: JobOutcome): string => {
  const summary = result.outcomes
    .map((o) =>
      o.status === 'sent'
        ? o.reviewSystem
        : o.status === 'skipped'
          ? `skipped (${o.reason})`
          : o.status === 'held'
            ? 'held by another process'
            : `failed: ${o.error.message}`,
    )
    .join(', ');
  const push = pushOf(result.job);
  return `${result.job.label}${push ? ` push ${push.pushId}` : ''}: ${summary}\n`;
};

configureLog({ level: process.argv.includes('--debug') ? 'debug' : 'warn' });
const [fx, gh] = await Promise.all([startFixtures(), startGitHub()]);
const dir = await mkdtemp(join(tmpdir(), 'commit-telemetry-demo-'));
try {
  // The recording names hg.mozilla.org; the fixture server stands in for it here.
  const recorded = await readFile(STREAM, 'utf8');
  const replayed = join(dir, 'stream.ndjson');
  await writeFile(replayed, recorded.replaceAll('https://hg.mozilla.org', fx.hg.url));

  const clients = createClients({
    BMO_API_URL: fx.env.BMO_API_URL!,
    ALLOWED_HOSTS: [fx.hg.host, 'github.com'],
    HTTP_CONCURRENCY: 8,
    DEBUG: false,
    ...gh.env,
  });
  const run = (jobs: ObservableInput<Job>) =>
    lastValueFrom(
      pipeline({ ...clients, git: clients.github, sink: stdoutSink(), ...dryRun })(from(jobs)).pipe(
        tap((result) => process.stderr.write(describe(result))),
        toArray(),
      ),
    );
  process.stderr.write(
    `Replaying ${STREAM} against fixture servers at ${fx.hg.url} (hg), ${fx.bmo.url} (Bugzilla)\n`,
  );
  const results = await run(replayJobs(replayed, [fx.hg.host]));
  process.stderr.write(
    `Replaying one push of ${GITHUB_STREAM} against the GitHub stand-in at ${gh.apiUrl}\n`,
  );
  results.push(...(await run(of(await gitHubJob()))));
  const pings = results.flatMap((r) => r.outcomes).filter((o) => o.status === 'sent').length;
  process.stderr.write(
    `${results.length} pushes, ${pings} pings printed on stdout; nothing was sent.\n`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
  await Promise.all([fx.close(), gh.close()]);
}
