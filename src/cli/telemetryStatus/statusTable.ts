import type { RepositoryStatus } from '../../state/index.js';
import type { ParkedQueueCount } from './parkedQueueCount.js';
import type { PushlogCount, StatusReport } from './statusReport.js';
import { ago, columns } from '../shared/columns.js';

export const EMPTY_STORE =
  'no repository yet: the worker creates a watermark at the first push it processes';

const time = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

const lastSettled = (r: RepositoryStatus, at: number): string =>
  r.lastSettledAt === undefined
    ? 'never'
    : `${time(r.lastSettledAt)} (${ago(r.lastSettledAt, at)})`;

const pushlogCell = (count: PushlogCount | null | undefined, r: RepositoryStatus): string => {
  if (count === undefined) return '-';
  if (typeof r.watermark === 'string') return 'git: no pushlog';
  if (count === null) return 'no watermark';
  if ('error' in count) return 'error (below)';
  return `${count.pushesAfterWatermark} (newest ${count.lastPushId})`;
};

/** The parked queue's depth, where an operator finds the messages, or why it is unknown. */
const parkedCell = (parked: ParkedQueueCount): string => {
  if (parked.count === null)
    return parked.queue === null ? parked.why : `${parked.queue}: ${parked.why}`;
  const where = `in ${parked.queue}`;
  return parked.count === 0
    ? `0 ${where}`
    : `${parked.count} ${where} (process-queue-messages --list-failed shows them)`;
};

const sum = (counts: Record<string, number>): number =>
  Object.values(counts).reduce((a, b) => a + b, 0);

/** Per repository, one row per review system and one for all of them. */
const pingRows = (r: RepositoryStatus): string[][] => {
  const systems = Object.keys(r.sentLast7Days).sort();
  if (systems.length === 0) return [[r.repository, '(none)', '0', '0']];
  const rows = systems.map((system, i) => [
    i === 0 ? r.repository : '',
    system,
    String(r.sentLast24Hours[system] ?? 0),
    String(r.sentLast7Days[system] ?? 0),
  ]);
  if (systems.length > 1) {
    rows.push(['', 'all', String(sum(r.sentLast24Hours)), String(sum(r.sentLast7Days))]);
  }
  return rows;
};

/** The table for a person; ends with a newline. */
export const statusTable = ({
  database,
  status,
  parkedMessages,
  pushlog,
}: StatusReport): string => {
  const { at, claims, repositories } = status;
  const head = [
    ['database', database],
    ['at', time(at)],
    ['parked messages', parkedCell(parkedMessages)],
  ];
  if (repositories.length === 0) return [...columns(head), '', EMPTY_STORE, ''].join('\n');
  head.push(['claims', `${claims.held} held, ${claims.expired} expired`]);
  const main = columns([
    [
      'REPOSITORY',
      'WATERMARK',
      'LAST SETTLED',
      'CLAIMS',
      'EXPIRED',
      'EVER PARKED',
      ...(pushlog === undefined ? [] : ['PUSHES AFTER WATERMARK']),
    ],
    ...repositories.map((r) => [
      r.repository,
      r.watermark === undefined ? '-' : String(r.watermark).slice(0, 12),
      lastSettled(r, at),
      String(r.claims.held),
      String(r.claims.expired),
      String(r.parked),
      ...(pushlog === undefined ? [] : [pushlogCell(pushlog.get(r.repository), r)]),
    ]),
  ]);
  const pings = columns([
    ['REPOSITORY', 'REVIEW SYSTEM', 'LAST 24 H', 'LAST 7 DAYS'],
    ...repositories.flatMap(pingRows),
  ]);
  const errors = [...(pushlog?.entries() ?? [])].flatMap(([repository, count]) =>
    count !== null && 'error' in count ? [`${repository}: ${count.error}`] : [],
  );
  return [
    ...columns(head),
    '',
    ...main,
    '',
    'Pings sent',
    ...pings,
    ...(errors.length > 0 ? ['', 'Pushlog errors', ...errors] : []),
    '',
  ].join('\n');
};
