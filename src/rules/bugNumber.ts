/** Bug numbers at or above this are taken for something else (a date, a revision). */
const BUG_NUMBER_LIMIT = 100_000_000;

/**
 * Mozilla's `mozautomation.commitparser.BUG_RE`, translated as is, quirks included:
 *   `bug 1`, `Bug 123456 - x`, `bug #1`, `bug1`   the word bug (even inside `debug 4321`), digits
 *   `b=#12345`, `b= 12345`                        b=, optional spaces and #, digits
 *   ` 123456 whitespace!`, `x#123456`             5 or more digits after a word boundary and #?
 *   `12345 is a bug`, `7`                         digits at the very start
 * and none in `testb=1234x`, `ab4665521e2f`, `Aug 2008`, `GECKO_191a2_20080815_RELBRANCH`.
 * Here `\d` and `\b` are ASCII-only, unlike Python 3's: non-ASCII digits are not bug numbers.
 */
const BUG_NUMBER = /(?:bug|b=|(?=\b#?\d{5,})|^(?=\d))\s*#?(\d+)(?=\b)/gi;

/**
 * The first bug number in a changeset summary, or undefined when it names none: like
 * commitparser's `parse_bugs(summary)[0]`, which keeps the matches below 100000000.
 */
export const parseBugNumber = (summary: string): number | undefined => {
  for (const match of summary.matchAll(BUG_NUMBER)) {
    const bug = Number(match[1]);
    if (bug < BUG_NUMBER_LIMIT) return bug;
  }
  return undefined;
};
