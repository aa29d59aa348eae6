#!/usr/bin/env node
import * as t from 'io-ts';
import { lastValueFrom, tap, defaultIfEmpty } from 'rxjs';
import { Checkpoint } from '../../streams/checkpoint.js';
import { PushlogSource } from '../../streams/pushlog.js';
import { allowedUrl } from '../clients/allowList.js';
import { StoreSettings, TelemetrySettings, UpstreamSettings } from '../codecs/settings.js';
import { describeError } from '../errors.js';
import { configureLog, log } from '../log.js';
import { pipeline } from '../pipeline/index.js';
import { pushOf } from '../pipeline/job.js';
import { isSettled } from '../pipeline/recordPush.js';
import { repositoryUrl } from '../codecs/scalars.js';
import { backfillClients } from './backfillOutage.js';
import { planBackfill } from './backfillPlan.js';
import { endRun, windDownOnSignals } from './backfillSignals.js';
import { createProgram, EXIT, fail, intArgument, settingsOrExit, logLevelFor } from './program.js';
import { BackfillProgress } from './progress.js';
import { programInvocation, resumeCommand, tellResume } from './resumeCommand.js';
import type { ResumeOptions } from './resumeCommand.js';
import { TELEMETRY_HELP } from './settingsHelp.js';
import { closeStore, openSinkAndLedger } from './sinkAndLedger.js';

const NAME = 'backfill-pushlog';

const program = createProgram(
  NAME,
  'Re-create the pings of the pushes STARTING_PUSHID < id <= ENDING_PUSHID of a repository, ' +
    'read from its pushlog, and send them (or print them with --no-send).',
  TELEMETRY_HELP,
)
  .argument('<REPO_URL>', 'repository, e.g. https://hg.mozilla.org/integration/autoland')
  .argument(
    '<STARTING_PUSHID>',
    'the push before the first one to process',
    intArgument('a push id', 0),
  )
  .argument('<ENDING_PUSHID>', 'the last push to process', intArgument('a push id', 0))
  .option('--debug', 'log every request and decision to stderr')
  .option('--no-send', 'print the pings on stdout, one JSON document a line; send nothing')
  .option('-y, --yes', 'do not ask for confirmation before starting')
  .option('--resend', 'send even the pings the store says were sent (and record them again)')
  .option(
    '--page-size <N>',
    'pushes per pushlog request (1 to 1000)',
    intArgument('a page size', 1, 1000),
    100,
  )
  .addHelpText(
    'after',
    '\nProgress and the summary go to stderr: text on a terminal, else JSON lines. On a failure,' +
      '\nCtrl-C or SIGTERM (pushes in flight finish first) the resume command is printed.' +
      '\nExit status: 0 all sent, 1 some changeset failed, 2 usage error, 130 Ctrl-C, 143 SIGTERM.',
  )
  .parse();

const [repoArg, start, end] = program.processedArgs as [string, number, number];
const options = program.opts<ResumeOptions>();
// One read of everything it uses, so a single run names every variable that is wrong.
const telemetry = options.send
  ? settingsOrExit(NAME, t.intersection([UpstreamSettings, TelemetrySettings, StoreSettings]))
  : undefined;
const upstream = telemetry ?? settingsOrExit(NAME, UpstreamSettings);
const repository = repositoryUrl(repoArg);
if (start >= end) fail(NAME, 'STARTING_PUSHID must be less than ENDING_PUSHID.', EXIT.usage);
try {
  allowedUrl(repository, upstream.ALLOWED_HOSTS);
} catch (error) {
  fail(NAME, `REPO_URL: ${describeError(error)}`, EXIT.usage);
}
if (!options.yes && !process.stdin.isTTY) {
  fail(NAME, 'stdin is not a terminal: pass --yes to proceed without a prompt.', EXIT.usage);
}
// Off a terminal, progress and the summary are info events; on one, the bar shows them.
const quiet = process.stderr.isTTY ? 'warn' : 'info';
configureLog({ level: logLevelFor(options.debug, upstream, quiet) });

// A host that goes down is waited for: see backfillOutage.ts.
const { limits, hg, bugzilla, outages } = backfillClients(upstream);
// The store is opened before any request: a bad DATABASE_URL costs nothing.
const { store, ...edge } = await openSinkAndLedger(NAME, limits, telemetry, {
  whenHeld: 'await',
  resend: options.resend,
  startsWatermarks: false,
});
const sendTo = telemetry?.TMO_BASE_URL;
const plan = await planBackfill(NAME, hg, { repository, start, end }, sendTo, !options.yes);

const progress = new BackfillProgress({
  totalPushes: plan.pushes,
  tty: process.stderr.isTTY === true,
  outages,
});
const checkpoint = new Checkpoint(start);
const source = new PushlogSource(hg, { repository, start, end }, options.pageSize);
const interruptedBy = windDownOnSignals([progress, source, outages]);

await lastValueFrom(
  pipeline({ hg, bugzilla, ...edge })(checkpoint.issuing(outages.gate(source.jobs()))).pipe(
    tap((result) => {
      progress.record(result);
      checkpoint.done(pushOf(result.job)!.pushId, isSettled(result));
    }),
    defaultIfEmpty(undefined),
  ),
);
progress.stop();
progress.printSummary();
await closeStore(store);
if (source.failure !== undefined) {
  log.error('stopped reading the pushlog', { repository, error: source.failure });
}
const signal = interruptedBy();
const { resumeAfter } = checkpoint;
const incomplete = signal || source.failure !== undefined || progress.failures.length > 0;
if (incomplete && resumeAfter < plan.last) {
  const invocation = programInvocation(process.argv[1], NAME);
  tellResume(resumeAfter, resumeCommand(invocation, options, repository, resumeAfter, end));
}
await endRun(signal, incomplete ? EXIT.failed : EXIT.ok);
