import type { ParkedSummary } from '../../../streams/pulse/parked/parkedMessage.js';
import { ago, columns } from '../shared/columns.js';

/** The widest error a table shows; the plain lines carry it whole. */
export const TABLE_ERROR_WIDTH = 72;

/**
 * A text of several lines on one: its lines, trimmed, `; ` apart; tabs become spaces, and
 * other control characters (a terminal's escape sequences) `?`. Every field of a parked
 * message goes through it: the message's body and headers are not ours to trust.
 */
export const oneLine = (text: string): string =>
  text
    .split('\n')
    .map((line) =>
      line
        .replace(/\s+/g, ' ')
        // eslint-disable-next-line no-control-regex
        .replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')
        .trim(),
    )
    .filter((line) => line !== '')
    .join('; ');

const cut = (text: string, width: number): string =>
  text.length <= width ? text : `${text.slice(0, width - 1)}…`;

const pushCell = (s: ParkedSummary): string => (s.pushes === undefined ? '?' : s.pushes.join(','));

/** `2024-05-01T12:00:00Z (3 h ago)`, or `?` when the time was not recorded or does not read. */
const parkedAtCell = (parkedAt: string | undefined, now: number): string => {
  const ms = parkedAt === undefined ? NaN : Date.parse(parkedAt);
  if (!Number.isFinite(ms)) return parkedAt ?? '?';
  return `${new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')} (${ago(ms, now)})`;
};

/**
 * The parked messages for a person at a terminal, oldest first, one row each, the error's
 * first part only; ends with a newline.
 */
export const parkedTable = (summaries: readonly ParkedSummary[], now: number): string =>
  [
    ...columns([
      ['#', 'PARKED AT', 'PUSH', 'REPOSITORY', 'REASON', 'ERROR'],
      ...summaries.map((s, i) => [
        String(i + 1),
        oneLine(parkedAtCell(s.parkedAt, now)),
        pushCell(s),
        oneLine(s.repository ?? '?'),
        oneLine(s.reason),
        cut(oneLine(s.error), TABLE_ERROR_WIDTH),
      ]),
    ]),
    '',
  ].join('\n');

/**
 * The parked messages for a program (stdout not a terminal): one line each, oldest first,
 * tab-separated: when parked (as recorded), push ids (comma-separated), repository, reason,
 * the whole error on one line; `?` for what is unknown. Empty for no message.
 */
export const parkedLines = (summaries: readonly ParkedSummary[]): string =>
  summaries
    .map(
      (s) =>
        `${[s.parkedAt ?? '?', pushCell(s), s.repository ?? '?', s.reason, s.error].map(oneLine).join('\t')}\n`,
    )
    .join('');
