// Which test files need a running RabbitMQ or PostgreSQL, which run the built commands, and
// which need neither. The lists are written out file by file, and test/suites.test.ts fails
// when a test file is in none of them or in two, when a unit file runs a built command, or
// when a file outside `services` imports a helper that talks to the broker or to PostgreSQL.
// So a new test file cannot quietly fall out of a run, or land in one it is too slow or too
// needy for.

/**
 * In-process, needing neither a service nor the built commands: `npm run test:unit`, the fast
 * loop (and `npm test`).
 */
export const unit = [
  'test/appJson.test.ts',
  'test/codecs/githubSettings.test.ts',
  'test/rules/gitRepository.test.ts',
  'test/cli/shared/backfill/eta.test.ts',
  'test/cli/shared/backfill/failures.test.ts',
  'test/cli/shared/giveUp.test.ts',
  'test/cli/processQueueMessages/parkedTable.test.ts',
  'test/cli/shared/backfill/progress.test.ts',
  'test/cli/shared/backfill/resumeCommand.test.ts',
  'test/cli/shared/tell.test.ts',
  'test/clients/allowList.test.ts',
  'test/clients/breaker.test.ts',
  'test/clients/bugzilla.test.ts',
  'test/clients/flapping.test.ts',
  'test/clients/github/github.test.ts',
  'test/clients/github/githubLinkLoop.test.ts',
  'test/clients/github/githubRateLimit.test.ts',
  'test/clients/hgmo.test.ts',
  'test/clients/http/http.test.ts',
  'test/clients/json/jsonRevFixtures.test.ts',
  'test/clients/json/jsonTokenizer.test.ts',
  'test/clients/http/memory.test.ts',
  'test/clients/json/pickJsonFields.test.ts',
  'test/clients/http/retryAfter.test.ts',
  'test/clients/telemetry.test.ts',
  'test/clients/upstreamDecoders.test.ts',
  'test/codecs/codecs.test.ts',
  'test/codecs/repositoryUrl.test.ts',
  'test/codecs/settingSecrets.test.ts',
  'test/importCycles.test.ts',
  'test/log.test.ts',
  'test/packageJson.test.ts',
  'test/pipeline/operators.test.ts',
  'test/pipeline/listingFails.test.ts',
  'test/pipeline/outcomes.test.ts',
  'test/pipeline/pipeline.test.ts',
  'test/redact.test.ts',
  'test/rules/bugNumber.test.ts',
  'test/rules/diffstat.test.ts',
  'test/rules/ping.test.ts',
  'test/rules/reviewSystem.test.ts',
  'test/servicesUp.test.ts',
  'test/state/databaseUrl.test.ts',
  'test/state/store.sqlite.test.ts',
  'test/streams/checkpoint.test.ts',
  'test/streams/git/compareSource.test.ts',
  'test/streams/pulse/idleClock.test.ts',
  'test/streams/pulse/parkedMessage.test.ts',
  'test/streams/pulse/pulseConnection.test.ts',
  'test/streams/pulse/githubMessage.test.ts',
  'test/streams/gapFill/gitGapFill.test.ts',
  'test/streams/pulse/pulseMessage.test.ts',
  'test/streams/pulse/settler.test.ts',
  'test/streams/pushlog.test.ts',
  'test/suites.test.ts',
  'test/worker/processClaims.test.ts',
  'test/worker/pushMetrics.test.ts',
  'test/worker/stopMidSend.test.ts',
  'test/worker/toySource.test.ts',
];

/**
 * Needs neither service, but runs the built commands (test/support/cli.ts): each start costs
 * about a second of CPU, which puts these past the fast loop. Run by `npm run test:offline`
 * (after a build) and by `npm test`.
 */
export const commands = [
  'test/cli/backfillGit/backfillGit.test.ts',
  'test/cli/backfillPushlog/backfillGivesUp.test.ts',
  'test/cli/backfillPushlog/backfillOutage.test.ts',
  'test/cli/backfillPushlog/backfillPushlog.test.ts',
  'test/cli/backfillPushlog/backfillTmux.test.ts',
  'test/cli/backfillPushlog/hostilePushlog.test.ts',
  'test/cli/shared/crash.test.ts',
  'test/cli/dumpTelemetry/dumpTelemetry.test.ts',
  'test/cli/dumpTelemetry/dumpTelemetryGit.test.ts',
  'test/cli/backfillPushlog/resumeNpx.test.ts',
  'test/cli/shared/settingSecrets.test.ts',
  'test/cli/telemetryStatus/telemetryStatus.test.ts',
  'test/cli/shared/terminalErrors.test.ts',
];

/** Needs RabbitMQ, PostgreSQL or both: run only by `npm test`. */
export const services = [
  'test/cli/backfillPushlog/landings.test.ts',
  'test/cli/processQueueMessages/ledger.test.ts',
  'test/cli/telemetryStatus/parkedCount.test.ts',
  'test/cli/shared/fatalErrors.test.ts',
  'test/cli/processQueueMessages/parkedMessages.test.ts',
  'test/cli/processQueueMessages/processQueueMessages.test.ts',
  'test/cli/processQueueMessages/pushgateway.test.ts',
  'test/cli/processQueueMessages/repositorySpellings.test.ts',
  'test/cli/telemetryStatus/telemetryStatusReadOnly.test.ts',
  'test/deploy/deploy.test.ts',
  'test/standIn.test.ts',
  'test/state/canonicalRepository.test.ts',
  'test/state/claimLost.test.ts',
  'test/state/clockPoolWait.test.ts',
  'test/state/gitWatermarks.test.ts',
  'test/state/migrationLock.test.ts',
  'test/state/processes.test.ts',
  'test/state/statusClock.test.ts',
  'test/state/store.postgres.test.ts',
  'test/streams/pulse/githubBinding.test.ts',
  'test/streams/pulse/hostileMessages.test.ts',
  'test/streams/pulse/pulse.test.ts',
  'test/streams/pulse/pulseLooseEnds.test.ts',
  'test/streams/pulse/pulseRetry.test.ts',
  'test/streams/gapFill/gapFill.test.ts',
  'test/worker/githubWorker.test.ts',
  'test/worker/outage.test.ts',
  'test/worker/pushIds.test.ts',
  'test/worker/storeOutage.test.ts',
];
