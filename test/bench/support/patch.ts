/**
 * The patch the benchmarks count: a generated `hg export --git` text of any size, written
 * to a file without being held in memory, with its true totals; and GNU diffstat's summary.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

const CHUNK_SIZE = 1024 * 1024;

export interface Totals {
  changedFiles: number;
  additions: number;
  deletions: number;
}

/** A fixed seed keeps every run on the same patch, so figures compare across commits. */
const xorshift = (seed: number) => {
  let state = seed >>> 0 || 1;
  return (bound: number): number => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state % bound;
  };
};

const WORDS = [
  'const', 'let', 'return', 'if', 'else', 'nsresult', 'rv', 'aFrame', 'mozilla', 'dom',
  'RefPtr<Element>', 'nullptr', '=', '==', '->', '(', ')', '{', '}', ';', 'NS_ENSURE_SUCCESS',
  'this', 'self', 'await', 'function', 'width', 'height', '0', '1', '"string"', 'café', '//',
]; // prettier-ignore

/**
 * Source-like lines of 0 to ~150 characters (about 55 on average), a few non-ASCII; some
 * begin with `-- ` or `++` so that hunk lines such as `--- x` and `+++y` are in the load.
 */
const linePool = (random: (bound: number) => number): string[] => {
  const pool: string[] = [];
  for (let i = 0; i < 4096; i += 1) {
    const indent = ' '.repeat(2 * random(5));
    const words: string[] = [];
    const wanted = random(8) === 0 ? 0 : 1 + random(20);
    for (let w = 0; w < wanted; w += 1) words.push(WORDS[random(WORDS.length)]!);
    const lead = i % 97 === 0 ? '-- ' : i % 89 === 0 ? '++' : '';
    pool.push(lead + indent + words.join(' '));
  }
  return pool;
};

/** Writes through a 1 MiB buffer so that generating never holds the patch in memory. */
const batchedWriter = (fd: number) => {
  let parts: string[] = [];
  let size = 0;
  let written = 0;
  const flush = () => {
    written += writeSync(fd, parts.join(''));
    parts = [];
    size = 0;
  };
  return {
    write(text: string) {
      parts.push(text);
      size += text.length;
      if (size >= CHUNK_SIZE) flush();
    },
    close(): number {
      flush();
      return written;
    },
  };
};

/** A new (1 in 20) or deleted (1 in 20) file: one hunk of 1 to 300 lines. */
const wholeFileDiff = (path: string, added: boolean, lines: string[], totals: Totals) => {
  const out = [
    `diff --git a/${path} b/${path}\n`,
    added ? 'new file mode 100644\n' : 'deleted file mode 100644\n',
    added ? `--- /dev/null\n+++ b/${path}\n` : `--- a/${path}\n+++ /dev/null\n`,
    added ? `@@ -0,0 +1,${lines.length} @@\n` : `@@ -1,${lines.length} +0,0 @@\n`,
  ];
  const sign = added ? '+' : '-';
  for (const line of lines) out.push(sign, line, '\n');
  if (added) totals.additions += lines.length;
  else totals.deletions += lines.length;
  return out.join('');
};

/** A modified file: 1 to 8 hunks, each of 3 context lines, changes, 3 context lines. */
const modifiedFileDiff = (
  path: string,
  random: (bound: number) => number,
  pick: () => string,
  totals: Totals,
) => {
  const out = [`diff --git a/${path} b/${path}\n--- a/${path}\n+++ b/${path}\n`];
  let line = 1 + random(50);
  for (let hunks = 1 + random(8); hunks > 0; hunks -= 1) {
    // git apply calls a hunk with no change corrupt, and diffstat does not count its file.
    const removed = random(30);
    const added = removed === 0 ? 1 + random(29) : random(30);
    out.push(`@@ -${line},${removed + 6} +${line},${added + 6} @@\n`);
    for (let i = 0; i < 3; i += 1) out.push(' ', pick(), '\n');
    for (let i = 0; i < removed; i += 1) out.push('-', pick(), '\n');
    for (let i = 0; i < added; i += 1) out.push('+', pick(), '\n');
    for (let i = 0; i < 3; i += 1) out.push(' ', pick(), '\n');
    totals.additions += added;
    totals.deletions += removed;
    line += removed + 6 + random(200);
  }
  return out.join('');
};

/** Writes an `hg export --git` patch of about `bytes` bytes; answers its true totals. */
export const generatePatch = (path: string, bytes: number): Totals & { bytes: number } => {
  const random = xorshift(0x5eed);
  const pool = linePool(random);
  const pick = () => pool[random(pool.length)]!;
  const totals: Totals = { changedFiles: 0, additions: 0, deletions: 0 };
  const fd = openSync(path, 'w');
  const writer = batchedWriter(fd);
  writer.write(
    '# HG changeset patch\n# User Bench <bench@example.com>\n# Date 1530120920 14400\n' +
      '# Node ID 62a578a28fe94efb7f03138bbfaa458d1c31314e\n' +
      '# Parent  3659a2ff799f0a531283d22d112b08eb23a9ced7\n' +
      'Bug 1 - Reformat the whole tree. r=bench\n\n',
  );
  // Lengths in UTF-16 units: the few non-ASCII characters make the file a little larger.
  for (let index = 0, approx = 0; approx < bytes; index += 1) {
    const path = `dom/module${index % 211}/File${index}.cpp`;
    const kind = random(20);
    const diff =
      kind <= 1
        ? wholeFileDiff(path, kind === 0, Array.from({ length: 1 + random(300) }, pick), totals)
        : modifiedFileDiff(path, random, pick, totals);
    totals.changedFiles += 1;
    approx += diff.length;
    writer.write(diff);
  }
  const written = writer.close();
  closeSync(fd);
  return { ...totals, bytes: written };
};

/** Parses ` 3 files changed, 10 insertions(+), 2 deletions(-)`; diffstat omits zero parts. */
export const parseDiffstatSummary = (text: string): Totals | undefined => {
  const summary = /(\d+) files? changed(?:, (\d+) insertions?\(\+\))?(?:, (\d+) deletions?\(-\))?/;
  const match = summary.exec(text);
  if (match === null) return undefined;
  return {
    changedFiles: Number(match[1]),
    additions: Number(match[2] ?? 0),
    deletions: Number(match[3] ?? 0),
  };
};

export const showTotals = (t: Totals) => `${t.changedFiles} files, +${t.additions} -${t.deletions}`;

export const sameTotals = (a: Totals | undefined, b: Totals | undefined) =>
  a !== undefined &&
  b !== undefined &&
  a.changedFiles === b.changedFiles &&
  a.additions === b.additions &&
  a.deletions === b.deletions;
