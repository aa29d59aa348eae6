import test from 'ava';
import fc from 'fast-check';
import {
  JsonFieldPicker,
  JsonSyntaxError,
  KeptTooLarge,
} from '../../../src/clients/json/picker.js';

/** The picker's outcome for `text` cut at `cuts`: its fields, or its error's name and message. */
const pick = (text: string | Buffer, keep: string[], cuts: number[] = [], max = Infinity) => {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const picker = new JsonFieldPicker(new Set(keep), max);
  try {
    let from = 0;
    for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b)]) {
      picker.push(bytes.subarray(from, cut));
      from = cut;
    }
    picker.push(bytes.subarray(from));
    return { fields: picker.end() };
  } catch (error) {
    if (!(error instanceof JsonSyntaxError || error instanceof KeptTooLarge)) throw error;
    return { error: `${error.name}: ${error.message}` };
  }
};

/** What JSON.parse makes of `text`, cut down to the kept fields; undefined if not an object. */
const reference = (text: string, keep: string[]) => {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  return Object.fromEntries(Object.entries(value).filter(([key]) => keep.includes(key)));
};

const everyCut = (text: string) => Array.from(Buffer.from(text), (_, i) => i);

test('keeps the named fields before and after skipped ones, whatever the chunks', (t) => {
  const text =
    '{"node": "n", "diff": [{"blockno": 1, "lines": [{"t": "+", "n": 1, "l": "+a \\"}]\\\\"}]}],' +
    ' "files": [], "desc": "x\\"y", "pushdate": [1.5e3, -0], "landingsystem": null}\n';
  const expected = { node: 'n', desc: 'x"y', pushdate: [1500, -0], landingsystem: null };
  const keep = ['node', 'desc', 'pushdate', 'landingsystem'];
  t.deepEqual(pick(text, keep), { fields: expected });
  for (const cut of everyCut(text)) t.deepEqual(pick(text, keep, [cut]), { fields: expected });
  t.deepEqual(pick(text, keep, everyCut(text)), { fields: expected });
});

test('a key written with escapes is the key it spells', (t) => {
  t.deepEqual(pick('{"de\\u0073c": 1}', ['desc']), { fields: { desc: 1 } });
});

test('a key longer than any kept one is not held, only skipped', (t) => {
  const long = 'k'.repeat(10_000);
  t.deepEqual(pick(`{"${long}": {"a": [1]}, "b": 2}`, [long, 'b']), { fields: { b: 2 } });
});

test('says what is wrong and where', (t) => {
  const cases: [string, string][] = [
    ['', 'empty'],
    ['  ', 'ends early, at byte 2'],
    ['[1]', "not a JSON object ('[' at byte 0)"],
    ['{"a": 1} x', "expected nothing after the object, got 'x' at byte 9"],
    ['{"a": 01}', `in "a": expected ',' or '}', got '1' at byte 7`],
    ['{"a": [1, {"b": 2]}', `in "a": expected '}', got ']' at byte 17`],
    ['{"a": tru}', `in "a": expected true, false or null, got '}' at byte 9`],
    ['{"a": 1.}', `in "a": expected a digit, got '}' at byte 8`],
    ['{"a" 1}', "expected ':', got '1' at byte 5"],
    ['{"a": 1,}', "expected a key, got '}' at byte 8"],
    ['{"diff": [{"l": "x', 'in "diff": ends early, at byte 18'],
    ['{"desc": "\\q"}', 'in "desc": Bad escaped character in JSON at position 2'],
  ];
  for (const [text, message] of cases) {
    t.deepEqual(pick(text, ['desc']), { error: `JsonSyntaxError: ${message}` }, text);
  }
});

test('nesting deeper than 512 levels is refused, not followed', (t) => {
  const deep = `{"a": ${'['.repeat(600)}${']'.repeat(600)}}`;
  t.regex(pick(deep, []).error ?? '', /at most 512 levels/);
});

test('the kept fields are capped, the skipped ones are not', (t) => {
  const text = JSON.stringify({ desc: 'x'.repeat(100), diff: 'y'.repeat(10_000) });
  t.deepEqual(pick(text, ['desc'], [], 102), { fields: { desc: 'x'.repeat(100) } });
  t.deepEqual(pick(text, ['desc'], [], 101), {
    error: 'KeptTooLarge: the kept fields are larger than 101 bytes',
  });
});

// -------------------------------------------------------------------------------------------
// Properties

const texts = fc.string({ unit: 'binary', maxLength: 12 });
const objects = fc.dictionary(texts, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 });
const spacing = fc.constantFrom(undefined, 0, 1, 2, '\t');

/** An object as text, the keys to keep (some of its own, some not), and where to cut it. */
const documents = objects.chain((object) =>
  fc.record({
    text: spacing.map((space) => JSON.stringify(object, null, space)),
    keep: fc.subarray([...Object.keys(object), 'node', 'desc', '']),
    cuts: fc.array(fc.nat(), { maxLength: 12 }),
  }),
);

test('property: agrees with JSON.parse on any object, however it is cut', (t) => {
  fc.assert(
    fc.property(documents, ({ text, keep, cuts }) => {
      const bound = Buffer.byteLength(text);
      t.deepEqual(
        pick(
          text,
          keep,
          cuts.map((c) => c % (bound + 1)),
        ),
        {
          fields: reference(text, keep),
        },
      );
    }),
  );
});

test('property: kept fields of up to the cap pass, one byte more does not', (t) => {
  fc.assert(
    fc.property(objects, fc.nat(), (object, seed) => {
      const keys = Object.keys(object);
      if (keys.length === 0) return;
      const keep = [keys[seed % keys.length]!];
      const text = JSON.stringify(object);
      const size = Buffer.byteLength(JSON.stringify(JSON.parse(text)[keep[0]!]));
      t.deepEqual(pick(text, keep, [], size), { fields: reference(text, keep) });
      t.regex(pick(text, keep, [], size - 1).error ?? '', /^KeptTooLarge/);
    }),
  );
});

const mutations = fc.array(
  fc.record({
    at: fc.nat(),
    kind: fc.constantFrom('delete', 'insert', 'replace', 'truncate'),
    char: fc.constantFrom(...'{}[]",:\\0123456789-+.eEtfnul \n\u00e9'),
  }),
  { minLength: 1, maxLength: 4 },
);

const mutate = (text: string, changes: { at: number; kind: string; char: string }[]) =>
  changes.reduce((s, { at, kind, char }) => {
    const i = at % (s.length + 1);
    if (kind === 'delete') return s.slice(0, i) + s.slice(i + 1);
    if (kind === 'insert') return s.slice(0, i) + char + s.slice(i);
    if (kind === 'replace') return s.slice(0, i) + char + s.slice(i + 1);
    return s.slice(0, i);
  }, text);

test('property: mutated text gives fields or a JsonSyntaxError, the same however it is cut', (t) => {
  fc.assert(
    fc.property(documents, mutations, ({ text, keep, cuts }, changes) => {
      const mutated = mutate(text, changes);
      const whole = pick(mutated, keep);
      const bound = Buffer.byteLength(mutated);
      t.deepEqual(
        pick(
          mutated,
          keep,
          cuts.map((c) => c % (bound + 1)),
        ),
        whole,
      );
      const expected = reference(mutated, keep);
      // Where JSON.parse reads an object, so must the picker; where it does not, the picker
      // may still read one when the fault is inside a value it only skips.
      if (expected !== undefined) t.deepEqual(whole, { fields: expected });
      else if ('error' in whole) t.regex(whole.error!, /^JsonSyntaxError: /);
    }),
    { numRuns: 300 },
  );
});
