import { PipelineError } from '../../errors.js';
import { maskUrlCredentials } from '../../redact.js';

/**
 * The pages of one listing (a compare's commits, a commit's files), followed by their Link
 * headers. A page already read is refused, and so is a next page after an empty one: a Link
 * header that leads back (to its own page, round a cycle) or on over empty pages would
 * otherwise page for ever, yielding the same commits again or never settling a diffstat.
 * The caller ends the listing itself once it has all it counted.
 */
export class PageTrail {
  private readonly read = new Set<string>();

  /** `what`: the listing, as an error names it ("GitHub compare of ..."). */
  constructor(private readonly what: string) {}

  /**
   * The first page, or the one the last page's Link header named (`next`, undefined at the
   * end), given whether the last page held anything.
   */
  follow(next: string | undefined, held = true): string | undefined {
    if (next === undefined) return undefined;
    if (this.read.has(next) || !held) {
      throw new PipelineError(
        `${this.what}: after ${this.read.size} pages, GitHub's Link header named ${maskUrlCredentials(next)}, ${held ? 'a page already read' : 'after an empty page'}; tried again later`,
        'transient',
      );
    }
    this.read.add(next);
    return next;
  }
}
