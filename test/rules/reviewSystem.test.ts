import test from 'ava';
import type { Attachment, HistoryEntry } from '../../src/codecs/bugzilla.js';
import type { ReviewSystem } from '../../src/codecs/ping.js';
import {
  needsDiffstat,
  reviewSystemFromBug,
  reviewSystemFromChangeset,
  type BugRecord,
  type ChangesetFacts,
  type ChangesetVerdict,
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

const system = (s: ReviewSystem): ChangesetVerdict => ({ system: s });
const bug = (n: number): ChangesetVerdict => ({ bug: n });

/**
 * Whether a case shows its rule deciding (`hit`), or an input that looks like it but that the
 * rule lets through (`near miss`).
 */
type Kind = 'hit' | 'near miss';

/**
 * [rule, kind, title, changeset, expected verdict] for rules 1 to 7, decided without Bugzilla.
 * The first rule that applies wins; "rule N beats rule M" cases satisfy both.
 */
type ChangesetCase = readonly [number, Kind, string, ChangesetFacts, ChangesetVerdict];
const changesetCases: readonly ChangesetCase[] = [
  // 1. The summary starts with back out / backed out / backing out, any case.
  [
    1,
    'hit',
    '"Backed out changeset"',
    changeset('Backed out changeset 0123456789ab (bug 1466024) for failures'),
    system('review_unneeded'),
  ],
  [1, 'hit', '"Back out"', changeset('Back out 2 changesets (bug 1)'), system('review_unneeded')],
  [
    1,
    'hit',
    '"backing out", lower case',
    changeset('backing out bug 1'),
    system('review_unneeded'),
  ],
  [1, 'hit', '"BACKED OUT", upper case', changeset('BACKED OUT bug 1'), system('review_unneeded')],
  [
    1,
    'hit',
    'beats rule 2: a backout with the ignore marker',
    changeset('Backed out changeset 0123456789ab\n\n# ignore-this-changeset'),
    system('review_unneeded'),
  ],
  [
    1,
    'hit',
    'beats rule 3: a backout that is a merge',
    merge('Backed out changeset 0123456789ab'),
    system('review_unneeded'),
  ],
  [
    1,
    'hit',
    'beats rule 4: a backout saying no bug',
    changeset('Backed out changeset 0123456789ab, no bug'),
    system('review_unneeded'),
  ],
  [
    1,
    'hit',
    'beats rule 5: a backout with a=',
    changeset('Backed out changeset 0123456789ab (bug 1) a=backout'),
    system('review_unneeded'),
  ],
  [
    1,
    'near miss',
    'the prefix must start the summary',
    changeset('Bug 1 - Backed out stuff'),
    bug(1),
  ],
  [1, 'near miss', 'nor follow a space', changeset(' Backed out bug 1'), bug(1)],
  [1, 'near miss', 'the summary only', changeset('Bug 1 - fix\n\nBacked out x'), bug(1)],
  [1, 'near miss', '"Backout" is not a prefix', changeset('Backout bug 12 - x'), bug(12)],
  [1, 'near miss', '"Back-out" is not a prefix', changeset('Back-out bug 12 - x'), bug(12)],
  [1, 'near miss', 'the prefix needs its space', changeset('Backed out'), system('unknown')],

  // 2. The ignore marker, anywhere in the description.
  [
    2,
    'hit',
    'marker in the summary',
    changeset('Bug 1 - reformat # ignore-this-changeset'),
    system('not_applicable'),
  ],
  [
    2,
    'hit',
    'marker on a later line',
    changeset('Bug 1 - reformat, r=foo\n\nlong body\n# ignore-this-changeset\n'),
    system('not_applicable'),
  ],
  [
    2,
    'hit',
    'beats rule 3: a merge with the marker',
    merge('Merge\n# ignore-this-changeset'),
    system('not_applicable'),
  ],
  [
    2,
    'hit',
    'beats rule 4: marker with "no bug"',
    changeset('No bug - reformat\n# ignore-this-changeset'),
    system('not_applicable'),
  ],
  [
    2,
    'hit',
    'beats rule 5: marker with a=',
    changeset('Bug 1 - reformat a=me\n# ignore-this-changeset'),
    system('not_applicable'),
  ],
  [
    2,
    'hit',
    'beats rule 6: marker from the wpt sync bot',
    changeset('Bug 1 - x\n# ignore-this-changeset', { user: WPT_BOT }),
    system('not_applicable'),
  ],
  [
    2,
    'near miss',
    'no space after #',
    changeset('Bug 1 - reformat\n#ignore-this-changeset'),
    bug(1),
  ],
  [
    2,
    'near miss',
    'the marker is case-sensitive',
    changeset('Bug 1 - reformat\n# Ignore-this-changeset'),
    bug(1),
  ],
  [
    2,
    'near miss',
    'spaces instead of hyphens',
    changeset('Bug 1 - reformat\n# ignore this changeset'),
    bug(1),
  ],

  // 3. Merges.
  [
    3,
    'hit',
    'a merge',
    merge('Merge mozilla-central to autoland. a=merge'),
    system('not_applicable'),
  ],
  [
    3,
    'hit',
    'beats rule 4: a merge saying no bug',
    merge('No bug - merge'),
    system('not_applicable'),
  ],
  [
    3,
    'hit',
    'beats rule 6: a merge by the wpt sync bot',
    changeset('Bug 5 - merge', { user: WPT_BOT, parents: [PARENT, OTHER_PARENT] }),
    system('not_applicable'),
  ],
  [
    3,
    'hit',
    'beats rule 7: a merge naming a bug',
    merge('Bug 5 - merge'),
    system('not_applicable'),
  ],
  [
    3,
    'near miss',
    'one parent is not a merge',
    changeset('Merge mozilla-central to autoland. a=merge'),
    system('review_unneeded'),
  ],
  [
    3,
    'near miss',
    'a root changeset is not a merge',
    changeset('Bug 5 - x', { parents: [] }),
    bug(5),
  ],

  // 4. The words "no bug" in the summary, any case.
  [4, 'hit', '"No bug -"', changeset('No bug - fix a typo'), system('no_bug')],
  [4, 'hit', '"NO BUG" upper case', changeset('NO BUG: typo'), system('no_bug')],
  [4, 'hit', 'at the end', changeset('Fix a typo, no bug'), system('no_bug')],
  [4, 'hit', 'in brackets', changeset('Fix a typo (no bug)'), system('no_bug')],
  [4, 'hit', 'beats rule 5: "no bug" with a=', changeset('No bug - typo, a=me'), system('no_bug')],
  [
    4,
    'hit',
    'beats rule 5: "no bug" with upper-case A=',
    changeset('No bug - typo, r=foo A=release'),
    system('no_bug'),
  ],
  [
    4,
    'hit',
    'beats rule 6: "no bug" from the wpt sync bot',
    changeset('No bug - update', { user: WPT_BOT }),
    system('no_bug'),
  ],
  [
    4,
    'hit',
    'beats rule 7: "no bug" with a bug number',
    changeset('Bug 1 - no bug'),
    system('no_bug'),
  ],
  [4, 'near miss', '"nobug" is not the words', changeset('nobug 12345 typo'), bug(12345)],
  [4, 'near miss', '"no bugs" is not the words', changeset('Bug 8 - no bugs left'), bug(8)],
  [4, 'near miss', '"piano bug" is not the words', changeset('Bug 8 - piano bug'), bug(8)],
  [4, 'near miss', '"no-bug" is not the words', changeset('Bug 8 - no-bug'), bug(8)],
  [4, 'near miss', 'two spaces are not the words', changeset('Bug 8 - no  bug'), bug(8)],
  [4, 'near miss', 'only in the body', changeset('Fix typo\n\nno bug'), system('unknown')],

  // 5. An approval flag a=<word> in the summary, any case, a starting a word.
  [
    5,
    'hit',
    'a=release',
    changeset('Bug 1 - fix crash r=foo a=release'),
    system('review_unneeded'),
  ],
  [
    5,
    'hit',
    'upper-case A=release',
    changeset('Bug 1 - Fix the widget, r=foo A=release'),
    system('review_unneeded'),
  ],
  [5, 'hit', 'A=RELEASE', changeset('Bug 1 - fix, A=RELEASE'), system('review_unneeded')],
  [5, 'hit', 'a= after a comma', changeset('Bug 1 - fix r=foo,a=bar'), system('review_unneeded')],
  [5, 'hit', 'a= in parentheses', changeset('Bug 1 - fix (a=bar)'), system('review_unneeded')],
  [5, 'hit', 'a= at the start', changeset('a=me fix'), system('review_unneeded')],
  [5, 'hit', 'a=<digit>', changeset('Bug 1 - fix a=1'), system('review_unneeded')],
  [
    5,
    'hit',
    'a wpt summary with a=testonly, human author',
    changeset('Bug 1458766 [wpt PR 10812] - Update the test, a=testonly'),
    system('review_unneeded'),
  ],
  [
    5,
    'hit',
    'beats rule 7: a= with a bug number',
    changeset('Bug 1463962 - uplift, a=RyanVM'),
    system('review_unneeded'),
  ],
  [5, 'near miss', '"data=foo": no word boundary before a', changeset('Bug 1 - data=foo'), bug(1)],
  [5, 'near miss', '"DATA=foo", upper case', changeset('Bug 1 - DATA=foo'), bug(1)],
  [5, 'near miss', '"ra=foo": no word boundary before a', changeset('Bug 1 - ra=foo'), bug(1)],
  [5, 'near miss', '"a=" followed by nothing', changeset('Bug 1 - a='), bug(1)],
  [5, 'near miss', '"A= x" followed by a space', changeset('Bug 1 - A= x'), bug(1)],
  [5, 'near miss', '"a =x" with a space before =', changeset('Bug 1 - a =x'), bug(1)],
  [5, 'near miss', 'the summary only', changeset('Bug 1 - fix\n\na=release'), bug(1)],
  [
    5,
    'near miss',
    'a wpt summary with ",xa=testonly" from a human author',
    changeset('Bug 1458766 [wpt PR 10812] - Update,xa=testonly'),
    bug(1458766),
  ],

  // 6. The web-platform-tests sync bot as author, exactly.
  [
    6,
    'hit',
    'the wpt sync bot, wpt summary',
    changeset('Bug 1458766 [wpt PR 10812] - Update the test', { user: WPT_BOT }),
    system('review_unneeded'),
  ],
  [
    6,
    'hit',
    'beats rule 7: the wpt sync bot, any summary with a bug',
    changeset('Bug 1 - Update wpt metadata', { user: WPT_BOT }),
    system('review_unneeded'),
  ],
  [
    6,
    'hit',
    'the wpt sync bot, no bug number',
    changeset('Update wpt metadata', { user: WPT_BOT }),
    system('review_unneeded'),
  ],
  [
    6,
    'near miss',
    'a wpt summary without a=, human author',
    changeset('Bug 1458766 [wpt PR 10812] - Update the test'),
    bug(1458766),
  ],
  [
    6,
    'near miss',
    'the author must match exactly (case)',
    changeset('Bug 3 - x', { user: 'Moz-wptsync-bot <wptsync@mozilla.com>' }),
    bug(3),
  ],
  [
    6,
    'near miss',
    'the author must match exactly (trailing space)',
    changeset('Bug 3 - x', { user: `${WPT_BOT} ` }),
    bug(3),
  ],
  [
    6,
    'near miss',
    'the author must match exactly (address only)',
    changeset('Bug 3 - x', { user: 'wptsync@mozilla.com' }),
    bug(3),
  ],

  // 7. The first bug number of the summary, for Bugzilla; none: unknown.
  [
    7,
    'hit',
    'a bug number',
    changeset('Bug 1463962 - summary line, r=jamie\n\nbody'),
    bug(1463962),
  ],
  [7, 'hit', 'the first bug number', changeset('Bug 2 - x (bug 3)'), bug(2)],
  [
    7,
    'hit',
    'the bug of "debug", as commitparser does',
    changeset('Fix debug 4321 output'),
    bug(4321),
  ],
  [7, 'hit', 'no bug number: unknown', changeset('Fix a typo, r=foo'), system('unknown')],
  [7, 'hit', 'empty description: unknown', changeset(''), system('unknown')],
  [
    7,
    'near miss',
    'a bug number only in the body',
    changeset('Fix a typo\n\nBug 12345'),
    system('unknown'),
  ],
  [
    7,
    'near miss',
    'a 4-digit year is no bug number',
    changeset('Aug 2008 cleanup'),
    system('unknown'),
  ],
  [
    7,
    'near miss',
    'a number too big to be a bug',
    changeset('Bug 100000000 - x'),
    system('unknown'),
  ],
];

for (const [rule, kind, title, facts, expected] of changesetCases) {
  test(`reviewSystemFromChangeset: rule ${rule} ${kind}: ${title}`, (t) => {
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

const reviewPlusAmongOthers = (): HistoryEntry => ({
  when: '2018-06-01T17:02:36Z',
  who: 'r@example.com',
  changes: [
    { field_name: 'status', added: 'RESOLVED', removed: 'NEW' },
    { field_name: 'flagtypes.name', added: 'review+', removed: 'review?(r)' },
  ],
});
const reviewPlusRemoved = (): HistoryEntry => ({
  when: 'w',
  who: 'x',
  changes: [{ field_name: 'flagtypes.name', added: '', removed: 'review+' }],
});

/** [rule, kind, title, what Bugzilla answered, expected review system] for rules 8 to 12. */
const bugCases: readonly (readonly [number, Kind, string, BugRecord, ReviewSystem])[] = [
  // 8. No bug we may read.
  [8, 'hit', 'no readable bug (401, 404, error)', null, 'no_bug'],
  [8, 'near miss', 'a readable bug without attachments', record([]), 'unknown'],

  // 9. Only live Phabricator or GitHub requests and patches are review attachments.
  [
    9,
    'hit',
    'an obsolete Phabricator request is ignored',
    record([attachment(PHABRICATOR, 0, 1)]),
    'unknown',
  ],
  [
    9,
    'hit',
    'obsolete Phabricator request, live reviewed patch',
    record([attachment(PHABRICATOR, 0, 1), patch()], REVIEW_GRANTED),
    'bmo',
  ],
  [
    9,
    'hit',
    'an obsolete reviewed patch is ignored',
    record([patch(1)], REVIEW_GRANTED),
    'unknown',
  ],
  [
    9,
    'hit',
    'a MozReview request is ignored',
    record([attachment(MOZREVIEW)], REVIEW_GRANTED),
    'unknown',
  ],
  [
    9,
    'hit',
    'an attachment that is no patch nor request is ignored',
    record([attachment('text/plain')], REVIEW_GRANTED),
    'unknown',
  ],
  [
    9,
    'near miss',
    'a live Phabricator request counts',
    record([attachment(PHABRICATOR)]),
    'phabricator',
  ],
  [9, 'near miss', 'a live reviewed patch counts', record([patch(0)], REVIEW_GRANTED), 'bmo'],

  // 10. A Phabricator request.
  [10, 'hit', 'a Phabricator request', record([attachment(PHABRICATOR)]), 'phabricator'],
  [
    10,
    'hit',
    'Phabricator among other attachments',
    record([attachment('image/png'), attachment(PHABRICATOR)]),
    'phabricator',
  ],
  [
    10,
    'hit',
    'beats rule 11: Phabricator and a reviewed patch',
    record([patch(), attachment(PHABRICATOR)], REVIEW_GRANTED),
    'phabricator',
  ],
  [
    10,
    'near miss',
    'a GitHub request is a review attachment but not Phabricator',
    record([attachment(GITHUB)], REVIEW_GRANTED),
    'unknown',
  ],
  [
    10,
    'near miss',
    'a MozReview request is not Phabricator',
    record([attachment(MOZREVIEW)]),
    'unknown',
  ],

  // 11. A patch and review+ granted in the history.
  [11, 'hit', 'a patch with review+', record([patch()], REVIEW_GRANTED), 'bmo'],
  [
    11,
    'hit',
    'review+ among flags, spaces trimmed',
    record([patch()], [flagChange('feedback+, review+')]),
    'bmo',
  ],
  [
    11,
    'hit',
    'review+ among flags, no spaces',
    record([patch()], [flagChange('feedback+,review+')]),
    'bmo',
  ],
  [
    11,
    'hit',
    'review+ with surrounding spaces',
    record([patch()], [flagChange(' review+ ')]),
    'bmo',
  ],
  [
    11,
    'hit',
    'review+ in a later history entry',
    record([patch()], [flagChange('review?(x)'), flagChange('review+')]),
    'bmo',
  ],
  [
    11,
    'hit',
    'review+ in a later change of one entry',
    record([patch()], [reviewPlusAmongOthers()]),
    'bmo',
  ],
  [
    11,
    'hit',
    'a GitHub request beside a reviewed patch',
    record([attachment(GITHUB), patch()], REVIEW_GRANTED),
    'bmo',
  ],
  [11, 'near miss', 'a patch without any history', record([patch()]), 'unknown'],
  [
    11,
    'near miss',
    'a patch with review? only',
    record([patch()], [flagChange('review?(x)')]),
    'unknown',
  ],
  [11, 'near miss', 'a patch with review-', record([patch()], [flagChange('review-')]), 'unknown'],
  [
    11,
    'near miss',
    'superreview+ is not review+',
    record([patch()], [flagChange('superreview+')]),
    'unknown',
  ],
  [
    11,
    'near miss',
    'review+ only removed, not added',
    record([patch()], [reviewPlusRemoved()]),
    'unknown',
  ],
  [
    11,
    'near miss',
    'review+ only in a field other than flagtypes.name',
    record([patch()], [flagChange('review+', 'cf_status_firefox62')]),
    'unknown',
  ],
  [11, 'near miss', 'review+ without any patch', record([], REVIEW_GRANTED), 'unknown'],

  // 12. Otherwise unknown.
  [12, 'hit', 'no attachments', record([]), 'unknown'],
  [12, 'hit', 'only an image', record([attachment('image/png')]), 'unknown'],
  [
    12,
    'near miss',
    'a live patch with review+ is not left unknown',
    record([patch()], REVIEW_GRANTED),
    'bmo',
  ],
];

for (const [rule, kind, title, answer, expected] of bugCases) {
  test(`reviewSystemFromBug: rule ${rule} ${kind}: ${title}`, (t) => {
    t.is(reviewSystemFromBug(answer), expected);
  });
}

test('every rule has at least one hit and one near miss', (t) => {
  const examples = [...changesetCases, ...bugCases].map(([rule, kind]) => `${rule} ${kind}`);
  for (let rule = 1; rule <= 12; rule++) {
    t.true(examples.includes(`${rule} hit`), `rule ${rule} hit`);
    t.true(examples.includes(`${rule} near miss`), `rule ${rule} near miss`);
  }
});

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
