import type { HgClient } from '../src/clients/hgmo.js';
import type { PushlogPage } from '../src/codecs/pushlog.js';
import { PipelineError } from '../src/errors.js';
import type { Job } from '../src/pipeline/job.js';

export interface PushRange {
  readonly repository: string;
  /** Exclusive, as the pushlog's `startID`. */
  readonly start: number;
  /** Inclusive, as the pushlog's `endID`. */
  readonly end: number;
}

/**
 * Backfill's source: the pushes of a range, read page by page from json-pushes, every request
 * bounded by both `startID` and `endID`. Pushes are handed out only as the pipeline asks for
 * them, with one page read ahead, so memory stays flat for a range of any size. It ends at
 * the end of the range, at the repository's `lastpushid`, on a page that cannot be read
 * (`failure` says why), or at once on `stop()`.
 */
export class PushlogSource {
  /** Why paging stopped early, if a page could not be read. */
  failure: unknown = undefined;
  /** The repository's newest push, the highest a page read so far named. */
  lastPushId: number | undefined = undefined;
  private stopped = false;
  private first: Promise<PushlogPage> | undefined;

  constructor(
    private readonly hg: Pick<HgClient, 'pushlogPage'>,
    private readonly range: PushRange,
    private readonly pageSize: number,
  ) {}

  /** Hands out no more pushes; those already handed out are still processed. */
  stop(): void {
    this.stopped = true;
  }

  /**
   * The range's first page, asked for on the first call only (a source is read once): a
   * backfill's plan reads the repository's newest push from it, and jobs() begins with it.
   */
  firstPage(): Promise<PushlogPage> {
    if (this.first === undefined) {
      this.first = this.page(this.range.start);
      // Whoever awaits it sees its failure; until then, it is no unhandled rejection.
      this.first.catch(() => undefined);
    }
    return this.first;
  }

  async *jobs(): AsyncGenerator<Job> {
    const { repository, end } = this.range;
    let cursor = this.range.start;
    // Stopped before the first push was asked for: nothing (more) is fetched.
    if (this.stopped) return;
    let next: Promise<PushlogPage> | undefined = this.firstPage();
    while (!this.stopped && next !== undefined) {
      let page: PushlogPage;
      const pageStart = cursor;
      try {
        page = await next;
      } catch (error) {
        this.failure = error;
        return;
      }
      // Stopped while the page was on its way: no read-ahead is asked for after a stop.
      if (this.stopped) return;
      cursor = Math.min(pageStart + this.pageSize, end);
      const newest = Math.max(this.lastPushId ?? page.lastpushid, page.lastpushid);
      if (page.lastpushid < Math.min(cursor, newest)) {
        // A mirror behind the one that answered before (they copy pushes to one another with
        // a lag), whose page lacks pushes an earlier page said exist: they were not read, and
        // the run must not end as if they had been. A mirror behind whose page is whole is fine.
        this.failure = new PipelineError(
          `the pushlog of ${repository} named ${page.lastpushid} as its newest push after ${newest} (a mirror behind another): stopped after push ${pageStart}`,
          'transient',
        );
        return;
      }
      this.lastPushId = newest;
      next = cursor < end && cursor < newest ? this.page(cursor) : undefined;
      // A read-ahead that fails while this page is handed out is reported when it is reached.
      next?.catch(() => undefined);
      const ids = Object.keys(page.pushes)
        .map(Number)
        .filter((id) => id > pageStart && id <= cursor)
        .sort((a, b) => a - b);
      for (const pushId of ids) {
        if (this.stopped) return;
        const nodes = page.pushes[String(pushId)]!.changesets;
        yield {
          label: `push ${pushId}`,
          target: { kind: 'push', repository, pushId, nodes },
          receivedAt: Date.now(),
        };
      }
    }
  }

  private page(from: number): Promise<PushlogPage> {
    const to = Math.min(from + this.pageSize, this.range.end);
    return this.hg.pushlogPage(this.range.repository, from, to);
  }
}
