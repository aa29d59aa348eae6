import test from 'ava';
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  countPushesAfterWatermarks,
  statusDocument,
  type StatusDocument,
  type StatusReport,
} from '../../../src/cli/telemetryStatus/statusReport.js';
import {
  NO_PULSE_SETTINGS,
  type ParkedQueueCount,
} from '../../../src/cli/telemetryStatus/parkedQueueCount.js';
import { ago, columns } from '../../../src/cli/shared/columns.js';
import { EMPTY_STORE, statusTable } from '../../../src/cli/telemetryStatus/statusTable.js';
import type { HgClient } from '../../../src/clients/hgmo.js';
import { PushlogPage } from '../../../src/codecs/pushlog.js';
import { HostNotAllowed } from '../../../src/errors.js';
import { openStore, type RepositoryStatus } from '../../../src/state/index.js';
import { runCommand } from '../../support/cli.js';
import { decoded } from '../../support/data/decoded.js';
import { startFixtures } from '../../support/standIns/fixtureServer.js';
import { syntheticFixtures } from '../../support/data/syntheticFixtures.js';
import { readable } from '../readable.js';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

const DIR = mkdtempSync(join(tmpdir(), 'cts-status-'));
test.after.always(() => rmSync(DIR, { recursive: true, force: true }));
let files = 0;
const freshFile = () => join(DIR, `store-${(files += 1)}.sqlite`);
const hex = () => randomBytes(20).toString('hex');

/** A store in a file of its own whose clock the test sets; closed (claims released) at teardown. */
const seededStore = async (t: { teardown: (fn: () => Promise<void>) => void }) => {
  const path = freshFile();
  const clock = { time: Date.now() };
  const store = await openStore(`sqlite:${path}`, { now: () => clock.time, leaseSeconds: 3600 });
  t.teardown(() => store.close());
  return { path, clock, store, url: `sqlite:${path}` };
};

const UNKNOWN: ParkedQueueCount = { queue: null, count: null, why: NO_PULSE_SETTINGS };

const repositoryRow = (over: Partial<RepositoryStatus> & { repository: string }) => ({
  watermark: undefined,
  lastSettledAt: undefined,
  sentLast24Hours: {},
  sentLast7Days: {},
  claims: { held: 0, expired: 0 },
  parked: 0,
  ...over,
});

// ---- the formatting, unit by unit ----

test('columns pads every cell to its column and trims the line end', (t) => {
  t.deepEqual(
    columns([
      ['a', 'bbb', 'c'],
      ['aaaa', 'b', ''],
    ]),
    ['a     bbb  c', 'aaaa  b'],
  );
});

test('ago says how long before, in a unit a person reads at a glance', (t) => {
  const at = Date.UTC(2026, 0, 15, 12);
  t.is(ago(at - 5_000, at), '5 s ago');
  t.is(ago(at - 12 * 60_000, at), '12 min ago');
  t.is(ago(at - 3 * HOUR, at), '3 h ago');
  t.is(ago(at - 9 * DAY, at), '9 d ago');
  t.is(ago(at + 5_000, at), '0 s ago');
});

test('the table of an empty store says how a repository comes to be', (t) => {
  const at = Date.UTC(2026, 0, 15, 12);
  const text = statusTable({
    database: 'sqlite:x.sqlite',
    status: { at, claims: { held: 0, expired: 0 }, repositories: [] },
    parkedMessages: { queue: 'queue/u/q.failed', count: 0 },
  });
  t.is(
    text,
    'database         sqlite:x.sqlite\n' +
      'at               2026-01-15T12:00:00Z\n' +
      'parked messages  0 in queue/u/q.failed\n' +
      `\n${EMPTY_STORE}\n`,
  );
});

test('a git branch: its watermark is its commit (12 characters in the table, whole in JSON), no pushlog asked', async (t) => {
  const branch = 'https://github.com/mozilla-firefox/firefox/tree/autoland';
  const sha = 'ab'.repeat(20);
  const status = {
    at: Date.UTC(2026, 0, 15, 12),
    claims: { held: 0, expired: 0 },
    repositories: [repositoryRow({ repository: branch, watermark: sha })],
  };
  let asked = 0;
  const hg: Pick<HgClient, 'pushlogPage'> = {
    pushlogPage: async () => {
      asked += 1;
      return decoded(PushlogPage, { lastpushid: 1, pushes: {} });
    },
  };
  const pushlog = await countPushesAfterWatermarks(hg, status.repositories);
  t.is(asked, 0);
  const report: StatusReport = {
    database: 'sqlite:x',
    status,
    parkedMessages: { queue: null, count: null, why: 'unknown' },
    pushlog,
  };
  const row = statusTable(report)
    .split('\n')
    .find((line) => line.startsWith(branch));
  t.regex(row ?? '', new RegExp(`^${branch} +${sha.slice(0, 12)} .* git: no pushlog$`));
  t.is(statusDocument(report).repositories[0]?.watermark, sha);
});

test('the table: one row per repository, pings by review system, pushlog errors below', (t) => {
  const at = Date.UTC(2026, 0, 15, 12);
  const report: StatusReport = {
    database: 'postgres://u:***@db/x',
    status: {
      at,
      claims: { held: 2, expired: 1 },
      repositories: [
        repositoryRow({
          repository: 'https://hg.mozilla.org/integration/autoland',
          watermark: 64752,
          lastSettledAt: at - 2 * 60_000,
          sentLast24Hours: { phabricator: 7 },
          sentLast7Days: { phabricator: 40, bmo: 2 },
          claims: { held: 2, expired: 1 },
        }),
        repositoryRow({ repository: 'https://hg.mozilla.org/mozilla-central', watermark: 9 }),
        repositoryRow({ repository: 'https://other.example/repo', parked: 3 }),
      ],
    },
    parkedMessages: { queue: 'queue/u/q.failed', count: 3 },
    pushlog: new Map([
      [
        'https://hg.mozilla.org/integration/autoland',
        { lastPushId: 64760, pushesAfterWatermark: 8 },
      ],
      ['https://hg.mozilla.org/mozilla-central', { error: 'connect ECONNREFUSED' }],
      ['https://other.example/repo', null],
    ]),
  };
  const lines = statusTable(report).split('\n');
  t.true(lines.includes('claims           2 held, 1 expired'));
  t.true(
    lines.includes(
      'parked messages  3 in queue/u/q.failed (process-queue-messages --list-failed shows them)',
    ),
  );
  const header = lines.find((l) => l.startsWith('REPOSITORY  ') && l.includes('WATERMARK'))!;
  t.regex(header, /LAST SETTLED\s+CLAIMS\s+EXPIRED\s+EVER PARKED\s+PUSHES AFTER WATERMARK$/);
  t.true(
    lines.some((l) =>
      /^https:\/\/hg\.mozilla\.org\/integration\/autoland\s+64752\s+2026-01-15T11:58:00Z \(2 min ago\)\s+2\s+1\s+0\s+8 \(newest 64760\)$/.test(
        l,
      ),
    ),
  );
  t.true(
    lines.some((l) =>
      /^https:\/\/hg\.mozilla\.org\/mozilla-central\s+9\s+never\s+0\s+0\s+0\s+error \(below\)$/.test(
        l,
      ),
    ),
  );
  t.true(
    lines.some((l) =>
      /^https:\/\/other\.example\/repo\s+-\s+never\s+0\s+0\s+3\s+no watermark$/.test(l),
    ),
  );
  const pings = lines.slice(lines.indexOf('Pings sent'));
  t.regex(pings[1]!, /^REPOSITORY\s+REVIEW SYSTEM\s+LAST 24 H\s+LAST 7 DAYS$/);
  t.regex(pings[2]!, /^https:\/\/hg\.mozilla\.org\/integration\/autoland\s+bmo\s+0\s+2$/);
  t.regex(pings[3]!, /^\s+phabricator\s+7\s+40$/);
  t.regex(pings[4]!, /^\s+all\s+7\s+42$/);
  t.regex(pings[5]!, /^https:\/\/hg\.mozilla\.org\/mozilla-central\s+\(none\)\s+0\s+0$/);
  t.deepEqual(lines.slice(lines.indexOf('Pushlog errors')), [
    'Pushlog errors',
    'https://hg.mozilla.org/mozilla-central: connect ECONNREFUSED',
    '',
  ]);
  // Without --pushlog there is no such column.
  t.false(statusTable({ ...report, pushlog: undefined }).includes('PUSHES AFTER WATERMARK'));
});

test('countPushesAfterWatermarks: one request per repository with a watermark, bounded at it', async (t) => {
  const asked: [string, number, number][] = [];
  const hg: Pick<HgClient, 'pushlogPage'> = {
    pushlogPage: async (repository, start, end) => {
      asked.push([repository, start, end]);
      if (repository === 'refused') throw new HostNotAllowed(repository, ['hg.mozilla.org']);
      return decoded(PushlogPage, { lastpushid: 130, pushes: {} });
    },
  };
  const counts = await countPushesAfterWatermarks(hg, [
    repositoryRow({ repository: 'a', watermark: 100 }),
    repositoryRow({ repository: 'refused', watermark: 7 }),
    repositoryRow({ repository: 'none' }),
    repositoryRow({ repository: 'ahead', watermark: 140 }),
  ]);
  t.deepEqual(asked.sort(), [
    ['a', 100, 100],
    ['ahead', 140, 140],
    ['refused', 7, 7],
  ]);
  t.deepEqual(counts.get('a'), { lastPushId: 130, pushesAfterWatermark: 30 });
  t.regex((counts.get('refused') as { error: string }).error, /not in ALLOWED_HOSTS/);
  t.is(counts.get('none'), null);
  t.deepEqual(counts.get('ahead'), { lastPushId: 130, pushesAfterWatermark: 0 });
});

test('the JSON document: ISO times, null for what is unknown, pushlog only when asked', (t) => {
  const at = Date.UTC(2026, 0, 15, 12);
  const status = {
    at,
    claims: { held: 0, expired: 0 },
    repositories: [repositoryRow({ repository: 'r', watermark: 3, lastSettledAt: at - HOUR })],
  };
  t.deepEqual(statusDocument({ database: 'sqlite:x', status, parkedMessages: UNKNOWN }), {
    database: 'sqlite:x',
    at: '2026-01-15T12:00:00.000Z',
    parkedMessages: UNKNOWN,
    claims: { held: 0, expired: 0 },
    repositories: [
      {
        repository: 'r',
        watermark: 3,
        lastSettledAt: '2026-01-15T11:00:00.000Z',
        sentLast24Hours: {},
        sentLast7Days: {},
        claims: { held: 0, expired: 0 },
        everParked: 0,
      },
    ],
  });
  const withPushlog = statusDocument({
    database: 'sqlite:x',
    status,
    parkedMessages: UNKNOWN,
    pushlog: new Map(),
  });
  t.is(withPushlog.repositories[0]!.pushlog, null);
});

// ---- the built command ----

/** A store with two repositories: a busy one the worker follows and a quiet one with a parked push. */
const seedTwoRepositories = async (t: Parameters<typeof seededStore>[0]) => {
  const seeded = await seededStore(t);
  const { clock, store } = seeded;
  const now = clock.time;
  const [busy, quiet] = [`https://hg.example/busy-${hex()}`, `https://hg.example/quiet-${hex()}`];
  const send = (reviewSystem: string) =>
    store.recordSent({ node: hex(), repository: busy, pushId: 100, reviewSystem });
  clock.time = now - 8 * DAY;
  await send('phabricator'); // counted nowhere
  clock.time = now - 3 * DAY;
  await send('phabricator'); // the week only
  await send('bmo');
  await store.startWatermark(busy, 100);
  await store.pushSettled(busy, 100);
  const settledAt = clock.time;
  clock.time = now - 2 * HOUR;
  await store.claim({ repository: busy, node: hex() }); // its hour-long lease ran out an hour ago
  clock.time = now - HOUR;
  await send('phabricator'); // the day and the week
  await send('no_bug');
  await store.park({ repository: quiet, pushId: 5, reason: 'an operator looks into it' });
  const parkedAt = clock.time;
  clock.time = now;
  await store.claim({ repository: busy, node: hex() }); // held for another hour
  return { ...seeded, busy, quiet, settledAt, parkedAt };
};

test('--json: per repository the watermark, last settled push, pings by review system, claims and parked', async (t) => {
  const { url, busy, quiet, settledAt, parkedAt } = await seedTwoRepositories(t);
  const result = await runCommand('telemetryStatus', ['--json'], { DATABASE_URL: url });
  t.is(result.code, 0, result.stderr);
  t.is(result.stderr, '');
  const doc = JSON.parse(result.stdout) as StatusDocument;
  t.is(doc.database, url);
  t.deepEqual(doc.parkedMessages, UNKNOWN);
  t.true(Math.abs(Date.parse(doc.at!) - Date.now()) < 60_000);
  t.deepEqual(doc.claims, { held: 1, expired: 1 });
  t.deepEqual(doc.repositories, [
    {
      repository: busy,
      watermark: 100,
      lastSettledAt: new Date(settledAt).toISOString(),
      sentLast24Hours: { phabricator: 1, no_bug: 1 },
      sentLast7Days: { phabricator: 2, bmo: 1, no_bug: 1 },
      claims: { held: 1, expired: 1 },
      everParked: 0,
    },
    {
      repository: quiet,
      watermark: null,
      lastSettledAt: new Date(parkedAt).toISOString(),
      sentLast24Hours: {},
      sentLast7Days: {},
      claims: { held: 0, expired: 0 },
      everParked: 1,
    },
  ]);
});

test('the table (the default) shows each repository with its counts', async (t) => {
  const { url, busy, quiet } = await seedTwoRepositories(t);
  const result = await runCommand('telemetryStatus', [], { DATABASE_URL: url });
  t.is(result.code, 0, result.stderr);
  const lines = result.stdout.split('\n');
  t.is(lines[0], `database         ${url}`);
  t.true(lines.includes('claims           1 held, 1 expired'));
  t.true(lines.includes(`parked messages  ${NO_PULSE_SETTINGS}`));
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  t.true(
    lines.some((l) =>
      new RegExp(`^${esc(busy)}\\s+100\\s+\\S+Z \\(3 d ago\\)\\s+1\\s+1\\s+0$`).test(l),
    ),
    result.stdout,
  );
  t.true(
    lines.some((l) =>
      new RegExp(`^${esc(quiet)}\\s+-\\s+\\S+Z \\(60 min ago\\)\\s+0\\s+0\\s+1$`).test(l),
    ),
  );
  t.true(lines.some((l) => new RegExp(`^${esc(busy)}\\s+bmo\\s+0\\s+1$`).test(l)));
  t.true(lines.some((l) => /^\s+phabricator\s+1\s+2$/.test(l)));
  t.true(lines.some((l) => /^\s+all\s+2\s+4$/.test(l)));
});

test('--pushlog: one json-pushes request per repository, both bounds at the watermark; errors stay in their row', async (t) => {
  const fx = await startFixtures({ data: syntheticFixtures({ pushes: 30 }) });
  t.teardown(() => fx.close());
  const { url, store } = await seededStore(t);
  const autoland = fx.repo('integration/autoland');
  const refused = 'https://hg.mozilla.org/mozilla-central';
  await store.startWatermark(autoland, 21); // watermark 20
  for (const id of [21, 22, 23, 24, 25]) await store.pushSettled(autoland, id);
  await store.startWatermark(refused, 10);
  await store.park({ repository: 'https://hg.example/parked-only', pushId: 1, reason: 'test' });

  const result = await runCommand('telemetryStatus', ['--json', '--pushlog'], {
    DATABASE_URL: url,
    ...fx.env,
  });
  t.is(result.code, 0, result.stderr);
  const doc = JSON.parse(result.stdout) as StatusDocument;
  const pushlogOf = (repository: string) =>
    doc.repositories.find((r) => r.repository === repository)?.pushlog;
  t.deepEqual(pushlogOf(autoland), { lastPushId: 30, pushesAfterWatermark: 5 });
  t.regex((pushlogOf(refused) as { error: string }).error, /not in ALLOWED_HOSTS/);
  t.is(pushlogOf('https://hg.example/parked-only'), null);
  t.deepEqual(fx.hg.requests, [
    'GET /integration/autoland/json-pushes?version=2&startID=25&endID=25',
  ]);

  const table = await runCommand('telemetryStatus', ['--pushlog'], {
    DATABASE_URL: url,
    ...fx.env,
  });
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /PUSHES AFTER WATERMARK/);
  t.regex(table.stdout, /5 \(newest 30\)/);
  t.regex(
    table.stdout,
    /Pushlog errors\nhttps:\/\/hg\.mozilla\.org\/mozilla-central: refusing to fetch/,
  );
});

test('--pushlog reads the upstream settings: a bad one exits 2 before anything is opened', async (t) => {
  const path = freshFile();
  const result = await runCommand('telemetryStatus', ['--pushlog'], {
    DATABASE_URL: `sqlite:${path}`,
    HTTP_CONCURRENCY: 'many',
  });
  t.is(result.code, 2);
  t.regex(result.stderr, /HTTP_CONCURRENCY: expected/);
  t.false(existsSync(path));
  // Without --pushlog it does not read them.
  await (await openStore(`sqlite:${path}`)).close();
  const plain = await runCommand('telemetryStatus', [], {
    DATABASE_URL: `sqlite:${path}`,
    HTTP_CONCURRENCY: 'many',
  });
  t.is(plain.code, 0, plain.stderr);
});

test('a bad DATABASE_URL, CLAIM_LEASE_SECONDS or option exits 2', async (t) => {
  const badUrl = await runCommand('telemetryStatus', [], { DATABASE_URL: 'mysql://db/x' });
  t.is(badUrl.code, 2);
  t.regex(readable(badUrl.stderr), /DATABASE_URL "mysql:\/\/db\/x" has an unknown scheme/);
  const badLease = await runCommand('telemetryStatus', [], { CLAIM_LEASE_SECONDS: '1' });
  t.is(badLease.code, 2);
  t.regex(badLease.stderr, /CLAIM_LEASE_SECONDS: expected/);
  const badOption = await runCommand('telemetryStatus', ['--tables']);
  t.is(badOption.code, 2);
  t.regex(badOption.stderr, /unknown option '--tables'/);
  const help = await runCommand('telemetryStatus', ['--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /DATABASE_URL\s+the store to read/);
});

test('an unreachable PostgreSQL exits 1 naming the database, password masked', async (t) => {
  const result = await runCommand('telemetryStatus', ['--json'], {
    DATABASE_URL: 'postgres://u:secretpw@127.0.0.1:1/x',
  });
  t.is(result.code, 1);
  t.is(result.stdout, '');
  t.regex(result.stderr, /postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x/);
  t.regex(readable(result.stderr), /ECONNREFUSED 127\.0\.0\.1:1; check DATABASE_URL$/m);
  t.false(result.stderr.includes('secretpw'));
});

test('a store that opens but cannot be read exits 1, saying what failed', async (t) => {
  const path = freshFile();
  const store = await openStore(`sqlite:${path}`);
  await store.close();
  // Migrated (so opening does nothing), then broken behind the store's back.
  const db = new Database(path);
  db.exec('DROP TABLE ledger');
  db.close();
  const result = await runCommand('telemetryStatus', ['--json'], {
    DATABASE_URL: `sqlite:${path}`,
  });
  t.is(result.code, 1);
  t.is(result.stdout, '');
  t.regex(
    readable(result.stderr),
    /telemetry-status: cannot read the store: .*no such table: ledger/,
  );
});
