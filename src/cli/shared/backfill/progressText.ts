import type { OutageNotes } from '../outages.js';
import { formatDuration } from './eta.js';
import { failureGroupLines, type FailureGroup } from './failures.js';

/** What a progress event carries. */
export interface ProgressSnapshot {
  readonly pushesDone: number;
  readonly pushesTotal: number;
  readonly percent: number;
  readonly changesets: number;
  /** Changesets a second since the start. */
  readonly rate: number;
  readonly skipped: number;
  readonly failed: number;
  /** Seconds left at the recent pace; null until there is a pace to go by. */
  readonly etaSeconds: number | null;
}

export interface SummaryFields {
  readonly pushes: number;
  readonly pushesTotal: number;
  readonly changesets: number;
  readonly seconds: number;
  readonly rate: number;
  /** Pings sent (or printed) per review system. */
  readonly pings: Record<string, number>;
  /** Outcome `skipped`: already sent, or nothing to send. */
  readonly skipped: number;
  readonly failed: number;
  readonly failures: readonly FailureGroup[];
}

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
