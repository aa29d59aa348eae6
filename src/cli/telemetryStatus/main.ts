#!/usr/bin/env node
import * as t from 'io-ts';
import { createClients } from '../../clients/index.js';
import { StoreSettings, UpstreamSettings } from '../../codecs/settings.js';
import { describeError } from '../../errors.js';
import { configureLog, log } from '../../log.js';
import { displayDatabaseUrl, parseDatabaseUrl } from '../../state/index.js';
import { openStoreReader } from '../../state/storeReader.js';
import { countParkedMessages, pulseSettingsIfSet } from './parkedQueueCount.js';
import { namingDatabaseUrl } from '../shared/openStoreOrExit.js';
import { createProgram, EXIT, fail, settingsOrExit, logLevelFor } from '../shared/program.js';
import { countPushesAfterWatermarks, statusDocument, type StatusReport } from './statusReport.js';
import { statusTable } from './statusTable.js';

const NAME = 'telemetry-status';

const STORE_HELP = `
                       (the settings above are read with --pushlog only)
  DATABASE_URL         the store to read: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE or
                       sqlite:PATH (default sqlite:commit-telemetry.sqlite, in the working
                       directory). It is opened read only: nothing is created or migrated, and
                       a store that is not there (or is older than this version) is an error
  CLAIM_LEASE_SECONDS  checked as the worker checks it (5 to 3600, default 60); the counts
                       do not depend on it
  PULSE_*              the worker's Pulse settings (process-queue-messages --help lists
                       them): with them, the parked messages
                       are counted in the parked queue (one passive declare); without them
                       (none of PULSE_USERNAME, PULSE_PASSWORD, PULSE_QUEUE_NAME set) that
                       count is shown as unknown`;

interface Options {
  json?: boolean;
  pushlog?: boolean;
  debug?: boolean;
}

const program = createProgram(
  NAME,
  'Show what the durable store (DATABASE_URL) knows, per repository: the watermark (the worker ' +
    'resumes after it), when a push was last settled, pings sent in the last 24 hours and 7 days ' +
    'by review system, claims held and expired, pushes and changesets ever parked; and, with the ' +
    'Pulse settings, how many messages wait in the parked queue now. Changes nothing and sends ' +
    'nothing.',
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
    '\nA repository whose pushlog cannot be asked shows the error in its row, and a parked queue' +
      '\nthat cannot be read shows why; the exit status stays 0. Exit status: 0 printed, 1 no' +
      '\nstore where DATABASE_URL points, or it could not be opened or read, 2 usage or settings' +
      '\nerror.',
  )
  .parse();
const options = program.opts<Options>();

const settings = options.pushlog
  ? settingsOrExit(NAME, t.intersection([StoreSettings, UpstreamSettings]))
  : settingsOrExit(NAME, StoreSettings);
const upstream = options.pushlog ? (settings as StoreSettings & UpstreamSettings) : undefined;
const pulse = pulseSettingsIfSet(NAME);
configureLog({
  level: logLevelFor(options.debug, upstream, 'warn'),
  secrets: pulse === undefined ? [] : [pulse.PULSE_PASSWORD],
});

const parsed = parseDatabaseUrl(settings.DATABASE_URL);
const target = parsed.ok ? parsed.value : fail(NAME, parsed.error.message, EXIT.usage);
const database = displayDatabaseUrl(target);

// Read only: a DATABASE_URL that points at the wrong place is an error, never a new store.
const store = await openStoreReader(target).catch((error: unknown) =>
  fail(NAME, namingDatabaseUrl(describeError(error)), EXIT.failed),
);
const status = await store.status().catch(async (error: unknown) => {
  await store.close().catch(() => undefined);
  return fail(NAME, `cannot read the store: ${describeError(error)}`, EXIT.failed);
});
// The counts are read; a failure to let go of the database changes none of them.
await store.close().catch((error: unknown) => log.warn('closing the store', { error }));

const report: StatusReport = {
  database,
  status,
  parkedMessages: await countParkedMessages(pulse),
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
