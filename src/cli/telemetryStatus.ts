#!/usr/bin/env node
import { existsSync } from 'node:fs';
import * as t from 'io-ts';
import { createClients } from '../clients/index.js';
import { StoreSettings, UpstreamSettings } from '../codecs/settings.js';
import { describeError } from '../errors.js';
import { configureLog, log } from '../log.js';
import { displayDatabaseUrl, parseDatabaseUrl } from '../state/index.js';
import { openStoreOrExit } from './openStoreOrExit.js';
import { createProgram, EXIT, fail, settingsOrExit, logLevelFor } from './program.js';
import { countPushesAfterWatermarks, statusDocument, type StatusReport } from './statusReport.js';
import { statusTable } from './statusTable.js';
import { tell } from './tell.js';

const NAME = 'telemetry-status';

const STORE_HELP = `
                       (the settings above are read with --pushlog only)
  DATABASE_URL         the store to read: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE or
                       sqlite:PATH (default sqlite:commit-telemetry.sqlite, in the working
                       directory). Opening it brings its schema up to date, and creates a
                       SQLite file that does not exist yet (empty; a warning says so)
  CLAIM_LEASE_SECONDS  checked as the worker checks it (5 to 3600, default 60); the counts
                       do not depend on it`;

interface Options {
  json?: boolean;
  pushlog?: boolean;
  debug?: boolean;
}

const program = createProgram(
  NAME,
  'Show what the durable store (DATABASE_URL) knows, per repository: the watermark (the worker ' +
    'resumes after it), when a push was last settled, pings sent in the last 24 hours and 7 days ' +
    'by review system, claims held and expired, parked pushes and changesets. Reads no queue ' +
    'and sends nothing.',
  STORE_HELP,
)
  .option('--json', 'print one JSON document (for scripts) instead of the table')
  .option(
    '--pushlog',
    "also ask each repository's pushlog how many pushes it has after the watermark " +
      '(one bounded json-pushes request per repository, to ALLOWED_HOSTS only)',
  )
  .option('--debug', 'log every request and decision to stderr')
  .addHelpText(
    'after',
    '\nA repository whose pushlog cannot be asked shows the error in its row; the exit status' +
      '\nstays 0. Exit status: 0 printed, 1 the store could not be opened or read, 2 usage or' +
      '\nsettings error.',
  )
  .parse();
const options = program.opts<Options>();

const settings = options.pushlog
  ? settingsOrExit(NAME, t.intersection([StoreSettings, UpstreamSettings]))
  : settingsOrExit(NAME, StoreSettings);
const upstream = options.pushlog ? (settings as StoreSettings & UpstreamSettings) : undefined;
configureLog({ level: logLevelFor(options.debug, upstream, 'warn') });

// openStoreOrExit refuses (exit 2) a DATABASE_URL that does not parse, before connecting.
const parsed = parseDatabaseUrl(settings.DATABASE_URL);
const target = parsed.ok ? parsed.value : undefined;
const database = target === undefined ? settings.DATABASE_URL : displayDatabaseUrl(target);
const created =
  target?.engine === 'sqlite' && target.path !== ':memory:' && !existsSync(target.path);

const store = await openStoreOrExit(NAME, settings);
const status = await store.status().catch(async (error: unknown) => {
  await store.close().catch(() => undefined);
  return fail(NAME, `cannot read the store: ${describeError(error)}`, EXIT.failed);
});
// The counts are read; a failure to let go of the database changes none of them.
await store.close().catch((error: unknown) => log.warn('closing the store', { error }));
if (created) {
  tell(
    'warn',
    'the store did not exist and was created empty',
    { database },
    `${NAME}: ${database} did not exist and was created empty; is DATABASE_URL the worker's?`,
  );
}

const report: StatusReport = {
  database,
  status: status,
  ...(upstream === undefined
    ? {}
    : {
        pushlog: await countPushesAfterWatermarks(
          // One attempt: a status shows what is, it does not wait out an outage.
          createClients(upstream, { attempts: 1, deadlineMs: 15_000 }).hg,
          status.repositories,
        ),
      }),
};
process.stdout.write(
  options.json ? `${JSON.stringify(statusDocument(report), null, 2)}\n` : statusTable(report),
);
process.exitCode = EXIT.ok;
