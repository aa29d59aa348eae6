import type { Attachment, BugRecord, HistoryEntry } from '../codecs/bugzilla.js';
import type { ReviewSystem } from '../codecs/ping.js';
import { parseBugNumber } from './bugNumber.js';

/** What a changeset alone decides: a review system, or the bug Bugzilla must be asked about. */
export type ChangesetVerdict = { system: ReviewSystem } | { bug: number };

export type { BugRecord };

export interface ChangesetFacts {
  readonly desc: string;
  readonly user: string;
  readonly parents: readonly string[];
}

// `Backed out changeset 0123456789ab (bug 1) for failures`, `Back out 2 changesets`
const BACKOUT = /^(?:back out|backed out|backing out) /i;
// `Bug 1 - something. no bug`, `No Bug - typo fix`
const NO_BUG = /\bno bug\b/i;
// `Bug 1 - fix crash r=foo a=release`, `Bug 1 - Fix the widget, r=foo A=release`
const APPROVAL = /\ba=\w/i;
// Rule 5 also catches `Bug 1458766 [wpt PR 10812] - Update the test, a=testonly`: no regex for it.
const WPT_SYNC_BOT = 'moz-wptsync-bot <wptsync@mozilla.com>';
const IGNORE_MARKER = '# ignore-this-changeset';

const PHABRICATOR_REQUEST = 'text/x-phabricator-request';
const GITHUB_REQUEST = 'text/x-github-request';

/**
 * Everything that can be decided without Bugzilla, from the description (its summary is the
 * first line), the author and the parents. The first rule that applies wins:
 *   1. the summary starts `back out `, `backed out `, `backing out ` (any case): review_unneeded
 *   2. the whole description contains `# ignore-this-changeset`: not_applicable
 *   3. more than one parent (a merge): not_applicable
 *   4. the summary contains the words `no bug` (any case): no_bug
 *   5. the summary has an approval flag `a=<word>` (any case, `a` starts a word): review_unneeded
 *   6. the author is exactly `moz-wptsync-bot <wptsync@mozilla.com>`: review_unneeded
 *   7. the summary's first bug number ({@link parseBugNumber}) is asked about; none: unknown
 */
export const reviewSystemFromChangeset = (changeset: ChangesetFacts): ChangesetVerdict => {
  const summary = changeset.desc.split('\n', 1)[0] ?? '';
  if (BACKOUT.test(summary)) return { system: 'review_unneeded' };
  if (changeset.desc.includes(IGNORE_MARKER)) return { system: 'not_applicable' };
  if (changeset.parents.length > 1) return { system: 'not_applicable' };
  if (NO_BUG.test(summary)) return { system: 'no_bug' };
  if (APPROVAL.test(summary)) return { system: 'review_unneeded' };
  if (changeset.user === WPT_SYNC_BOT) return { system: 'review_unneeded' };
  const bug = parseBugNumber(summary);
  return bug === undefined ? { system: 'unknown' } : { bug };
};

const isReviewAttachment = (a: Attachment): boolean =>
  a.is_obsolete === 0 &&
  (a.content_type === PHABRICATOR_REQUEST || a.content_type === GITHUB_REQUEST || a.is_patch === 1);

const hasReviewGranted = (history: readonly HistoryEntry[]): boolean =>
  history.some((entry) =>
    entry.changes.some(
      (change) =>
        change.field_name === 'flagtypes.name' &&
        change.added.split(',').some((flag) => flag.trim() === 'review+'),
    ),
  );

/**
 * The rest, over what Bugzilla answered for the bug of rule 7. The first rule that applies wins:
 *   8. no bug we may read (401, 404, error): no_bug
 *   9. only live review attachments count: not obsolete, and a Phabricator or GitHub request
 *      or a patch (so MozReview requests are ignored)
 *  10. a Phabricator request among them: phabricator
 *  11. a patch among them, and `review+` granted in the bug's history: bmo
 *  12. otherwise: unknown
 */
export const reviewSystemFromBug = (bug: BugRecord): ReviewSystem => {
  if (bug === null) return 'no_bug';
  const reviews = bug.attachments.filter(isReviewAttachment);
  if (reviews.some((a) => a.content_type === PHABRICATOR_REQUEST)) return 'phabricator';
  if (reviews.some((a) => a.is_patch === 1) && hasReviewGranted(bug.history)) return 'bmo';
  return 'unknown';
};

/** The review systems for which a diffstat is worth computing. */
export const needsDiffstat = (system: ReviewSystem): boolean =>
  system === 'phabricator' || system === 'bmo';
