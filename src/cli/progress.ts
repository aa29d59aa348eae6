import { SingleBar } from 'cli-progress';
import type { Writable } from 'node:stream';
import { log } from '../log.js';
import { maskUrlCredentials } from '../redact.js';

/**
 * The parts of a pipeline JobOutcome (src/pipeline/job.ts) that progress reads. Spelled out
 * here so that the rest of that type can change without touching this module.
 */
export interface RecordedOutcome {
  readonly job: { readonly label: string };
  readonly outcomes: readonly (
    | { readonly status: 'sent'; readonly reviewSystem: string }
    | { readonly status: 'skipped' }
    | { readonly status: 'failed'; readonly node?: string; readonly error: { message: string } }
  )[];
}

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

export interface FailureGroup {
  readonly reason: string;
  count: number;
  /** The first few jobs that failed this way, e.g. `push 7 62a578a28fe9`. */
  readonly examples: string[];
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

const EXAMPLES_PER_REASON = 3;

/**
 * What a failure message says once the parts that differ from one changeset to the next are
 * taken out, so that a thousand 404s read as one reason: changeset ids, UUIDs, long numbers
 * (push and bug ids), and query strings. Credentials go too, as anywhere text is printed.
 */
export const failureReason = (message: string): string =>
  maskUrlCredentials(message)
    .replace(/(\/\/[^\s"'<>()]*?)[?#][^\s"'<>()]*/g, '$1')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>')
    .replace(/\b[0-9a-f]{12,40}\b/gi, '<node>')
    .replace(/\b\d{5,}\b/g, '<n>');

/**
 * Pace over a sliding window of time rather than since the start (which lags behind a change
 * of pace) or over the last few updates (which jumps with every burst of results, as
 * cli-progress's own ETA did).
 */
export class PaceWindow {
  private readonly samples: { at: number; done: number }[] = [];

  constructor(
    start: number,
    private readonly windowMs = 60_000,
  ) {
    this.samples.push({ at: start, done: 0 });
  }

  add(at: number, done: number): void {
    this.samples.push({ at, done });
    // Keep one sample at or before the window's start, so the window is spanned in full.
    while (this.samples.length > 2 && this.samples[1]!.at <= at - this.windowMs) {
      this.samples.shift();
    }
  }

  /** Units a second up to `now`, so a stall slows it down; undefined before a second passed. */
  perSecond(now: number): number | undefined {
    const first = this.samples[0]!;
    const last = this.samples[this.samples.length - 1]!;
    const seconds = (now - first.at) / 1000;
    if (seconds < 1 || last.done === first.done) return undefined;
    return (last.done - first.done) / seconds;
  }
}

/** `42s`, `3m 05s`, `2h 07m`; `--` when unknown. */
export const formatDuration = (seconds: number | null): string => {
  if (seconds === null) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
};

/** Counts a backfill's outcomes and shows them as it goes, then as a summary. */
export class BackfillProgress {
  private readonly now: () => number;
  private readonly started: number;
  private readonly pace: PaceWindow;
  private pushes = 0;
  private changesets = 0;
  private skipped = 0;
  private readonly bySystem = new Map<string, number>();
  private readonly byReason = new Map<string, FailureGroup>();
  /** One line per failed changeset (or job), e.g. `push 7 62a578a28fe9: <message>`. */
  readonly failures: string[] = [];
  private readonly bar: SingleBar | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly out: Writable;

  constructor(private readonly options: ProgressOptions) {
    this.now = options.now ?? Date.now;
    this.started = this.now();
    this.pace = new PaceWindow(this.started);
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
      this.bar.start(options.totalPushes, 0, this.barPayload());
    } else {
      this.timer = setInterval(
        () => log.info('progress', { ...this.snapshot() }),
        options.intervalMs ?? 5000,
      );
      this.timer.unref();
    }
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
        this.recordFailure(result.job.label, outcome.node, outcome.error.message);
      }
    }
    this.pace.add(this.now(), this.pushes);
    this.bar?.update(this.pushes, this.barPayload());
  }

  /** Stops redrawing; call before printing anything else. */
  stop(): void {
    this.bar?.stop();
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  snapshot(): ProgressSnapshot {
    const total = this.options.totalPushes;
    const remaining = Math.max(0, total - this.pushes);
    const pace = this.pace.perSecond(this.now());
    return {
      pushesDone: this.pushes,
      pushesTotal: total,
      percent: total > 0 ? Math.floor((this.pushes / total) * 1000) / 10 : 100,
      changesets: this.changesets,
      rate: round1(this.rate()),
      skipped: this.skipped,
      failed: this.failures.length,
      etaSeconds: remaining === 0 ? 0 : pace === undefined ? null : Math.round(remaining / pace),
    };
  }

  /** Failures grouped by reason, the most frequent first. */
  failureGroups(): FailureGroup[] {
    return [...this.byReason.values()].sort(
      (a, b) => b.count - a.count || a.reason.localeCompare(b.reason),
    );
  }

  summaryFields(): SummaryFields {
    return {
      pushes: this.pushes,
      pushesTotal: this.options.totalPushes,
      changesets: this.changesets,
      seconds: round1(this.elapsedSeconds()),
      rate: round1(this.rate()),
      pings: Object.fromEntries(
        [...this.bySystem.entries()].sort(([a], [b]) => a.localeCompare(b)),
      ),
      skipped: this.skipped,
      failed: this.failures.length,
      failures: this.failureGroups(),
    };
  }

  /** The summary as a person reads it. */
  summary(): string {
    const s = this.summaryFields();
    const systems = Object.entries(s.pings).map(([system, count]) => `  ${system}: ${count}`);
    const failures = s.failures.flatMap((group) => [
      `  ${group.count} × ${group.reason}`,
      ...group.examples.map((example) => `      ${example}`),
      ...(group.count > group.examples.length
        ? [`      … and ${group.count - group.examples.length} more`]
        : []),
    ]);
    return [
      `${s.pushes} pushes, ${s.changesets} changesets in ${s.seconds.toFixed(1)} s (${s.rate.toFixed(1)} changesets/s)`,
      'pings by review system:',
      ...(systems.length > 0 ? systems : ['  (none)']),
      `already sent / skipped: ${s.skipped}`,
      `failures: ${s.failed}`,
      ...failures,
    ].join('\n');
  }

  /** The summary as text on a terminal; otherwise one `summary` log event. */
  printSummary(): void {
    if (this.options.tty) this.out.write(`${this.summary()}\n`);
    else log.info('summary', { ...this.summaryFields() });
  }

  private recordFailure(label: string, node: string | undefined, message: string): void {
    const where = node === undefined ? label : `${label} ${node}`;
    this.failures.push(`${where}: ${message}`);
    const reason = failureReason(message);
    const group = this.byReason.get(reason) ?? { reason, count: 0, examples: [] };
    group.count += 1;
    if (group.examples.length < EXAMPLES_PER_REASON) group.examples.push(where);
    this.byReason.set(reason, group);
  }

  private barPayload(): Record<string, unknown> {
    const snapshot = this.snapshot();
    return {
      changesets: snapshot.changesets,
      rate: snapshot.rate.toFixed(1),
      skipped: snapshot.skipped,
      failed: snapshot.failed,
      etaText: formatDuration(snapshot.etaSeconds),
    };
  }

  private elapsedSeconds(): number {
    return (this.now() - this.started) / 1000;
  }

  private rate(): number {
    const seconds = this.elapsedSeconds();
    return seconds > 0 ? this.changesets / seconds : 0;
  }
}

const round1 = (n: number): number => Math.round(n * 10) / 10;
