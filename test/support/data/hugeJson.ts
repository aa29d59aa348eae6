/**
 * Bodies too large to hold, generated as they are read: for tests and benchmarks that need
 * an upstream answering hundreds of megabytes, or never finishing.
 */
import { Readable } from 'node:stream';

const FILL = 'x'.repeat(1 << 16);

/**
 * `{...head, "<field>": "xxx…"}` with a string of `bytes` characters (Infinity: it never
 * ends), so a client that holds the answer or the field runs out of memory.
 */
export const jsonWithHugeString = (
  bytes: number,
  field = 'padding',
  head: Record<string, unknown> = {},
): Readable => {
  function* text(): Generator<string> {
    const fields = JSON.stringify(head).slice(1, -1);
    yield `{${fields}${fields === '' ? '' : ', '}${JSON.stringify(field)}: "`;
    for (let left = bytes; left > 0; left -= FILL.length) {
      yield left >= FILL.length ? FILL : FILL.slice(0, left);
    }
    yield '"}';
  }
  return Readable.from(text(), { objectMode: false });
};

const CODE = [
  '  nsresult rv = NS_OK;',
  '  if (!aFrame) {',
  '    return NS_ERROR_FAILURE;',
  '  }',
  '  RefPtr<Element> element = mozilla::dom::Element::FromNode(aContent);',
  '  // "quoted" and \\backslashed\\ text, a tab\there, and café',
  '  width = std::max(width, aRect.width);',
  '',
];

/**
 * The lines of a git patch of about `bytes` bytes: files of 6 hunks of 30 lines, a third of
 * them added, a third removed. Its diffstat follows from its size, so it is not for counting.
 */
export function* syntheticPatchLines(bytes: number): Generator<string> {
  let size = 0;
  for (let file = 0; size < bytes; file += 1) {
    const path = `dom/generated/File${file}.cpp`;
    const header = `diff --git a/${path} b/${path}\n--- a/${path}\n+++ b/${path}\n`;
    size += header.length;
    yield* header.match(/[^\n]*\n/g)!;
    for (let hunk = 0; hunk < 6; hunk += 1) {
      const at = 1 + hunk * 100;
      const line = `@@ -${at},20 +${at},20 @@\n`;
      size += line.length;
      yield line;
      for (let i = 0; i < 30; i += 1) {
        const text = `${' +-'[i % 3]}${CODE[(file + hunk + i) % CODE.length]}\n`;
        size += text.length;
        yield text;
      }
    }
  }
}
