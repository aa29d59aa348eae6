/**
 * The built `backfill-pushlog` through a Bugzilla outage of a few seconds: it stops taking
 * pushes, says which host it waits for, goes on once the host is back, and sends every ping
 * once with no failure.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configureLog } from '../../../src/log.js';
import { startCommand } from '../../support/cli.js';
import { startFixtures } from '../../support/standIns/fixtureServer.js';
import { Switch, type LogLine } from '../../support/outage.js';
import { syntheticFixtures } from '../../support/data/syntheticFixtures.js';
import { sleep, until } from '../../support/wait.js';

configureLog({ level: 'silent' });

const REPO_PATH = 'integration/autoland';
const PUSHES = 60;

test('a Bugzilla outage during a backfill is waited out: exit 0, every ping once', async (t) => {
  const data = syntheticFixtures({ pushes: PUSHES, changesetsPerPush: 3, repoPath: REPO_PATH });
  // Enough latency that the run is still going when Bugzilla goes away.
  const fx = await startFixtures({ data, latencyMs: 40 });
  const dir = mkdtempSync(join(tmpdir(), 'cts-backfill-outage-'));
  t.teardown(async () => {
    await fx.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const outage = new Switch('/rest/');
  outage.on = false;
  fx.fail({ match: outage, status: 503 });
  const run = startCommand('backfillPushlog', ['--yes', fx.repo(REPO_PATH), '0', String(PUSHES)], {
    ...fx.env,
    DATABASE_URL: `sqlite:${join(dir, 'store.sqlite')}`,
    BREAKER_FAILURES: '3',
    BREAKER_PROBE_SECONDS: '1',
  });
  run.child.stdin!.end();
  // Down from the first pings on, for a few seconds.
  await until('the first pings', () => fx.tmo.received.size > 0, 20_000);
  outage.on = true;
  await until('waiting', () => run.stderr().includes('"waitingFor"'), 20_000);
  const pingsWhenDown = fx.tmo.received.size;
  await sleep(3_000);
  outage.on = false;
  const done = await run.finished;
  const lines = done.stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
  t.is(done.code, 0, done.stderr);
  t.true(pingsWhenDown < PUSHES * 3, 'the outage came during the run');
  // Every ping once: as many PUTs as changesets, each to its own document.
  const puts = fx.tmo.requests.filter((r) => r.startsWith('PUT'));
  t.is(puts.length, PUSHES * 3);
  t.is(new Set(puts).size, PUSHES * 3);
  t.is(fx.tmo.received.size, PUSHES * 3);
  const bmo = fx.bmo.host;
  t.true(
    lines.some(
      (l) => l.level === 'warn' && l.msg === `${bmo} is down; waiting until it answers again`,
    ),
  );
  t.true(lines.some((l) => l.level === 'info' && l.msg === `${bmo} is back`));
  const waiting = lines.find((l) => l.msg === 'progress' && typeof l.waitingFor === 'string');
  t.regex(String(waiting?.waitingFor), new RegExp(`^${bmo.replace(/\./g, '\\.')} \\(down since `));
  const summary = lines.find((l) => l.msg === 'summary');
  t.like(summary, { failed: 0, pushes: PUSHES, changesets: PUSHES * 3 });
  t.like((summary?.waitedFor as unknown[])?.[0], { host: bmo, times: 1 });
  t.true(fx.bmo.requests.includes('GET /rest/version'), 'probed');
});
