import type { OutageNotes } from '../outages.js';
import type { ProgressSnapshot, SummaryFields } from './tally.js';
import { formatDuration } from './eta.js';
import { failureGroupLines } from './failures.js';

/** The summary as a person reads it. */
export const summaryText = (s: SummaryFields, unit: CountUnit = 'pushes'): string => {
  const systems = Object.entries(s.pings).map(([system, count]) => `  ${system}: ${count}`);
  return [
    `${s.pushes} ${unit}, ${s.changesets} changesets in ${s.seconds.toFixed(1)} s (${s.rate.toFixed(1)} changesets/s)`,
    'pings by review system:',
    ...(systems.length > 0 ? systems : ['  (none)']),
    `already sent / skipped: ${s.skipped}`,
    `failures: ${s.failed}`,
    ...failureGroupLines(s.failures),
  ].join('\n');
};

/** The values of the bar's tokens. */
export const barPayload = (
  snapshot: ProgressSnapshot,
  outages?: OutageNotes,
): Record<string, unknown> => {
  const waitingFor = outages?.progressFields().waitingFor;
  return {
    changesets: snapshot.changesets,
    rate: snapshot.rate.toFixed(1),
    skipped: snapshot.skipped,
    failed: snapshot.failed,
    etaText: formatDuration(snapshot.etaSeconds),
    waiting: waitingFor === undefined ? '' : ` | waiting for ${waitingFor}`,
  };
};

/** What a backfill counts its jobs in: pushes of a pushlog, or commits of a git branch. */
export type CountUnit = 'pushes' | 'commits';

/** The fields of a progress or summary event that count jobs, as the tally names them. */
const COUNT_FIELDS: Record<string, string> = {
  pushes: '',
  pushesDone: 'Done',
  pushesTotal: 'Total',
};

/**
 * The fields of a progress or summary event named in the run's unit: `pushesDone`,
 * `pushesTotal` and `pushes` as they are for a pushlog backfill, `commitsDone`,
 * `commitsTotal` and `commits` for a git one. No other field is touched.
 */
export const namedInUnit = (fields: object, unit: CountUnit = 'pushes'): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(fields).map(([key, value]) => {
      const suffix = COUNT_FIELDS[key];
      return [suffix === undefined ? key : `${unit}${suffix}`, value];
    }),
  );
