/**
 * Generated hostile and unlucky hgpush message bodies, for property tests of the reader and of
 * the worker: deep nesting anywhere, wrong types, push ids out of range, other encodings,
 * bytes that are not text, and bodies too large to be a Pulse message.
 */
import fc from 'fast-check';
import { changegroupMessage } from './messages.js';

const AUTOLAND = 'https://hg.mozilla.org/integration/autoland';

/** Where in a valid message a hostile value goes: a path of keys and indexes. */
const PLACES: readonly (readonly (string | number)[])[] = [
  [],
  ['payload'],
  ['payload', 'type'],
  ['payload', 'data'],
  ['payload', 'data', 'repo_url'],
  ['payload', 'data', 'pushlog_pushes'],
  ['payload', 'data', 'pushlog_pushes', 0],
  ['payload', 'data', 'pushlog_pushes', 0, 'pushid'],
  ['payload', 'data', 'pushlog_pushes', 0, 'push_json_url'],
  ['_meta'],
];

const MARK = '"__HOSTILE__"';

/** A valid message with the JSON text `value` at `place` (text, so that it can be any depth). */
const withValueAt = (place: readonly (string | number)[], value: string): string => {
  if (place.length === 0) return value;
  const message = JSON.parse(changegroupMessage(AUTOLAND, 7)) as Record<string, unknown>;
  let node = message as Record<string | number, unknown>;
  for (const key of place.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[place[place.length - 1]!] = '__HOSTILE__';
  return JSON.stringify(message).replace(MARK, value);
};

/** Nested arrays, objects, or both in turn, `depth` levels deep. */
const nested = fc
  .tuple(fc.integer({ min: 100, max: 60_000 }), fc.constantFrom('[]', '{}', 'mixed'))
  .map(([depth, shape]) => {
    if (shape === '[]') return `${'['.repeat(depth)}${']'.repeat(depth)}`;
    if (shape === '{}') return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const half = Math.floor(depth / 2);
    return `${'[{"a":'.repeat(half)}0${'}]'.repeat(half)}`;
  });

/** Push ids no pushlog has: none, negative, fractional, too large, not numbers. */
export const hostilePushId = fc.constantFrom(
  '-1',
  '0',
  '-0',
  '1.5',
  '1e20',
  '1e400',
  '9007199254740992',
  '"64752"',
  'null',
  'true',
  '[1]',
  '{"id":1}',
);

const valueAt = fc.tuple(
  fc.constantFrom(...PLACES),
  fc.oneof(
    nested,
    fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
  ),
);

const reencoded = fc
  .constantFrom<BufferEncoding>('utf16le', 'latin1', 'base64')
  .map((encoding) =>
    Buffer.from(changegroupMessage(`${AUTOLAND}/ünïcödé`, 9).toString(), 'utf8').toString(encoding),
  )
  .map((text) => Buffer.from(text, 'latin1'));

/** Any one hostile body, as text or as bytes. */
export const hostileBody: fc.Arbitrary<string | Buffer> = fc.oneof(
  { weight: 4, arbitrary: valueAt.map(([place, value]) => withValueAt(place, value)) },
  {
    weight: 2,
    arbitrary: hostilePushId.map((id) =>
      withValueAt(['payload', 'data', 'pushlog_pushes', 0, 'pushid'], id),
    ),
  },
  { weight: 1, arbitrary: reencoded },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('\uFEFF', '\u0000', ''), fc.nat({ max: 400 }))
      .map(([prefix, cut]) => `${prefix}${changegroupMessage(AUTOLAND, 3).slice(0, cut)}`),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
);

/** A body far larger than any Pulse message: a few MB of valid JSON. */
export const oversizedBody = (bytes: number): string => {
  const message = JSON.parse(changegroupMessage(AUTOLAND, 5)) as {
    payload: { data: { heads: string[] } };
  };
  message.payload.data.heads = ['0'.repeat(bytes)];
  return JSON.stringify(message);
};
