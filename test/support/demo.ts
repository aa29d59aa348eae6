/**
 * `npm run demo`: replays the recorded Pulse stream in fixtures/ through the whole pipeline
 * against the fixture servers on loopback, offline, and prints the pings it would send.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, tap, toArray } from 'rxjs';
import { replayJobs } from '../../streams/pulse/messages/recording.js';
import { createClients } from '../../src/clients/index.js';
import { configureLog } from '../../src/log.js';
import { pipeline } from '../../src/pipeline/index.js';
import { dryRun } from '../../src/pipeline/ledger.js';
import { pushOf } from '../../src/pipeline/job.js';
import { stdoutSink } from '../../src/sinks/stdout.js';
import { FIXTURES_DIR } from './fixtureData.js';
import { startFixtures } from './fixtureServer.js';

const STREAM = join(FIXTURES_DIR, 'pulse', 'autoland.ndjson');

configureLog({ level: process.argv.includes('--debug') ? 'debug' : 'warn' });
const fx = await startFixtures();
const dir = await mkdtemp(join(tmpdir(), 'commit-telemetry-demo-'));
try {
  // The recording names hg.mozilla.org; the fixture server stands in for it here.
  const recorded = await readFile(STREAM, 'utf8');
  const replayed = join(dir, 'stream.ndjson');
  await writeFile(replayed, recorded.replaceAll('https://hg.mozilla.org', fx.hg.url));

  const clients = createClients({
    BMO_API_URL: fx.env.BMO_API_URL!,
    ALLOWED_HOSTS: [fx.hg.host],
    HTTP_CONCURRENCY: 8,
    DEBUG: false,
  });
  process.stderr.write(
    `Replaying ${STREAM} against fixture servers at ${fx.hg.url} (hg), ${fx.bmo.url} (Bugzilla)\n`,
  );
  const results = await lastValueFrom(
    pipeline({ ...clients, sink: stdoutSink(), ...dryRun })(
      replayJobs(replayed, [fx.hg.host]),
    ).pipe(
      tap((result) => {
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
        process.stderr.write(
          `${result.job.label}${push ? ` push ${push.pushId}` : ''}: ${summary}\n`,
        );
      }),
      toArray(),
    ),
  );
  const pings = results.flatMap((r) => r.outcomes).filter((o) => o.status === 'sent').length;
  process.stderr.write(
    `${results.length} pushes, ${pings} pings printed on stdout; nothing was sent.\n`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
  await fx.close();
}
