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

  /** Seconds until `remaining` more are done at the recent pace; null while it is unknown. */
  etaSeconds(now: number, remaining: number): number | null {
    if (remaining <= 0) return 0;
    const pace = this.perSecond(now);
    return pace === undefined ? null : Math.round(remaining / pace);
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
