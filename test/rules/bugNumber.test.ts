import test from 'ava';
import fc from 'fast-check';
import { parseBugNumber } from '../../src/rules/bugNumber.js';

/** [summary, expected first bug number or undefined, why] */
const cases: readonly (readonly [string, number | undefined, string])[] = [
  // The examples of the rules.
  ['bug 1', 1, 'the word bug'],
  ['Bug 123456 - x', 123456, 'capitalised bug'],
  ['b=#12345', 12345, 'b= with #'],
  ['12345 is a bug', 12345, 'digits at the start'],
  [' 123456 whitespace!', 123456, '5+ digits after a space'],
  ['Fix the debug 4321 output', 4321, 'quirk: bug needs no word boundary before it'],
  ['testb=1234x', undefined, 'digits followed by a letter'],
  ['ab4665521e2f', undefined, 'a hex revision'],
  ['Aug 2008', undefined, 'a 4-digit year'],
  ['GECKO_191a2_20080815_RELBRANCH', undefined, 'digits inside an identifier'],
  ['Bug 1458766 [wpt PR 10812] - ... (bug 1111111)', 1458766, 'the first one wins'],
  ['Bug 100000000 - x, bug 7', 7, 'a number of 100000000 or more is skipped'],

  // commitparser's own tests (parse_bugs, parse_backouts), first bug only.
  ['bug 123456', 123456, 'commitparser: bug and 6 digits'],
  ['Backed out changeset 6435d5aab611 (bug 858680)', 858680, 'commitparser: backout'],
  [
    'Backed out changeset 2f9d54c153ed on CLOSED TREE (bug 1067325)',
    1067325,
    'commitparser: backout on a closed tree',
  ],
  ['Backout b8601df335c1 (Bug 1174857) for bustage', 1174857, 'commitparser: Backout'],
  [
    'Backed out changesets 4b6aa5c0a1bf and fdf38a41d92b (bug 1150549) for Mulet crashes.',
    1150549,
    'commitparser: two backed-out revisions',
  ],
  [
    'Backed out 6 changesets (bug 1164777, bug 1163207, bug 1156914, bug 1164778) for SM(cgc)',
    1164777,
    'commitparser: n changesets, several bugs',
  ],
  ['bug1', 1, 'bug directly followed by digits'],
  ['bug #1', 1, 'bug, space, #'],
  ['b=1', 1, 'b= with one digit'],
  ['bug 123456 and bug 234567', 123456, 'the first of two'],
  ['Bug 1 - fix r=foo', 1, 'a reviewer after the bug'],

  // The word bug, any case, optional spaces and an optional #, even inside a word.
  ['BUG 42 - shout', 42, 'upper case'],
  ['bUg 42', 42, 'mixed case'],
  ['Bug123 - no space', 123, 'no space before the digits'],
  ['Bug#123', 123, 'bug directly followed by #'],
  ['bug   77', 77, 'several spaces'],
  ['bug\t77', 77, 'a tab'],
  ['bug\u00a077', 77, 'a no-break space'],
  ['fix (bug 9)', 9, 'bug in parentheses'],
  ['ladybug 7', 7, 'quirk: bug at the end of a word'],
  ['debug 123 bug 456', 123, 'quirk: the bug of debug comes first'],
  ['bug # 5', undefined, 'quirk: no space between # and the digits'],
  ['bug 123abc', undefined, 'digits after bug followed by letters'],
  ['bug 12345abc', undefined, 'nor is such a run taken as a 5-digit number'],
  ['bug 123_4', undefined, 'an underscore is a word character'],
  ['bug 12-34', 12, 'a hyphen ends the number'],

  // b= forms.
  ['b=12345', 12345, 'b= with digits'],
  ['b=123', 123, 'b= with few digits'],
  ['fix, b=#99', 99, 'b=# inside the summary'],
  ['testb=1234', 1234, 'b= needs no word boundary before it'],
  ['B=55', 55, 'B= upper case'],
  ['b= 123', 123, 'spaces are allowed after b= too'],
  ['b=  #123', 123, 'spaces then # after b='],
  ['b=', undefined, 'b= without digits'],

  // Runs of 5 or more digits at a word boundary, optionally after #.
  ['see #123456 for details', 123456, '# then 5+ digits'],
  ['foo#123456', 123456, '# is not a word character'],
  ['#12345', 12345, '# then 5 digits at the start'],
  ['Fix 12345 things', 12345, '5 digits in the middle'],
  ['Fix 1234 things', undefined, '4 digits not at the start'],
  ['Fix #1234 things', undefined, '# then 4 digits not at the start'],
  ['#1234 things', undefined, '# then 4 digits at the start'],
  ['x12345 y', undefined, 'digits glued to a letter'],
  ['v12345', undefined, 'a version-like token'],
  ['v1.12345', 12345, 'a dot is a word boundary'],

  // Digits at the very start.
  ['1234 - fix', 1234, '4 digits at the start'],
  ['7', 7, 'a lone digit'],
  ['0', 0, 'zero'],
  ['007 - x', 7, 'leading zeros'],
  [' 1234 - fix', undefined, 'a space before 4 digits'],
  ['1234abc - fix', undefined, 'digits at the start followed by letters'],

  // The limit: numbers of 100000000 or more are ignored and the next one is taken.
  ['bug 99999999', 99999999, 'just below the limit'],
  ['bug 100000000', undefined, 'exactly the limit'],
  ['123456789012 see bug 5', 5, 'a long leading number, then bug'],
  ['Backed out 20180601170236 (bug 1466024)', 1466024, 'a timestamp before the bug'],
  ['999999999', undefined, 'an ignored number at the start, nothing after'],
  ['bug 1' + '0'.repeat(400), undefined, 'a number too long for a double'],

  // ASCII only: `\d` and `\b` do not know other scripts (Python 3 would differ on these).
  ['Bug ١٢٣٤٥٦', undefined, 'Arabic-Indic digits are not a bug number'],
  ['Bug １２３４５６', undefined, 'fullwidth digits are not a bug number'],
  ['Bug 123456é', 123456, 'a non-ASCII letter does not glue to the digits'],
  ['é123456', 123456, 'nor before them'],

  // Order and absence.
  ['b=5 bug 6', 5, 'b= before bug'],
  ['bug 6 b=5', 6, 'bug before b='],
  ['', undefined, 'empty summary'],
  ['No bug - fix typo', undefined, 'no digits at all'],
];

for (const [summary, expected, why] of cases) {
  test(`parseBugNumber(${JSON.stringify(summary.slice(0, 80))}) is ${expected} (${why})`, (t) => {
    t.is(parseBugNumber(summary), expected);
  });
}

test('parseBugNumber can be called again after a match (no leftover regex state)', (t) => {
  t.is(parseBugNumber('Bug 1 - x'), 1);
  t.is(parseBugNumber('Bug 1 - x'), 1);
  t.is(parseBugNumber('x 22222'), 22222);
});

/** Pieces that matter to the regex, joined at random; and arbitrary strings. */
const PIECES = [
  ' ',
  '\t',
  ...'bug Bug b= # 1 123 12345 100000000 0 x _ - ( ) de a= é ١٢٣'.split(' '),
];
const summaries = fc.oneof(
  fc.array(fc.constantFrom(...PIECES), { maxLength: 12 }).map((pieces) => pieces.join('')),
  fc.string(),
  fc.string({ unit: 'binary' }),
);

test('parseBugNumber never throws; any answer is below 100000000 and in the summary', (t) => {
  fc.assert(
    fc.property(summaries, (summary) => {
      const bug = parseBugNumber(summary);
      return (
        bug === undefined ||
        (Number.isSafeInteger(bug) && bug >= 0 && bug < 100_000_000 && summary.includes(`${bug}`))
      );
    }),
  );
  t.pass();
});

test('parseBugNumber takes a leading "Bug N - " whatever follows', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 99_999_999 }), summaries, (n, rest) => {
      return parseBugNumber(`Bug ${n} - ${rest}`) === n;
    }),
  );
  t.pass();
});
