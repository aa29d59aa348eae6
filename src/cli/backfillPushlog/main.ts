#!/usr/bin/env node
import { lastValueFrom, tap, defaultIfEmpty } from 'rxjs';
import { Checkpoint } from '../../../streams/checkpoint.js';
import { PushlogSource } from '../../../streams/pushlog.js';
import { allowedHgUrl } from '../../clients/allowList.js';
import { describeError } from '../../errors.js';
import { configureLog } from '../../log.js';
import { pipeline } from '../../pipeline/index.js';
import { pushOf } from '../../pipeline/job.js';
import { isSettled } from '../../pipeline/operators/recordPush.js';
import { repositoryUrl } from '../../codecs/scalars.js';
import { NAME, parseArguments } from './arguments.js';
import { planBackfill } from './plan.js';
import { windDownOnSignals } from '../shared/backfill/signals.js';
import { finishBackfill } from '../shared/backfill/finish.js';
import { BackfillProgress } from '../shared/backfill/progress.js';
import { programInvocation, resumeCommand, tellResume } from '../shared/backfill/resumeCommand.js';
import { requireTerminalUnlessYes } from '../shared/confirm.js';
import { backfillSettings, openBackfill, watchForGiveUp } from '../shared/backfill/start.js';
import { EXIT, fail, logLevelFor } from '../shared/program.js';

const { repoArg, start, end, options } = parseArguments();
const settings = backfillSettings(NAME, options.send);
const { upstream } = settings;
const repository = repositoryUrl(repoArg);
if (start >= end) fail(NAME, 'STARTING_PUSHID must be less than ENDING_PUSHID.', EXIT.usage);
try {
  allowedHgUrl(repository, upstream.ALLOWED_HOSTS, upstream.GITHUB_WEB_URL);
} catch (error) {
  fail(NAME, `REPO_URL: ${describeError(error)}`, EXIT.usage);
}
requireTerminalUnlessYes(NAME, options.yes);
// Off a terminal, progress and the summary are info events; on one, the bar shows them.
const quiet = process.stderr.isTTY ? 'warn' : 'info';
configureLog({ level: logLevelFor(options.debug, upstream, quiet) });

const opened = await openBackfill(NAME, settings, options);
const { hg, bugzilla, outages, store, edge, sendTo, resendBefore } = opened;
const range = { repository, start, end };
const source = new PushlogSource(hg, range, options.pageSize);
const plan = await planBackfill(NAME, source.firstPage(), range, sendTo, !options.yes);

const progress = new BackfillProgress({
  totalPushes: plan.pushes,
  tty: process.stderr.isTTY === true,
  outages,
});
const checkpoint = new Checkpoint(start);
const interruptedBy = windDownOnSignals([progress, source, outages]);
const giveUp = watchForGiveUp(opened, { host: new URL(repository).host, setting: 'REPO_URL' }, [
  source,
  outages,
]);

// The last push of the run: the source reads on past the plan when pushes land meanwhile.
const lastPush = () => Math.min(end, Math.max(plan.last, source.lastPushId ?? 0));
await lastValueFrom(
  pipeline({ hg, bugzilla, ...edge })(checkpoint.issuing(outages.gate(source.jobs()))).pipe(
    tap((result) => {
      progress.raiseTotal(lastPush() - start);
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
    if (resumeAfter >= lastPush()) return;
    const invocation = programInvocation(process.argv[1], NAME);
    tellResume(
      'push',
      resumeAfter,
      resumeCommand(invocation, { ...options, resendBefore }, repository, resumeAfter, end),
    );
  },
});
