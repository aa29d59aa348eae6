import type { Counter } from 'prom-client';
import { log } from '../../src/log.js';
import { failureLines, pingCounts, sentBySystem, type JobOutcome } from '../../src/pipeline/job.js';
import { isSettled } from '../../src/pipeline/operators/recordPush.js';
import type { GapFillMetrics } from './config.js';

/** The worker's count of changesets by review system and outcome. */
export type PingCounter = Pick<Counter<'review_system' | 'outcome'>, 'inc'>;

/**
 * Logs and counts a gap-fill job's outcome, as the worker counts a message's pings; answers
 * whether its push is settled (every changeset sent, now or before).
 */
export const settledLine = (
  result: JobOutcome,
  metrics: { readonly gapFill: GapFillMetrics; readonly pings: PingCounter },
): boolean => {
  const { target } = result.job;
  const repository = target.repository;
  const line = {
    job: result.job.label,
    repository,
    ...(target.kind === 'push' ? { push: target.pushId } : {}),
    changesets: result.outcomes.length,
    reviewSystems: sentBySystem(result.outcomes),
    durationMs: Date.now() - result.job.receivedAt,
  };
  for (const { reviewSystem, outcome, count } of pingCounts(result.outcomes)) {
    metrics.pings.inc({ review_system: reviewSystem, outcome }, count);
  }
  if (isSettled(result)) {
    metrics.gapFill.gapFilled.inc({ repository });
    log.info(`${result.job.label}: settled by gap-fill`, line);
    return true;
  }
  const held = result.outcomes.filter((o) => o.status === 'held').length;
  log.info(`${result.job.label}: not settled; tried again at the next poll`, {
    ...line,
    ...(held > 0 ? { held } : {}),
    failures: failureLines(result),
  });
  return false;
};
