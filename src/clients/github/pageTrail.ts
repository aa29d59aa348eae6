import { PipelineError } from '../../errors.js';
import { maskUrlCredentials } from '../../redact.js';

/**
 * The pages of one listing (a compare's commits, a commit's files), followed by their Link
 * headers. A page already read is refused, and so is going on after a page that brought
 * nothing new (empty, or past what the listing can hold): a Link header that leads back (to
 * its own page, round a cycle) or on and on would otherwise page for ever, yielding the same
 * commits again or never settling a diffstat.
 */
export class PageTrail {
  private readonly read = new Set<string>();

  /** `what`: the listing, as an error names it ("GitHub compare of ..."). */
  constructor(private readonly what: string) {}

  /**
   * The first page, or the one the last page's Link header named (`next`, undefined at the
   * end), given whether the last page brought what a listing that goes on should.
   */
  follow(next: string | undefined, progressed = true): string | undefined {
    if (next === undefined) return undefined;
    if (this.read.has(next) || !progressed) {
      throw new PipelineError(
        `${this.what}: after ${this.read.size} pages, GitHub's Link header named ${maskUrlCredentials(next)}, ${progressed ? 'a page already read' : 'past a page that brought nothing more'}; tried again later`,
        'transient',
      );
    }
    this.read.add(next);
    return next;
  }
}
