import { SingleBar } from 'cli-progress';
import type { Writable } from 'node:stream';
import { log } from '../log.js';
import {
  BackfillTally,
  type ProgressSnapshot,
  type RecordedOutcome,
  type SummaryFields,
} from './backfillTally.js';
import { formatDuration } from './eta.js';
import { failureGroupLines, type FailureGroup } from './failures.js';
import { tell } from './tell.js';

export interface ProgressOptions {
  readonly totalPushes: number;
  /** A redrawn bar and a text summary on a terminal; otherwise JSON log events. */
  readonly tty: boolean;
  /** Where the bar and the text summary go; stderr by default. */
  readonly out?: Writable;
  /** How often a progress event is logged off a terminal. */
  readonly intervalMs?: number;
  /** Milliseconds since the epoch; tests pass a clock of their own. */
  readonly now?: () => number;
}

/** The summary as a person reads it. */
export const summaryText = (s: SummaryFields): string => {
  const systems = Object.entries(s.pings).map(([system, count]) => `  ${system}: ${count}`);
  return [
    `${s.pushes} pushes, ${s.changesets} changesets in ${s.seconds.toFixed(1)} s (${s.rate.toFixed(1)} changesets/s)`,
    'pings by review system:',
    ...(systems.length > 0 ? systems : ['  (none)']),
    `already sent / skipped: ${s.skipped}`,
    `failures: ${s.failed}`,
    ...failureGroupLines(s.failures),
  ].join('\n');
};

const barPayload = (snapshot: ProgressSnapshot): Record<string, unknown> => ({
  changesets: snapshot.changesets,
  rate: snapshot.rate.toFixed(1),
  skipped: snapshot.skipped,
  failed: snapshot.failed,
  etaText: formatDuration(snapshot.etaSeconds),
});

/** Shows a backfill's outcomes as it goes, then as a summary. */
export class BackfillProgress {
  private readonly tally: BackfillTally;
  private readonly bar: SingleBar | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly out: Writable;

  constructor(private readonly options: ProgressOptions) {
    this.tally = new BackfillTally(options.totalPushes, options.now ?? Date.now);
    this.out = options.out ?? process.stderr;
    if (options.tty) {
      this.bar = new SingleBar({
        stream: this.out,
        // cli-progress cuts the line at the terminal's width: what matters most comes first.
        format:
          'pushes {bar} {percentage}% {value}/{total} | changesets {changesets} | ETA {etaText} | failed {failed} | skipped {skipped} | {rate}/s',
        barsize: 16,
        hideCursor: true,
      });
      this.bar.start(options.totalPushes, 0, barPayload(this.snapshot()));
    } else {
      this.timer = setInterval(
        () => log.info('progress', { ...this.snapshot() }),
        options.intervalMs ?? 5000,
      );
      this.timer.unref();
    }
  }

  /** One line per failed changeset (or job), e.g. `push 7 62a578a28fe9: <message>`. */
  get failures(): readonly string[] {
    return this.tally.failures.lines;
  }

  record(result: RecordedOutcome): void {
    this.tally.record(result);
    if (this.bar === undefined) return;
    const snapshot = this.snapshot();
    this.bar.update(snapshot.pushesDone, barPayload(snapshot));
  }

  /** Stops redrawing; call before printing anything else. */
  stop(): void {
    this.bar?.stop();
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  snapshot(): ProgressSnapshot {
    return this.tally.snapshot();
  }

  /** Failures grouped by reason, the most frequent first. */
  failureGroups(): FailureGroup[] {
    return this.tally.failures.groups();
  }

  summaryFields(): SummaryFields {
    return this.tally.summaryFields();
  }

  summary(): string {
    return summaryText(this.summaryFields());
  }

  /** The summary as text on a terminal; otherwise one `summary` log event. */
  printSummary(): void {
    const fields = this.summaryFields();
    tell('info', 'summary', { ...fields }, summaryText(fields), {
      tty: this.options.tty,
      out: this.out,
    });
  }
}
