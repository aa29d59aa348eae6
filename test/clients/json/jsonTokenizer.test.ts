import test from 'ava';
import fc from 'fast-check';
import { JsonTokenizer } from '../../../src/clients/json/tokenizer.js';

class Failed extends Error {}

/**
 * Feeds `text` to a tokenizer in the pieces cut at `cuts`, beginning at its first byte: the
 * byte offset where the tokenizer says the value ends, -1 if it never does, or the failure.
 */
const scan = (text: string, cuts: number[] = []) => {
  const bytes = Buffer.from(text);
  const tokens = new JsonTokenizer((_, i, expected) => {
    throw new Failed(`expected ${expected} at ${i}`);
  });
  const bounds = [...new Set(cuts.filter((c) => c > 1 && c < bytes.length))].sort((a, b) => a - b);
  let from = 0;
  try {
    tokens.begin(bytes, 0);
    for (const to of [...bounds, bytes.length]) {
      const chunk = bytes.subarray(from, to);
      const end = tokens.scan(chunk, from === 0 ? 1 : 0);
      if (end >= 0) return from + end;
      from = to;
    }
    return -1;
  } catch (error) {
    if (error instanceof Failed) return error.message;
    throw error;
  }
};

test('finds the end of each kind of value, the next byte left unread', (t) => {
  const cases: [string, number][] = [
    ['"a\\"b" ,', 6],
    ['"\\\\" x', 4],
    ['{"a": [1, "]}"], "b": {}}]', 25],
    ['[[], [[]]],', 10],
    ['true,', 4],
    ['null}', 4],
    ['-0.5e+10,', 8],
    ['0]', 1],
    ['12', -1],
    ['"open', -1],
  ];
  for (const [text, end] of cases) t.is(scan(text), end, text);
});

test('says what it expected and where', (t) => {
  t.is(scan('tru}'), 'expected true, false or null at 3');
  t.is(scan('-x'), 'expected a digit at 1');
  t.is(scan('1e,'), 'expected an exponent at 2');
  t.is(scan('[1}'), "expected ']' at 2");
  t.is(scan('x'), 'expected a value at 0');
  t.regex(String(scan(`${'['.repeat(600)}${']'.repeat(600)}`)), /at most 512 levels/);
});

// Any JSON value as text, then a byte that is not part of it, cut anywhere: the tokenizer
// says it ends right where its text does.
const values = fc.record({
  value: fc.jsonValue({ maxDepth: 4 }),
  space: fc.constantFrom(undefined, 0, 2, '\t'),
  after: fc.constantFrom(',', '}', ']', ' ', '\n'),
  cuts: fc.array(fc.nat(), { maxLength: 16 }),
});

test('property: any JSON value ends where its text does, however it is cut', (t) => {
  fc.assert(
    fc.property(values, ({ value, space, after, cuts }) => {
      const text = JSON.stringify(value, null, space);
      const bytes = Buffer.byteLength(text);
      t.is(
        scan(
          text + after,
          cuts.map((c) => c % (bytes + 2)),
        ),
        bytes,
      );
    }),
    { numRuns: 500 },
  );
});

test('property: strings of any characters and escapes end at their closing quote', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), fc.array(fc.nat()), (s, cuts) => {
      const text = JSON.stringify(s);
      const bytes = Buffer.byteLength(text);
      t.is(
        scan(
          `${text}"x"`,
          cuts.map((c) => c % (bytes + 3)),
        ),
        bytes,
      );
    }),
    { numRuns: 500 },
  );
});
