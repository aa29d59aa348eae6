#!/usr/bin/env node
import { defaultIfEmpty, lastValueFrom, tap } from 'rxjs';
import { Checkpoint } from '../../../streams/checkpoint.js';
import { GitCompareSource } from '../../../streams/git/compareSource.js';
import { repositoryUrl } from '../../codecs/scalars.js';
import { configureLog } from '../../log.js';
import { pipeline } from '../../pipeline/index.js';
import { isSettled } from '../../pipeline/operators/recordPush.js';
import { BackfillProgress } from '../shared/backfill/progress.js';
import { finishBackfill } from '../shared/backfill/finish.js';
import { programInvocation, resumeCommand, tellResume } from '../shared/backfill/resumeCommand.js';
import { windDownOnSignals } from '../shared/backfill/signals.js';
import { NAME, parseArguments } from './arguments.js';
import { planGitBackfill } from './plan.js';
import { checkGitRepository } from './repository.js';
import { requireTerminalUnlessYes } from '../shared/confirm.js';
import { backfillSettings, openBackfill, watchForGiveUp } from '../shared/backfill/start.js';
import { logLevelFor } from '../shared/program.js';

const { repoArg, base, head, options } = parseArguments();
const settings = backfillSettings(NAME, options.send);
const { upstream } = settings;
const repository = checkGitRepository(NAME, repositoryUrl(repoArg), upstream);
requireTerminalUnlessYes(NAME, options.yes);
const quiet = process.stderr.isTTY ? 'warn' : 'info';
configureLog({
  level: logLevelFor(options.debug, upstream, quiet),
  secrets: upstream.GITHUB_TOKEN === undefined ? [] : [upstream.GITHUB_TOKEN],
});

const opened = await openBackfill(NAME, settings, options);
const { hg, bugzilla, github, outages, store, edge, sendTo, resendBefore } = opened;
const range = { repository, base, head };
const total = await planGitBackfill(NAME, github, range, sendTo, !options.yes);

const tty = process.stderr.isTTY === true;
const progress = new BackfillProgress({ totalPushes: total, tty, outages, unit: 'commits' });
// A rate limit is a wait with a known end: the progress says so as it starts.
github.rateLimits.onRateLimit(() => progress.show());
const checkpoint = new Checkpoint(0);
const source = new GitCompareSource(github, range);
// A rate-limit wait may last an hour: the requests waiting fail, and the run ends at once.
const interruptedBy = windDownOnSignals([
  progress,
  source,
  outages,
  { stop: () => github.rateLimits.stopWaiting() },
]);
const apiHost = new URL(github.options.apiUrl).host;
const giveUp = watchForGiveUp(
  opened,
  { host: apiHost, setting: 'GITHUB_API_URL (and GITHUB_TOKEN)' },
  [source, outages],
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
    const resumeAfter = source.resumePoint(checkpoint.resumeAfter);
    if (resumeAfter === head) return;
    const invocation = programInvocation(process.argv[1], NAME);
    tellResume(
      'commit',
      resumeAfter,
      resumeCommand(invocation, { ...options, resendBefore }, repository, resumeAfter, head),
    );
  },
});
