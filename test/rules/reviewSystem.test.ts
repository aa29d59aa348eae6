import test from 'ava';
import type { Attachment, HistoryEntry } from '../../src/codecs/bugzilla.js';
import type { ReviewSystem } from '../../src/codecs/ping.js';
import {
  needsDiffstat,
  reviewSystemFromBug,
  reviewSystemFromChangeset,
  type BugRecord,
  type ChangesetFacts,
  type FirstVerdict,
} from '../../src/rules/reviewSystem.js';

const PARENT = '3659a2ff799f0a531283d22d112b08eb23a9ced7';
const OTHER_PARENT = '62a578a28fe94efb7f03138bbfaa458d1c31314e';
const AUTHOR = 'Jane Doe <jane@example.com>';
const WPT_BOT = 'moz-wptsync-bot <wptsync@mozilla.com>';

const changeset = (desc: string, more: Partial<ChangesetFacts> = {}): ChangesetFacts => ({
  desc,
  user: AUTHOR,
  parents: [PARENT],
  ...more,
});
const merge = (desc: string): ChangesetFacts =>
  changeset(desc, { parents: [PARENT, OTHER_PARENT] });

const system = (s: ReviewSystem): FirstVerdict => ({ system: s });
const bug = (n: number): FirstVerdict => ({ bug: n });

/** [title, changeset, expected verdict], grouped by the rule of DESIGN.md that decides. */
const changesetCases: readonly (readonly [string, ChangesetFacts, FirstVerdict])[] = [
  // 1. Backouts.
  [
    'rule 1: "Backed out changeset"',
    changeset('Backed out changeset 0123456789ab (bug 1466024) for failures'),
    system('review_unneeded'),
  ],
  ['rule 1: "Back out"', changeset('Back out 2 changesets (bug 1)'), system('review_unneeded')],
  ['rule 1: "backing out", lower case', changeset('backing out bug 1'), system('review_unneeded')],
  ['rule 1: "BACKED OUT", upper case', changeset('BACKED OUT bug 1'), system('review_unneeded')],
  [
    'rule 1 beats rule 5: backout with a=',
    changeset('Backed out changeset 0123456789ab (bug 1) a=backout'),
    system('review_unneeded'),
  ],
  [
    'rule 1 beats rule 2: backout with the ignore marker',
    changeset('Backed out changeset 0123456789ab\n\n# ignore-this-changeset'),
    system('review_unneeded'),
  ],
  [
    'rule 1 beats rule 3: a backout that is a merge',
    merge('Backed out changeset 0123456789ab'),
    system('review_unneeded'),
  ],
  ['rule 1 needs the prefix at the start', changeset('Bug 1 - Backed out stuff'), bug(1)],
  ['rule 1 looks at the summary only', changeset('Bug 1 - fix\n\nBacked out x'), bug(1)],
  ['rule 1: "Backout" is not one of the prefixes', changeset('Backout bug 12 - x'), bug(12)],

  // 2. The ignore marker, anywhere in the description.
  [
    'rule 2: marker in the summary',
    changeset('Bug 1 - reformat # ignore-this-changeset'),
    system('not_applicable'),
  ],
  [
    'rule 2: marker on a later line',
    changeset('Bug 1 - reformat, r=foo\n\nlong body\n# ignore-this-changeset\n'),
    system('not_applicable'),
  ],
  [
    'rule 2 beats rule 4: marker with "no bug"',
    changeset('No bug - reformat\n# ignore-this-changeset'),
    system('not_applicable'),
  ],
  [
    'rule 2 beats rule 5: marker with a=',
    changeset('Bug 1 - reformat a=me\n# ignore-this-changeset'),
    system('not_applicable'),
  ],

  // 3. Merges.
  [
    'rule 3: a merge',
    merge('Merge mozilla-central to autoland. a=merge'),
    system('not_applicable'),
  ],
  ['rule 3 beats rule 4: a merge saying no bug', merge('No bug - merge'), system('not_applicable')],
  ['rule 3 beats rule 7: a merge naming a bug', merge('Bug 5 - merge'), system('not_applicable')],
  [
    'rule 3: one parent is not a merge',
    changeset('Merge mozilla-central to autoland. a=merge'),
    system('review_unneeded'),
  ],
  ['rule 3: a root changeset is not a merge', changeset('Bug 5 - x', { parents: [] }), bug(5)],

  // 4. No bug, as words, any case.
  ['rule 4: "No bug -"', changeset('No bug - fix a typo'), system('no_bug')],
  ['rule 4: "NO BUG" upper case', changeset('NO BUG: typo'), system('no_bug')],
  ['rule 4: at the end', changeset('Fix a typo, no bug'), system('no_bug')],
  ['rule 4: in brackets', changeset('Fix a typo (no bug)'), system('no_bug')],
  ['rule 4 beats rule 5: "no bug" with a=', changeset('No bug - typo, a=me'), system('no_bug')],
  [
    'rule 4 beats rule 7: "no bug" with a bug number',
    changeset('Bug 1 - no bug'),
    system('no_bug'),
  ],
  ['rule 4: "nobug" is not the words', changeset('nobug 12345 typo'), bug(12345)],
  ['rule 4: "no bugs" is not the words', changeset('Bug 8 - no bugs left'), bug(8)],
  ['rule 4: "piano bug" is not the words', changeset('Bug 8 - piano bug'), bug(8)],
  ['rule 4: "no bug" only in the body', changeset('Fix typo\n\nno bug'), system('unknown')],

  // 5. Approval flags in the summary.
  ['rule 5: a=release', changeset('Bug 1 - fix crash r=foo a=release'), system('review_unneeded')],
  ['rule 5: a= after a comma', changeset('Bug 1 - fix r=foo,a=bar'), system('review_unneeded')],
  ['rule 5: a= in parentheses', changeset('Bug 1 - fix (a=bar)'), system('review_unneeded')],
  ['rule 5: a= at the start', changeset('a=me fix'), system('review_unneeded')],
  ['rule 5: "data=foo" has no word boundary before a', changeset('Bug 1 - data=foo'), bug(1)],
  ['rule 5: "ra=foo" has no word boundary before a', changeset('Bug 1 - ra=foo'), bug(1)],
  ['rule 5: "a=" followed by nothing', changeset('Bug 1 - a='), bug(1)],
  ['rule 5: "a= x" followed by a space', changeset('Bug 1 - a= x'), bug(1)],
  ['rule 5 looks at the summary only', changeset('Bug 1 - fix\n\na=release'), bug(1)],

  // 6. Web-platform-tests sync.
  [
    'rule 6: wpt summary with a=testonly',
    changeset('Bug 1458766 [wpt PR 10812] - Update the test, a=testonly'),
    system('review_unneeded'),
  ],
  [
    'rule 6: wpt summary, a=testonly without a word boundary',
    changeset('Bug 1458766 [wpt PR 10812] - Update,xa=testonly'),
    system('review_unneeded'),
  ],
  [
    'rule 6: the wpt sync bot as author',
    changeset('Bug 1458766 [wpt PR 10812] - Update the test', { user: WPT_BOT }),
    system('review_unneeded'),
  ],
  [
    'rule 6: the wpt sync bot, any summary',
    changeset('Bug 1 - Update wpt metadata', { user: WPT_BOT }),
    system('review_unneeded'),
  ],
  [
    'rule 6: wpt summary without a=testonly, human author',
    changeset('Bug 1458766 [wpt PR 10812] - Update the test'),
    bug(1458766),
  ],
  [
    'rule 6: the author must match exactly (case)',
    changeset('Bug 3 - x', { user: 'Moz-wptsync-bot <wptsync@mozilla.com>' }),
    bug(3),
  ],
  [
    'rule 6: the author must match exactly (trailing space)',
    changeset('Bug 3 - x', { user: `${WPT_BOT} ` }),
    bug(3),
  ],

  // 7. The first bug number of the summary.
  ['rule 7: a bug number', changeset('Bug 1463962 - summary line, r=jamie\n\nbody'), bug(1463962)],
  ['rule 7: the first bug number', changeset('Bug 2 - x (bug 3)'), bug(2)],
  ['rule 7: no bug number → unknown', changeset('Fix a typo, r=foo'), system('unknown')],
  [
    'rule 7: a bug number only in the body → unknown',
    changeset('Fix a typo\n\nBug 12345'),
    system('unknown'),
  ],
  ['rule 7: empty description → unknown', changeset(''), system('unknown')],
];

for (const [title, facts, expected] of changesetCases) {
  test(`reviewSystemFromChangeset: ${title}`, (t) => {
    t.deepEqual(reviewSystemFromChangeset(facts), expected);
  });
}

const PHABRICATOR = 'text/x-phabricator-request';
const GITHUB = 'text/x-github-request';
const MOZREVIEW = 'text/x-review-board-request';

const attachment = (content_type: string, is_patch: 0 | 1 = 0, is_obsolete: 0 | 1 = 0) =>
  ({ content_type, is_patch, is_obsolete }) as Attachment;
const patch = (is_obsolete: 0 | 1 = 0) => attachment('text/plain', 1, is_obsolete);
const flagChange = (added: string, field_name = 'flagtypes.name'): HistoryEntry => ({
  when: '2018-06-01T17:02:36Z',
  who: 'reviewer@example.com',
  changes: [{ field_name, added, removed: '' }],
});
const record = (attachments: Attachment[], history: HistoryEntry[] = []): BugRecord => ({
  attachments,
  history,
});
const REVIEW_GRANTED = [flagChange('review+')];

/** [title, what Bugzilla answered, expected review system] */
const bugCases: readonly (readonly [string, BugRecord, ReviewSystem])[] = [
  ['rule 8: no readable bug (401, 404, error)', null, 'no_bug'],
  ['rule 12: no attachments', record([]), 'unknown'],
  ['rule 10: a Phabricator request', record([attachment(PHABRICATOR)]), 'phabricator'],
  [
    'rule 10: Phabricator among other attachments',
    record([attachment('image/png'), attachment(PHABRICATOR)]),
    'phabricator',
  ],
  [
    'rule 10 beats rule 11: Phabricator and a reviewed patch',
    record([patch(), attachment(PHABRICATOR)], REVIEW_GRANTED),
    'phabricator',
  ],
  [
    'rule 9: an obsolete Phabricator request is ignored',
    record([attachment(PHABRICATOR, 0, 1)]),
    'unknown',
  ],
  [
    'rule 9: obsolete Phabricator request, live reviewed patch',
    record([attachment(PHABRICATOR, 0, 1), patch()], REVIEW_GRANTED),
    'bmo',
  ],
  ['rule 11: a patch with review+', record([patch()], REVIEW_GRANTED), 'bmo'],
  [
    'rule 11: review+ among flags, spaces trimmed',
    record([patch()], [flagChange('feedback+, review+')]),
    'bmo',
  ],
  [
    'rule 11: review+ among flags, no spaces',
    record([patch()], [flagChange('feedback+,review+')]),
    'bmo',
  ],
  ['rule 11: review+ with surrounding spaces', record([patch()], [flagChange(' review+ ')]), 'bmo'],
  [
    'rule 11: review+ in a later history entry',
    record([patch()], [flagChange('review?(x)'), flagChange('review+')]),
    'bmo',
  ],
  [
    'rule 11: review+ in a later change of one entry',
    record(
      [patch()],
      [
        {
          when: '2018-06-01T17:02:36Z',
          who: 'r@example.com',
          changes: [
            { field_name: 'status', added: 'RESOLVED', removed: 'NEW' },
            { field_name: 'flagtypes.name', added: 'review+', removed: 'review?(r)' },
          ],
        },
      ],
    ),
    'bmo',
  ],
  ['rule 12: a patch without any history', record([patch()]), 'unknown'],
  ['rule 12: a patch with review? only', record([patch()], [flagChange('review?(x)')]), 'unknown'],
  ['rule 12: a patch with review-', record([patch()], [flagChange('review-')]), 'unknown'],
  [
    'rule 12: superreview+ is not review+',
    record([patch()], [flagChange('superreview+')]),
    'unknown',
  ],
  [
    'rule 12: review+ only removed, not added',
    record(
      [patch()],
      [
        {
          when: 'w',
          who: 'x',
          changes: [{ field_name: 'flagtypes.name', added: '', removed: 'review+' }],
        },
      ],
    ),
    'unknown',
  ],
  [
    'rule 12: review+ only in a field other than flagtypes.name',
    record([patch()], [flagChange('review+', 'cf_status_firefox62')]),
    'unknown',
  ],
  ['rule 9: an obsolete reviewed patch is ignored', record([patch(1)], REVIEW_GRANTED), 'unknown'],
  [
    'rule 9: a MozReview request is ignored',
    record([attachment(MOZREVIEW)], REVIEW_GRANTED),
    'unknown',
  ],
  [
    'rule 12: a GitHub request is a review attachment but neither phabricator nor bmo',
    record([attachment(GITHUB)], REVIEW_GRANTED),
    'unknown',
  ],
  [
    'rule 11: a GitHub request beside a reviewed patch',
    record([attachment(GITHUB), patch()], REVIEW_GRANTED),
    'bmo',
  ],
  [
    'rule 12: an attachment that is no patch nor request',
    record([attachment('text/plain')], REVIEW_GRANTED),
    'unknown',
  ],
];

for (const [title, answer, expected] of bugCases) {
  test(`reviewSystemFromBug: ${title}`, (t) => {
    t.is(reviewSystemFromBug(answer), expected);
  });
}

const diffstatCases: readonly (readonly [ReviewSystem, boolean])[] = [
  ['phabricator', true],
  ['bmo', true],
  ['mozreview', false],
  ['no_bug', false],
  ['review_unneeded', false],
  ['unknown', false],
  ['not_applicable', false],
];

for (const [reviewSystem, expected] of diffstatCases) {
  test(`needsDiffstat(${reviewSystem}) is ${expected}`, (t) => {
    t.is(needsDiffstat(reviewSystem), expected);
  });
}
