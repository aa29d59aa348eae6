import { Observable } from 'rxjs';
import type { HgClient } from '../src/clients/hgmo.js';
import type { Job, JobOutcome } from '../src/pipeline/job.js';

export interface PushRange {
  readonly repository: string;
  /** Exclusive, as the pushlog's `startID`. */
  readonly start: number;
  /** Inclusive, as the pushlog's `endID`. */
  readonly end: number;
}

export interface PushlogOptions {
  /** Pushes per json-pushes request. */
  readonly pageSize: number;
  /** Pushes handed out and not yet settled before the next page is requested. */
  readonly maxInFlight?: number;
  readonly onSettle?: (result: JobOutcome) => void;
}

/**
 * Backfill's source: the pushes of a range, read page by page from json-pushes, every request
 * bounded by both `startID` and `endID`. The next page is requested only when fewer than
 * `maxInFlight` pushes are still being processed, so memory stays flat for a range of any
 * size. It ends at the end of the range, at the repository's `lastpushid`, or on `stop()`.
 */
export class PushlogSource {
  /** Why paging stopped early, if a page could not be read. */
  failure: unknown = undefined;
  private stopRequested = false;
  private wake: () => void = () => {};

  constructor(
    private readonly hg: HgClient,
    private readonly range: PushRange,
    private readonly options: PushlogOptions,
  ) {}

  /** Stops asking for pages; pushes already handed out are still processed. */
  stop(): void {
    this.stopRequested = true;
    this.wake();
  }

  readonly jobs: Observable<Job> = new Observable<Job>((subscriber) => {
    const { repository, end } = this.range;
    const { pageSize } = this.options;
    const maxInFlight = this.options.maxInFlight ?? pageSize * 2;
    let cursor = this.range.start;
    let inFlight = 0;
    let fetching = false;
    let closed = false;

    const finish = () => {
      closed = true;
      subscriber.complete();
    };
    const settle = (result: JobOutcome) => {
      inFlight -= 1;
      this.options.onSettle?.(result);
      pump();
    };
    const pump = (): void => {
      if (closed || fetching) return;
      if (this.stopRequested) return finish();
      // Room for a whole page, or nothing in flight at all (a limit below one page).
      if (inFlight > 0 && inFlight + pageSize > maxInFlight) return;
      fetching = true;
      const pageEnd = Math.min(cursor + pageSize, end);
      this.hg.pushlogPage(repository, cursor, pageEnd).then(
        (page) => {
          fetching = false;
          if (closed) return;
          // Asked to stop while this page was on its way: hand none of it out.
          if (this.stopRequested) return finish();
          const ids = Object.keys(page.pushes)
            .map(Number)
            .filter((id) => id > cursor && id <= pageEnd)
            .sort((a, b) => a - b);
          cursor = pageEnd;
          for (const pushId of ids) {
            inFlight += 1;
            subscriber.next({
              label: `push ${pushId}`,
              input: {
                kind: 'push',
                repository,
                pushId,
                nodes: page.pushes[String(pushId)]!.changesets,
              },
              receivedAt: Date.now(),
              settle,
            });
          }
          if (cursor >= end || cursor >= page.lastpushid) return finish();
          pump();
        },
        (error: unknown) => {
          fetching = false;
          this.failure = error;
          finish();
        },
      );
    };
    this.wake = pump;
    pump();
    return () => {
      closed = true;
    };
  });
}
