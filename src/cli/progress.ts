import { SingleBar } from 'cli-progress';
import type { Writable } from 'node:stream';
import type { JobOutcome } from '../pipeline/job.js';

export interface ProgressOptions {
  readonly totalPushes: number;
  /** A redrawn bar on a terminal; otherwise a plain line every `intervalMs`. */
  readonly tty: boolean;
  readonly out?: Writable;
  readonly intervalMs?: number;
}

/** Counts a backfill's outcomes and shows them as it goes, then as a summary. */
export class BackfillProgress {
  private readonly started = Date.now();
  private pushes = 0;
  private changesets = 0;
  private readonly bySystem = new Map<string, number>();
  readonly failures: string[] = [];
  private readonly bar: SingleBar | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly out: Writable;

  constructor(private readonly options: ProgressOptions) {
    this.out = options.out ?? process.stderr;
    if (options.tty) {
      this.bar = new SingleBar({
        stream: this.out,
        format:
          'pushes {bar} {value}/{total} | changesets {changesets} | {rate}/s | failed {failed} | ETA {eta_formatted}',
        hideCursor: true,
      });
      this.bar.start(options.totalPushes, 0, { changesets: 0, rate: '0.0', failed: 0 });
    } else {
      this.timer = setInterval(
        () => this.out.write(`${this.line()}\n`),
        options.intervalMs ?? 5000,
      );
      this.timer.unref();
    }
  }

  record(result: JobOutcome): void {
    this.pushes += 1;
    for (const outcome of result.outcomes) {
      if (outcome.status === 'sent') {
        this.changesets += 1;
        this.bySystem.set(outcome.reviewSystem, (this.bySystem.get(outcome.reviewSystem) ?? 0) + 1);
      } else if (outcome.status === 'failed') {
        this.changesets += 1;
        const where = outcome.node ?? result.job.label;
        this.failures.push(`${result.job.label} ${where}: ${outcome.error.message}`);
      }
    }
    this.bar?.update(this.pushes, {
      changesets: this.changesets,
      rate: this.rate().toFixed(1),
      failed: this.failures.length,
    });
  }

  /** Stops redrawing; call before printing anything else. */
  stop(): void {
    this.bar?.stop();
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  summary(): string {
    const seconds = (Date.now() - this.started) / 1000;
    const systems = [...this.bySystem.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([system, count]) => `  ${system}: ${count}`);
    const lines = [
      `${this.pushes} pushes, ${this.changesets} changesets in ${seconds.toFixed(1)} s (${this.rate().toFixed(1)} changesets/s)`,
      'pings by review system:',
      ...(systems.length > 0 ? systems : ['  (none)']),
      `failures: ${this.failures.length}`,
      ...this.failures.map((failure) => `  ${failure}`),
    ];
    return lines.join('\n');
  }

  private line(): string {
    return `progress: ${this.pushes}/${this.options.totalPushes} pushes, ${this.changesets} changesets, ${this.rate().toFixed(1)} changesets/s, ${this.failures.length} failed`;
  }

  private rate(): number {
    const seconds = (Date.now() - this.started) / 1000;
    return seconds > 0 ? this.changesets / seconds : 0;
  }
}
