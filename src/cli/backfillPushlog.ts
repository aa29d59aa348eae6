#!/usr/bin/env node
import { InvalidArgumentError } from 'commander';
import * as t from 'io-ts';
import { lastValueFrom, tap, defaultIfEmpty } from 'rxjs';
import { Checkpoint } from '../../streams/checkpoint.js';
import { PushlogSource } from '../../streams/pushlog.js';
import { allowedUrl } from '../clients/allowList.js';
import { createClients, createTelemetryClient } from '../clients/index.js';
import { TelemetrySettings, UpstreamSettings } from '../codecs/settings.js';
import { describeError } from '../errors.js';
import { configureLog, log } from '../log.js';
import { pipeline } from '../pipeline/index.js';
import { repositoryUrl } from '../rules/repository.js';
import { stdoutSink } from '../sinks/stdout.js';
import { telemetrySink } from '../sinks/telemetry.js';
import { confirm } from './confirm.js';
import { createProgram, EXIT, fail, settingsOrExit, TELEMETRY_HELP } from './program.js';
import { BackfillProgress } from './progress.js';

const NAME = 'backfill-pushlog';

const pushId = (value: string): number => {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError('a push id is a non-negative integer.');
  }
  return Number(value);
};

const pageSize = (value: string): number => {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= 1000)) throw new InvalidArgumentError('a page size is from 1 to 1000.');
  return n;
};

interface Options {
  debug: boolean;
  send: boolean;
  yes: boolean;
  pageSize: number;
}

/** The exact command line that carries on after `resumeAfter`, with the same options. */
const resumeCommand = (options: Options, repository: string, resumeAfter: number, end: number) =>
  [
    NAME,
    ...(options.debug ? ['--debug'] : []),
    ...(options.send ? [] : ['--no-send']),
    ...(options.yes ? ['--yes'] : []),
    ...(options.pageSize !== 100 ? ['--page-size', String(options.pageSize)] : []),
    repository,
    String(resumeAfter),
    String(end),
  ].join(' ');

const main = async (): Promise<number> => {
  const program = createProgram(
    NAME,
    'Re-create the pings of the pushes STARTING_PUSHID < id <= ENDING_PUSHID of a repository, ' +
      'read from its pushlog, and send them (or print them with --no-send).',
    TELEMETRY_HELP,
  )
    .argument('<REPO_URL>', 'repository, e.g. https://hg.mozilla.org/integration/autoland')
    .argument('<STARTING_PUSHID>', 'the push before the first one to process', pushId)
    .argument('<ENDING_PUSHID>', 'the last push to process', pushId)
    .option('--debug', 'log every request and decision to stderr')
    .option('--no-send', 'print the pings on stdout, one JSON document a line; send nothing')
    .option('-y, --yes', 'do not ask for confirmation before starting')
    .option('--page-size <N>', 'pushes per pushlog request (1 to 1000)', pageSize, 100)
    .addHelpText(
      'after',
      '\nProgress and a summary go to stderr. On a failure or on Ctrl-C (which lets pushes in flight' +
        '\nfinish) the command that resumes the backfill is printed.' +
        '\nExit status: 0 all sent, 1 some changeset failed, 2 usage error, 130 interrupted.',
    )
    .parse();

  const [repoArg, start, end] = program.processedArgs as [string, number, number];
  const options = program.opts<Options>();
  // One read of everything it uses, so a single run names every variable that is wrong.
  const telemetry = options.send
    ? settingsOrExit(NAME, t.intersection([UpstreamSettings, TelemetrySettings]))
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
  configureLog({ level: options.debug || upstream.DEBUG ? 'debug' : 'warn' });

  const { limits, hg, bugzilla } = createClients(upstream);
  let lastPushId: number;
  try {
    ({ lastpushid: lastPushId } = await hg.pushlogPage(repository, start, start));
  } catch (error) {
    return fail(
      NAME,
      `cannot read the pushlog of ${repository}: ${describeError(error)}`,
      EXIT.failed,
    );
  }
  const total = Math.max(0, Math.min(end, lastPushId) - start);
  if (total === 0) {
    process.stderr.write(
      `${repository}: no push after ${start} (its newest push is ${lastPushId}); nothing to do.\n`,
    );
    return EXIT.ok;
  }
  process.stderr.write(
    `${repository}: pushes ${start + 1} to ${Math.min(end, lastPushId)}, ${total} pushes` +
      `${end > lastPushId ? ` (the repository ends at push ${lastPushId})` : ''}; ` +
      `${options.send ? `pings will be sent to ${telemetry!.TMO_BASE_URL}` : 'pings will be printed, not sent'}.\n`,
  );
  if (!options.yes) {
    if (!(await confirm('Proceed?')))
      return fail(NAME, 'not confirmed; nothing done.', EXIT.failed);
  }

  const progress = new BackfillProgress({ totalPushes: total, tty: process.stderr.isTTY === true });
  const checkpoint = new Checkpoint(start);
  const source = new PushlogSource(hg, { repository, start, end }, { pageSize: options.pageSize });
  let interrupted = false;
  process.on('SIGINT', () => {
    if (interrupted) process.exit(EXIT.interrupted);
    interrupted = true;
    progress.stop();
    process.stderr.write(
      '\nInterrupted: finishing the pushes in flight (Ctrl-C again to quit now).\n',
    );
    source.stop();
  });

  const sink =
    telemetry === undefined
      ? stdoutSink()
      : telemetrySink(createTelemetryClient(limits, telemetry));
  const jobs = source.jobs.pipe(
    tap((job) => job.input.kind === 'push' && checkpoint.issued(job.input.pushId)),
  );
  await lastValueFrom(
    pipeline({ hg, bugzilla, sink })(jobs).pipe(
      tap((result) => {
        progress.record(result);
        if (result.push !== undefined) {
          checkpoint.done(
            result.push.pushId,
            result.outcomes.every((o) => o.status !== 'failed'),
          );
        }
      }),
      defaultIfEmpty(undefined),
    ),
  );
  progress.stop();
  process.stderr.write(`${progress.summary()}\n`);
  if (source.failure !== undefined) {
    log.error(`stopped reading the pushlog: ${describeError(source.failure)}`);
  }
  const incomplete = interrupted || source.failure !== undefined || progress.failures.length > 0;
  if (incomplete && checkpoint.resumeAfter < Math.min(end, lastPushId)) {
    process.stderr.write(
      `To resume after push ${checkpoint.resumeAfter}, the last one completely done:\n  ${resumeCommand(options, repository, checkpoint.resumeAfter, end)}\n`,
    );
  }
  if (interrupted) return EXIT.interrupted;
  return incomplete ? EXIT.failed : EXIT.ok;
};

process.exitCode = await main();
