#!/usr/bin/env node
import * as t from 'io-ts';
import { lastValueFrom, tap, defaultIfEmpty } from 'rxjs';
import { Checkpoint } from '../../../streams/checkpoint.js';
import { PushlogSource } from '../../../streams/pushlog.js';
import { allowedHgUrl } from '../../clients/allowList.js';
import { StoreSettings, TelemetrySettings, UpstreamSettings } from '../../codecs/settings.js';
import { describeError } from '../../errors.js';
import { configureLog } from '../../log.js';
import { pipeline } from '../../pipeline/index.js';
import { pushOf } from '../../pipeline/job.js';
import { isSettled } from '../../pipeline/operators/recordPush.js';
import { repositoryUrl } from '../../codecs/scalars.js';
import { NAME, parseArguments } from './arguments.js';
import { planBackfill } from './plan.js';
import { windDownOnSignals } from '../shared/backfill/signals.js';
import { EXIT, fail, settingsOrExit, logLevelFor } from '../shared/program.js';
import { finishBackfill } from '../shared/backfill/finish.js';
import { GiveUpWatch } from '../shared/giveUp.js';
import { oneShotClients } from '../shared/outages.js';
import { BackfillProgress } from '../shared/backfill/progress.js';
import { programInvocation, resumeCommand, tellResume } from '../shared/backfill/resumeCommand.js';
import { openSinkAndLedger } from '../shared/sinkAndLedger.js';

const { repoArg, start, end, options } = parseArguments();
// One read of everything it uses, so a single run names every variable that is wrong.
const telemetry = options.send
  ? settingsOrExit(NAME, t.intersection([UpstreamSettings, TelemetrySettings, StoreSettings]))
  : undefined;
const upstream = telemetry ?? settingsOrExit(NAME, UpstreamSettings);
const repository = repositoryUrl(repoArg);
if (start >= end) fail(NAME, 'STARTING_PUSHID must be less than ENDING_PUSHID.', EXIT.usage);
try {
  allowedHgUrl(repository, upstream.ALLOWED_HOSTS, upstream.GITHUB_WEB_URL);
} catch (error) {
  fail(NAME, `REPO_URL: ${describeError(error)}`, EXIT.usage);
}
if (!options.yes && !process.stdin.isTTY) {
  fail(NAME, 'stdin is not a terminal: pass --yes to proceed without a prompt.', EXIT.usage);
}
// Off a terminal, progress and the summary are info events; on one, the bar shows them.
const quiet = process.stderr.isTTY ? 'warn' : 'info';
configureLog({ level: logLevelFor(options.debug, upstream, quiet) });

// A host that goes down is waited for, up to --max-wait: see shared/outages.ts.
const maxWaitMs = options.maxWait * 1000;
const { limits, hg, bugzilla, outages } = oneShotClients(upstream, maxWaitMs);
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
// A host refusing every request, or down past --max-wait: no new push, nothing waits.
const settings: Record<string, string> = {
  [new URL(repository).host]: 'REPO_URL',
  [new URL(upstream.BMO_API_URL).host]: 'BMO_API_URL',
  ...(sendTo === undefined ? {} : { [new URL(sendTo).host]: 'TMO_BASE_URL' }),
};
const giveUp = new GiveUpWatch(
  outages.hostsState,
  { maxWaitMs, settingFor: (host) => settings[host] ?? `the URL of ${host}` },
  () => [source, outages].forEach((part) => part.stop()),
);

await lastValueFrom(
  pipeline({ hg, bugzilla, ...edge })(checkpoint.issuing(outages.gate(source.jobs()))).pipe(
    tap((result) => {
      progress.record(result);
      checkpoint.done(pushOf(result.job)!.pushId, isSettled(result));
    }),
    defaultIfEmpty(undefined),
  ),
);
await finishBackfill({
  name: NAME,
  repository,
  progress,
  giveUp,
  store,
  source,
  reading: 'the pushlog',
  interruptedBy,
  tellResume: () => {
    const { resumeAfter } = checkpoint;
    if (resumeAfter >= plan.last) return;
    const invocation = programInvocation(process.argv[1], NAME);
    tellResume(
      'push',
      resumeAfter,
      resumeCommand(invocation, options, repository, resumeAfter, end),
    );
  },
});
