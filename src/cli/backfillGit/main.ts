#!/usr/bin/env node
import * as t from 'io-ts';
import { defaultIfEmpty, lastValueFrom, tap } from 'rxjs';
import { Checkpoint } from '../../../streams/checkpoint.js';
import { GitCompareSource } from '../../../streams/git/compareSource.js';
import { repositoryUrl } from '../../codecs/scalars.js';
import { StoreSettings, TelemetrySettings, UpstreamSettings } from '../../codecs/settings.js';
import { configureLog } from '../../log.js';
import { pipeline } from '../../pipeline/index.js';
import { isSettled } from '../../pipeline/operators/recordPush.js';
import { BackfillProgress } from '../shared/backfill/progress.js';
import { finishBackfill } from '../shared/backfill/finish.js';
import { programInvocation, resumeCommand, tellResume } from '../shared/backfill/resumeCommand.js';
import { windDownOnSignals } from '../shared/backfill/signals.js';
import { GiveUpWatch } from '../shared/giveUp.js';
import { oneShotClients } from '../shared/outages.js';
import { EXIT, fail, logLevelFor, settingsOrExit } from '../shared/program.js';
import { openSinkAndLedger } from '../shared/sinkAndLedger.js';
import { NAME, parseArguments } from './arguments.js';
import { planGitBackfill } from './plan.js';
import { checkGitRepository } from './repository.js';

const { repoArg, base, head, options } = parseArguments();
const telemetry = options.send
  ? settingsOrExit(NAME, t.intersection([UpstreamSettings, TelemetrySettings, StoreSettings]))
  : undefined;
const upstream = telemetry ?? settingsOrExit(NAME, UpstreamSettings);
const repository = checkGitRepository(NAME, repositoryUrl(repoArg), upstream);
if (!options.yes && !process.stdin.isTTY) {
  fail(NAME, 'stdin is not a terminal: pass --yes to proceed without a prompt.', EXIT.usage);
}
const quiet = process.stderr.isTTY ? 'warn' : 'info';
configureLog({
  level: logLevelFor(options.debug, upstream, quiet),
  secrets: upstream.GITHUB_TOKEN === undefined ? [] : [upstream.GITHUB_TOKEN],
});

const maxWaitMs = options.maxWait * 1000;
const { limits, hg, bugzilla, github, outages } = oneShotClients(upstream, maxWaitMs);
const { store, ...edge } = await openSinkAndLedger(NAME, limits, telemetry, {
  whenHeld: 'await',
  resend: options.resend,
  startsWatermarks: false,
});
const sendTo = telemetry?.TMO_BASE_URL;
const range = { repository, base, head };
const total = await planGitBackfill(NAME, github, range, sendTo, !options.yes);

const tty = process.stderr.isTTY === true;
const progress = new BackfillProgress({ totalPushes: total, tty, outages, unit: 'commits' });
// A rate limit is a wait with a known end: the progress says so as it starts.
github.onRateLimit(() => progress.show());
const checkpoint = new Checkpoint(0);
const source = new GitCompareSource(github, range);
const interruptedBy = windDownOnSignals([progress, source, outages]);
const settingOf: Record<string, string> = {
  [new URL(github.options.apiUrl).host]: 'GITHUB_API_URL (and GITHUB_TOKEN)',
  [new URL(upstream.BMO_API_URL).host]: 'BMO_API_URL',
  ...(sendTo === undefined ? {} : { [new URL(sendTo).host]: 'TMO_BASE_URL' }),
};
const giveUp = new GiveUpWatch(
  outages.hostsState,
  { maxWaitMs, settingFor: (host) => settingOf[host] ?? `the URL of ${host}` },
  () => [source, outages].forEach((part) => part.stop()),
);

const jobs = async function* () {
  for await (const job of outages.gate(source.jobs())) {
    checkpoint.issued(source.ordinal(job)!);
    yield job;
  }
};
await lastValueFrom(
  pipeline({ hg, git: github, bugzilla, ...edge })(jobs()).pipe(
    tap((result) => {
      progress.record(result);
      checkpoint.done(source.ordinal(result.job)!, isSettled(result));
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
  reading: 'the commits',
  interruptedBy,
  tellResume: () => {
    const resumeAfter = source.shaAt(checkpoint.resumeAfter);
    if (resumeAfter === head) return;
    const invocation = programInvocation(process.argv[1], NAME);
    tellResume(
      'commit',
      resumeAfter,
      resumeCommand(invocation, options, repository, resumeAfter, head),
    );
  },
});
