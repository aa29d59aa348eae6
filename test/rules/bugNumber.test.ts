import test from 'ava';
import { parseBugNumber } from '../../src/rules/bugNumber.js';

/** [summary, expected first bug number or undefined, why] */
const cases: readonly (readonly [string, number | undefined, string])[] = [
  // The examples of DESIGN.md, "Bug numbers".
  ['bug 1', 1, 'design: the word bug'],
  ['Bug 123456 - x', 123456, 'design: capitalised bug'],
  ['b=#12345', 12345, 'design: b= with #'],
  ['12345 is a bug', 12345, 'design: digits at the start'],
  [' 123456 whitespace!', 123456, 'design: 5+ digits after a space'],
  ['testb=1234x', undefined, 'design: digits followed by a letter'],
  ['ab4665521e2f', undefined, 'design: a hex revision'],
  ['Aug 2008', undefined, 'design: a 4-digit year'],
  ['GECKO_191a2_20080815_RELBRANCH', undefined, 'design: digits inside an identifier'],
  ['Bug 1458766 [wpt PR 10812] - ... (bug 1111111)', 1458766, 'design: the first one wins'],

  // The word bug, any case, optional spaces and an optional #.
  ['BUG 42 - shout', 42, 'upper case'],
  ['bUg 42', 42, 'mixed case'],
  ['Bug123 - no space', 123, 'no space before the digits'],
  ['bug #123', 123, 'bug, space, #'],
  ['Bug#123', 123, 'bug directly followed by #'],
  ['bug   77', 77, 'several spaces'],
  ['bug\t77', 77, 'a tab'],
  ['fix (bug 9)', 9, 'bug in parentheses'],
  ['debug 123 output', undefined, 'bug inside a word is not the word bug'],
  ['bug 123abc', undefined, 'digits after bug followed by letters'],
  ['bug 12345abc', undefined, 'nor is such a run taken as a 5-digit number'],
  ['bug 123_4', undefined, 'an underscore is a word character'],

  // b= forms.
  ['b=12345', 12345, 'b= with digits'],
  ['b=123', 123, 'b= with few digits'],
  ['fix, b=#99', 99, 'b=# inside the summary'],
  ['testb=1234', 1234, 'b= needs no word boundary before it'],
  ['b=', undefined, 'b= without digits'],

  // Runs of 5 or more digits at a word boundary, optionally after #.
  ['see #123456 for details', 123456, '# then 5+ digits'],
  ['foo#123456', 123456, '# is not a word character'],
  ['Fix 12345 things', 12345, '5 digits in the middle'],
  ['Fix 1234 things', undefined, '4 digits not at the start'],
  ['Fix #1234 things', undefined, '# then 4 digits not at the start'],
  ['x12345 y', undefined, 'digits glued to a letter'],
  ['v12345', undefined, 'a version-like token'],

  // Digits at the very start.
  ['1234 - fix', 1234, '4 digits at the start'],
  ['7', 7, 'a lone digit'],
  [' 1234 - fix', undefined, 'a space before 4 digits'],
  ['1234abc - fix', undefined, 'digits at the start followed by letters'],

  // The limit: numbers of 100000000 or more are ignored and the next one is taken.
  ['bug 99999999', 99999999, 'just below the limit'],
  ['bug 100000000', undefined, 'exactly the limit'],
  ['Bug 100000000 - x, bug 7', 7, 'the next bug after an ignored one'],
  ['123456789012 see bug 5', 5, 'a long leading number, then bug'],
  ['Backed out 20180601170236 (bug 1466024)', 1466024, 'a timestamp before the bug'],
  ['999999999', undefined, 'an ignored number at the start, nothing after'],

  // Order and absence.
  ['b=5 bug 6', 5, 'b= before bug'],
  ['bug 6 b=5', 6, 'bug before b='],
  ['', undefined, 'empty summary'],
  ['No bug - fix typo', undefined, 'no digits at all'],
];

for (const [summary, expected, why] of cases) {
  test(`parseBugNumber(${JSON.stringify(summary)}) is ${expected} (${why})`, (t) => {
    t.is(parseBugNumber(summary), expected);
  });
}

test('parseBugNumber can be called again after a match (no leftover regex state)', (t) => {
  t.is(parseBugNumber('Bug 1 - x'), 1);
  t.is(parseBugNumber('Bug 1 - x'), 1);
  t.is(parseBugNumber('x 22222'), 22222);
});
