import { SingleBar } from 'cli-progress';
import type { Writable } from 'node:stream';
import { log } from '../../../log.js';
import { BackfillTally, type RecordedOutcome } from './tally.js';
import {
  barPayload,
  namedInUnit,
  summaryText,
  type CountUnit,
  type ProgressSnapshot,
  type SummaryFields,
} from './progressText.js';
import type { OutageNotes } from '../outages.js';
import { tell } from '../tell.js';

export { summaryText };

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
  /** A host the run waits for while it is down: said with the progress and in the summary. */
  readonly outages?: OutageNotes;
  /** What the run counts its jobs in, as a person reads it: `pushes` (default) or `commits`. */
  readonly unit?: CountUnit;
}

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
        format: `${options.unit ?? 'pushes'} {bar} {percentage}% {value}/{total} | changesets {changesets} | ETA {etaText} | failed {failed} | skipped {skipped} | {rate}/s{waiting}`,
        barsize: 16,
        hideCursor: true,
      });
      this.bar.start(options.totalPushes, 0, barPayload(this.snapshot(), options.outages));
    } else {
      this.timer = setInterval(() => this.show(), options.intervalMs ?? 5000);
      this.timer.unref();
    }
    // At once too when a host goes down or comes back.
    options.outages?.onChange(() => this.show());
  }

  /** One line per failed changeset (or job), e.g. `push 7 62a578a28fe9: <message>`. */
  get failures(): readonly string[] {
    return this.tally.failures.lines;
  }

  record(result: RecordedOutcome): void {
    this.tally.record(result);
    this.redraw();
  }

  /** Counts on `total` jobs from now on, where more landed since the plan; never fewer. */
  raiseTotal(total: number): void {
    if (this.tally.raiseTotal(total)) this.bar?.setTotal(total);
  }

  /** Shows where the run stands now: the bar redrawn on a terminal, else one progress event. */
  show(): void {
    if (this.bar !== undefined) return this.redraw();
    const { unit, outages } = this.options;
    log.info('progress', { ...namedInUnit(this.snapshot(), unit), ...outages?.progressFields() });
  }

  /** Redraws the bar, if there is one: after each outcome. */
  private redraw(): void {
    const snapshot = this.snapshot();
    this.bar?.update(snapshot.pushesDone, barPayload(snapshot, this.options.outages));
  }

  /** Stops redrawing; call before printing anything else. */
  stop(): void {
    this.bar?.stop();
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  snapshot(): ProgressSnapshot {
    return this.tally.snapshot();
  }

  summaryFields(): SummaryFields {
    return this.tally.summaryFields();
  }

  summary(): string {
    return summaryText(this.summaryFields(), this.options.unit);
  }

  /** The summary as text on a terminal; otherwise one `summary` log event. */
  printSummary(): void {
    const { outages } = this.options;
    const fields = { ...this.summaryFields(), ...outages?.summaryFields() };
    const text = [summaryText(fields, this.options.unit), ...(outages?.summaryLines() ?? [])].join(
      '\n',
    );
    tell('info', 'summary', namedInUnit(fields, this.options.unit), text, {
      tty: this.options.tty,
      out: this.out,
    });
  }
}
