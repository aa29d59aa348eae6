/** Bug numbers at or above this are taken for something else (a date, a revision). */
const BUG_NUMBER_LIMIT = 100_000_000;

/**
 * Candidates, tried left to right through the summary; each must end at a word boundary:
 *   `Bug 123456 - x`, `bug #1`, `bug1`  the word bug, spaces, optional #, digits
 *   `b=#12345`, `b=12345`               b= then an optional #, digits
 *   `see #123456`, ` 123456 x`          5 or more digits starting at a word boundary
 *   `123 is a bug`                      digits at the very start
 * and none in `testb=1234x`, `ab4665521e2f`, `Aug 2008`, `GECKO_191a2_20080815_RELBRANCH`.
 */
const BUG_NUMBER = /\bbug\s*#?(\d+)\b|b=#?(\d+)\b|\b(\d{5,})\b|^(\d+)\b/gi;

/** The first bug number in a changeset summary, or undefined when it names none. */
export const parseBugNumber = (summary: string): number | undefined => {
  for (const match of summary.matchAll(BUG_NUMBER)) {
    const digits = match[1] ?? match[2] ?? match[3] ?? match[4];
    const bug = Number(digits);
    if (bug < BUG_NUMBER_LIMIT) return bug;
  }
  return undefined;
};
