import { PaceWindow } from './eta.js';
import { Failures } from './failures.js';
import { byText } from '../../../order.js';
import type { ProgressSnapshot, SummaryFields } from './progressText.js';

/**
 * The parts of a pipeline JobOutcome (src/pipeline/job.ts) that progress reads. Spelled out
 * here so that the rest of that type can change without touching this module.
 */
export interface RecordedOutcome {
  readonly job: { readonly label: string };
  readonly outcomes: readonly (
    | { readonly status: 'sent'; readonly reviewSystem: string }
    | { readonly status: 'skipped' }
    | { readonly status: 'held'; readonly node: string }
    | { readonly status: 'failed'; readonly node?: string; readonly error: { message: string } }
  )[];
}

/** What a backfill's outcomes add up to so far, and how fast they come. */
export class BackfillTally {
  private pushes = 0;
  /** Sent and failed; a skipped changeset had nothing done to it. */
  private changesets = 0;
  private skipped = 0;
  private readonly bySystem = new Map<string, number>();
  readonly failures = new Failures();
  private readonly started: number;
  private readonly pace: PaceWindow;

  constructor(
    private totalPushes: number,
    private readonly now: () => number,
  ) {
    this.started = now();
    this.pace = new PaceWindow(this.started);
  }

  /** The run has at least `total` jobs (pushes that landed during it): whether that is more. */
  raiseTotal(total: number): boolean {
    if (total <= this.totalPushes) return false;
    this.totalPushes = total;
    return true;
  }

  record(result: RecordedOutcome): void {
    this.pushes += 1;
    for (const outcome of result.outcomes) {
      if (outcome.status === 'sent') {
        this.changesets += 1;
        this.bySystem.set(outcome.reviewSystem, (this.bySystem.get(outcome.reviewSystem) ?? 0) + 1);
      } else if (outcome.status === 'skipped') {
        this.skipped += 1;
      } else {
        this.changesets += 1;
        const why = outcome.status === 'held' ? 'held by another process' : outcome.error.message;
        this.failures.add(result.job.label, outcome.node, why);
      }
    }
    this.pace.add(this.now(), this.pushes);
  }

  snapshot(): ProgressSnapshot {
    const total = this.totalPushes;
    return {
      pushesDone: this.pushes,
      pushesTotal: total,
      percent: total > 0 ? Math.floor((this.pushes / total) * 1000) / 10 : 100,
      changesets: this.changesets,
      rate: round1(this.rate()),
      skipped: this.skipped,
      failed: this.failures.lines.length,
      etaSeconds: this.pace.etaSeconds(this.now(), total - this.pushes),
    };
  }

  summaryFields(): SummaryFields {
    return {
      pushes: this.pushes,
      pushesTotal: this.totalPushes,
      changesets: this.changesets,
      seconds: round1(this.elapsedSeconds()),
      rate: round1(this.rate()),
      // In name order, so that two runs' summaries compare line by line.
      pings: Object.fromEntries([...this.bySystem].sort(([a], [b]) => byText(a, b))),
      skipped: this.skipped,
      failed: this.failures.lines.length,
      failures: this.failures.groups(),
    };
  }

  private readonly elapsedSeconds = (): number => (this.now() - this.started) / 1000;

  private rate(): number {
    const seconds = this.elapsedSeconds();
    return seconds > 0 ? this.changesets / seconds : 0;
  }
}

const round1 = (n: number): number => Math.round(n * 10) / 10;
