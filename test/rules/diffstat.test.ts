import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import test from 'ava';
import fc from 'fast-check';
import { DiffstatCounter, diffstatOf } from '../../src/rules/diffstat.js';

interface Totals {
  changedFiles: number;
  additions: number;
  deletions: number;
}

const totals = (changedFiles: number, additions: number, deletions: number): Totals => ({
  changedFiles,
  additions,
  deletions,
});

const sameTotals = (a: Totals, b: Totals): boolean =>
  a.changedFiles === b.changedFiles && a.additions === b.additions && a.deletions === b.deletions;

const countChunks = (chunks: Iterable<Buffer | string>): Totals => {
  const counter = new DiffstatCounter();
  for (const chunk of chunks) counter.push(chunk);
  return counter.result();
};

function* bufferChunks(bytes: Buffer, size: number): Generator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

/** The patch cut at the given offsets (any numbers: they wrap around its length). */
const splitAt = <T extends Buffer | string>(whole: T, offsets: number[]): T[] => {
  const wrapped = offsets.map((offset) => offset % (whole.length + 1));
  const cuts = [...new Set(wrapped)].sort((a, b) => a - b);
  return [0, ...cuts].map((start, i) => whole.slice(start, cuts[i] ?? whole.length) as T);
};

// git apply --numstat reads a patch on stdin, with no repository, and skips what comes before
// the first `diff --git` (here, the hg header and commit message) unless it looks like a hunk.
const hasGit = spawnSync('git', ['--version']).status === 0;
const gitNumstat = (patch: string | Buffer): Totals => {
  const run = spawnSync('git', ['apply', '--numstat'], {
    input: patch,
    cwd: tmpdir(),
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`git apply --numstat failed: ${run.stderr}`);
  const rows = run.stdout.split('\n').filter((row) => row !== '');
  // A binary file shows `-` for both counts.
  const column = (row: string, i: number) => Number(row.split('\t')[i]!.replace('-', '0'));
  return {
    changedFiles: rows.length,
    additions: rows.reduce((sum, row) => sum + column(row, 0), 0),
    deletions: rows.reduce((sum, row) => sum + column(row, 1), 0),
  };
};

/** Lines, each ended by a newline. */
const lines = (...text: string[]): string => text.map((line) => `${line}\n`).join('');

/** `hg export --git` of one changeset: the header, the message, a blank line, the diffs. */
const hgExport = (message: string, ...diffs: string[]): string =>
  lines(
    '# HG changeset patch',
    '# User Jane Doe <jane@example.com>',
    '# Date 1530120920 14400',
    '# Node ID 62a578a28fe94efb7f03138bbfaa458d1c31314e',
    '# Parent  3659a2ff799f0a531283d22d112b08eb23a9ced7',
    message,
    '',
  ) + diffs.join('');

const MODIFIED = lines(
  'diff --git a/dom/base/Element.cpp b/dom/base/Element.cpp',
  '--- a/dom/base/Element.cpp',
  '+++ b/dom/base/Element.cpp',
  '@@ -10,7 +10,8 @@ namespace dom {',
  ' #include "Element.h"',
  ' #include "nsIFrame.h"',
  ' ',
  '-static int sCount = 0;',
  '+static int sCount = 1;',
  '+static bool sReady = false;',
  ' ',
  ' void Element::Init() {',
  '   Setup();',
  '@@ -40,6 +41,4 @@ void Element::Run() {',
  '   if (mFrame) {',
  '     mFrame->Reflow();',
  '   }',
  '-  // TODO: remove',
  '-  Flush();',
  ' }',
  '@@ -80,3 +79,5 @@',
  ' Element::~Element() {',
  '   Release();',
  ' }',
  '+',
  '+// End of file',
);

const NEW_FILE = lines(
  'diff --git a/dom/base/New.h b/dom/base/New.h',
  'new file mode 100644',
  '--- /dev/null',
  '+++ b/dom/base/New.h',
  '@@ -0,0 +1,3 @@',
  '+#pragma once',
  '+',
  '+class New {};',
);

const DELETED_FILE = lines(
  'diff --git a/dom/base/Old.h b/dom/base/Old.h',
  'deleted file mode 100644',
  '--- a/dom/base/Old.h',
  '+++ /dev/null',
  '@@ -1,4 +0,0 @@',
  '-#pragma once',
  '-// Old',
  '-class Old {};',
  '-',
);

const RENAMED = lines(
  'diff --git a/old/name.txt b/new/name.txt',
  'rename from old/name.txt',
  'rename to new/name.txt',
);

const RENAMED_AND_CHANGED = lines(
  'diff --git a/src/a.js b/src/b.js',
  'rename from src/a.js',
  'rename to src/b.js',
  '--- a/src/a.js',
  '+++ b/src/b.js',
  '@@ -1,3 +1,3 @@',
  ' export const a = 1;',
  '-export const b = 2;',
  '+export const b = 3;',
  ' export const c = 4;',
);

const COPIED_AND_MODE_CHANGED = lines(
  'diff --git a/a.txt b/copy.txt',
  'copy from a.txt',
  'copy to copy.txt',
  'diff --git a/run.sh b/run.sh',
  'old mode 100644',
  'new mode 100755',
);

// Made by git diff --binary --full-index, as hg export --git writes them.
const GIT_BINARY_PATCH = lines(
  'diff --git a/logo.png b/logo.png',
  'index 80e9c1d4c4f66c9eb5714541f900ee68b89f0a2d..dac13950ebfeed5d7b0cb965c6c1fc94cbeaf097',
  'GIT binary patch',
  'literal 34',
  'jcmWIWb7x>=V$MiSOi3+bNJ%V7)OB$TanuE~Km->6p2-Q$',
  '',
  'literal 34',
  'ccmWIWb7x>=V$MiSOi3+bNJ%V7)I}w@0HuivP5=M^',
  '',
  'diff --git a/old.bin b/old.bin',
  'deleted file mode 100644',
  'index bc7f5bf3f0c585813c26cdafcfbde802064f2a1e..0000000000000000000000000000000000000000',
  'GIT binary patch',
  'literal 0',
  'HcmV?d00001',
  '',
  'literal 6',
  'NcmZQb&(BL`000Hq0jdB1',
  '',
);

const BINARY_FILES_DIFFER = lines(
  'diff --git a/logo.png b/logo.png',
  'index 80e9c1d..dac1395 100644',
  'Binary files a/logo.png and b/logo.png differ',
);

/** Removed `-- x` is written `--- x`; added `++ y`, `+++ y`. Each is one line, not a header. */
const LINES_LIKE_HEADERS = lines(
  'diff --git a/notes.sql b/notes.sql',
  '--- a/notes.sql',
  '+++ b/notes.sql',
  '@@ -1,4 +1,4 @@',
  '---- a/removed comment',
  '--- sql comment',
  '+++ b/added',
  '++++foo',
  ' context',
  '---foo',
  '+--bar',
);

const NO_NEWLINE_AT_END = lines(
  'diff --git a/version.txt b/version.txt',
  '--- a/version.txt',
  '+++ b/version.txt',
  '@@ -1,2 +1,2 @@',
  ' 1.0',
  '-beta',
  '\\ No newline at end of file',
  '+release',
  '\\ No newline at end of file',
);

/** Lines of the message that look like patch lines; the old counter took `@@ ` for a hunk. */
const TRICKY_MESSAGE = [
  'Bug 1234567 - Keep the counters honest. r=reviewer',
  '',
  '@@ starts a hunk header, but not here',
  '+ added a setting',
  '- removed a workaround',
  '--- dashes',
  'diff of the two approaches:',
].join('\n');

const UNICODE = lines(
  'diff --git a/i18n/fr.txt b/i18n/fr.txt',
  '--- a/i18n/fr.txt',
  '+++ b/i18n/fr.txt',
  '@@ -1,3 +1,3 @@',
  ' Déjà vu — naïve café',
  '-旧的文字 😀',
  '+新的文字 😀🎉',
  ' ½ ∑ ü',
);

interface Sample {
  name: string;
  patch: string;
  expected: Totals;
  /** Whether git apply --numstat takes it: CRLF or a hunk cut short is corrupt to it. */
  git: boolean;
}

const SAMPLES: Sample[] = [
  {
    name: 'a modified file with several hunks',
    patch: hgExport('Bug 1 - Tidy Element. r=me', MODIFIED),
    expected: totals(1, 4, 3),
    git: true,
  },
  {
    name: 'a new file',
    patch: hgExport('Add New.h', NEW_FILE),
    expected: totals(1, 3, 0),
    git: true,
  },
  {
    name: 'a deleted file',
    patch: hgExport('Remove Old.h', DELETED_FILE),
    expected: totals(1, 0, 4),
    git: true,
  },
  {
    name: 'a renamed file without change as one file, no lines',
    patch: hgExport('Move name.txt', RENAMED),
    expected: totals(1, 0, 0),
    git: true,
  },
  {
    name: 'a renamed file with a change',
    patch: hgExport('Rename a.js to b.js', RENAMED_AND_CHANGED),
    expected: totals(1, 1, 1),
    git: true,
  },
  {
    name: 'a copy and a mode change as files, no lines',
    patch: hgExport('Copy and chmod', COPIED_AND_MODE_CHANGED),
    expected: totals(2, 0, 0),
    git: true,
  },
  {
    name: 'binary files given as GIT binary patch as files, no lines',
    patch: hgExport('Update the logo', GIT_BINARY_PATCH),
    expected: totals(2, 0, 0),
    git: true,
  },
  {
    name: 'a binary file given as "Binary files differ"',
    patch: hgExport('Update the logo', BINARY_FILES_DIFFER),
    expected: totals(1, 0, 0),
    git: true,
  },
  {
    name: 'hunk lines whose text starts with -- or ++, once each',
    patch: hgExport('SQL comments', LINES_LIKE_HEADERS),
    expected: totals(1, 3, 3),
    git: true,
  },
  {
    name: 'nothing in a commit message with +, - and @@ lines',
    patch: hgExport(TRICKY_MESSAGE, RENAMED_AND_CHANGED),
    expected: totals(1, 1, 1),
    git: true,
  },
  {
    // git apply refuses it: "patch fragment without header".
    name: 'nothing in a commit message quoting a whole hunk header',
    patch: hgExport('Bug 2 - Explain\n@@ -1,2 +1,2 @@\n+ one\n- two', NEW_FILE),
    expected: totals(1, 3, 0),
    git: false,
  },
  {
    name: 'no "\\ No newline at end of file" line',
    patch: hgExport('Release', NO_NEWLINE_AT_END),
    expected: totals(1, 1, 1),
    git: true,
  },
  {
    name: 'a patch ending without a newline, after "\\ No newline"',
    patch: hgExport('Release', NO_NEWLINE_AT_END).slice(0, -1),
    expected: totals(1, 1, 1),
    git: true,
  },
  {
    name: 'a last line, an addition, without its newline',
    patch: hgExport('Add New.h', NEW_FILE).slice(0, -1),
    expected: totals(1, 3, 0),
    git: false,
  },
  {
    name: 'CRLF line endings as LF',
    patch: hgExport('Bug 1 - Tidy Element. r=me', MODIFIED, NEW_FILE).replaceAll('\n', '\r\n'),
    expected: totals(2, 7, 3),
    git: false,
  },
  { name: 'an empty patch as zeros', patch: '', expected: totals(0, 0, 0), git: false },
  {
    name: 'an empty changeset (header and message only) as zeros',
    patch: hgExport(TRICKY_MESSAGE),
    expected: totals(0, 0, 0),
    git: false,
  },
  {
    name: 'non-ASCII text and file names',
    patch: hgExport('Traduction : café ☕', UNICODE),
    expected: totals(1, 1, 1),
    git: true,
  },
  {
    name: 'everything in one changeset',
    patch: hgExport(
      TRICKY_MESSAGE,
      MODIFIED,
      NEW_FILE,
      DELETED_FILE,
      RENAMED,
      RENAMED_AND_CHANGED,
      COPIED_AND_MODE_CHANGED,
      GIT_BINARY_PATCH,
      LINES_LIKE_HEADERS,
      UNICODE,
      NO_NEWLINE_AT_END,
    ),
    expected: totals(12, 13, 13),
    git: true,
  },
];

for (const sample of SAMPLES) {
  test(`counts ${sample.name}`, (t) => {
    t.deepEqual(countChunks([sample.patch]), sample.expected);
    if (!sample.git) return;
    if (hasGit) t.deepEqual(gitNumstat(sample.patch), sample.expected, 'git apply --numstat');
    else t.log('git not found: not compared with git apply --numstat');
  });
}

test('a unified diff quoted in the message is not counted (git apply counts it)', (t) => {
  const message = ['Revert this:', '--- a/x', '+++ b/x', '@@ -1 +1 @@', '-old', '+new'].join('\n');
  t.deepEqual(countChunks([hgExport(message, RENAMED_AND_CHANGED)]), totals(1, 1, 1));
});

test('every sample counts the same in Buffer chunks of 1, 7 and 4096 bytes', (t) => {
  for (const { name, patch, expected } of SAMPLES) {
    const bytes = Buffer.from(patch);
    for (const size of [1, 7, 4096]) {
      t.deepEqual(countChunks(bufferChunks(bytes, size)), expected, `${name}, ${size}-byte chunks`);
    }
  }
});

test('a cut at any byte of the whole changeset, even inside a character, changes nothing', (t) => {
  const whole = SAMPLES.at(-1)!;
  const bytes = Buffer.from(whole.patch);
  for (let cut = 0; cut <= bytes.length; cut += 1) {
    const got = countChunks(splitAt(bytes, [cut]));
    if (!t.deepEqual(got, whole.expected, `cut at byte ${cut}`)) return;
  }
});

test('strings split inside multi-byte characters (even surrogate pairs) count the same', (t) => {
  const patch = hgExport('Traduction : café ☕', UNICODE, UNICODE);
  const expected = totals(2, 2, 2);
  // Every UTF-16 unit: a lone surrogate turns into U+FFFD, which moves no line start.
  for (let cut = 0; cut <= patch.length; cut += 1) {
    t.deepEqual(countChunks(splitAt(patch, [cut])), expected, `cut at unit ${cut}`);
  }
  t.deepEqual(countChunks([...patch]), expected, 'one character at a time');
  // Cutting before each continuation byte cuts inside a character.
  const bytes = Buffer.from(patch);
  const inside = [...bytes.keys()].filter((i) => (bytes[i]! & 0xc0) === 0x80);
  t.true(inside.length > 20);
  t.deepEqual(countChunks(splitAt(bytes, inside)), expected, 'Buffers cut inside characters');
});

test('very long lines, in one chunk and in odd-sized chunks', (t) => {
  const long = 'x'.repeat(700_000);
  const hunk = lines('@@ -1,3 +1,3 @@', ` ${long}`, `-${long}`, `+${long}`, ' end');
  const file = (i: number) => lines(`diff --git a/f${i} b/f${i}`, `--- a/f${i}`, `+++ b/f${i}`);
  const patch = Buffer.from(hgExport('Huge lines', file(1) + hunk, file(2) + hunk, file(3)));
  t.deepEqual(countChunks([patch]), totals(3, 2, 2), 'one push');
  t.deepEqual(countChunks(bufferChunks(patch, 65_521)), totals(3, 2, 2), '65521-byte chunks');
});

test('a file header cut by a chunk boundary, at every offset, in a hunk and out of one', (t) => {
  const patch = hgExport('x', NEW_FILE, RENAMED, DELETED_FILE);
  const expected = totals(3, 3, 4);
  for (const header of ['\ndiff --git a/old/', '\ndiff --git a/dom/base/Old.h']) {
    const at = patch.indexOf(header);
    for (let cut = at; cut <= at + header.length; cut += 1) {
      // 1-byte chunks around the header, so every partial state is crossed.
      const chunks = [
        patch.slice(0, cut - 3),
        ...patch.slice(cut - 3, cut + 3),
        patch.slice(cut + 3),
      ];
      t.deepEqual(countChunks(chunks), expected, `cut at ${cut}`);
    }
  }
});

test('a hunk header cut by a chunk boundary, at every offset', (t) => {
  const patch = hgExport('x', RENAMED, DELETED_FILE);
  const header = '\n@@ -1,4 +0,0 @@';
  const at = patch.indexOf(header);
  for (let cut = at; cut <= at + header.length; cut += 1) {
    const chunks = [
      patch.slice(0, cut - 3),
      ...patch.slice(cut - 3, cut + 3),
      patch.slice(cut + 3),
    ];
    t.deepEqual(countChunks(chunks), totals(2, 0, 4), `cut at ${cut}`);
  }
});

test('any two cuts, inside `diff --git` and inside characters alike, change nothing', (t) => {
  const patch = hgExport('Traduction : café ☕', UNICODE, UNICODE);
  const bytes = Buffer.from(patch);
  t.true(bytes.length > patch.length, 'multi-byte characters');
  for (let first = 0; first <= bytes.length; first += 1) {
    for (let second = first; second <= bytes.length; second += 1) {
      const got = countChunks(splitAt(bytes, [first, second]));
      if (!t.deepEqual(got, totals(2, 2, 2), `cuts at ${first} and ${second}`)) return;
    }
  }
});

test('the rules, one line at a time', (t) => {
  const file = lines('diff --git a/x b/x', '--- a/x', '+++ b/x');
  const cases: [string, string, Totals][] = [
    [
      '`@@ `, `+` and `-` in the message mean nothing',
      lines('@@ -1 +1 @@', '+a', '-b'),
      totals(0, 0, 0),
    ],
    [
      '`+`/`-` after `diff --git` but before `@@ `',
      lines('diff --git a/x b/x', '+a', '-b'),
      totals(1, 0, 0),
    ],
    [
      'a removed `-- foo` is one deletion',
      file + lines('@@ -1 +0,0 @@', '--- foo'),
      totals(1, 0, 1),
    ],
    [
      'an added `++ foo` is one addition',
      file + lines('@@ -0,0 +1 @@', '+++ foo'),
      totals(1, 1, 0),
    ],
    [
      '`diff --git` leaves the hunk',
      file + lines('@@ -1 +1 @@', '-a', 'diff --git a/y b/y', '-b'),
      totals(2, 0, 1),
    ],
    ['a last `diff --git` without newline', lines('m') + 'diff --git', totals(1, 0, 0)],
    ['a last `diff --gi` without newline', lines('m') + 'diff --gi', totals(0, 0, 0)],
    ['a last `-` without newline', file + lines('@@ -1 +0,0 @@') + '-', totals(1, 0, 1)],
    ['`@@` without its space', file + lines('@@-1 +0,0 @@', '-a'), totals(1, 0, 0)],
    [
      '`diff --git` not at a line start',
      file + lines('@@ -1 +1 @@', ' diff --git a/y b/y', '-a'),
      totals(1, 0, 1),
    ],
  ];
  for (const [name, patch, expected] of cases) {
    t.deepEqual(countChunks([patch]), expected, name);
    t.deepEqual(
      countChunks(bufferChunks(Buffer.from(patch), 1)),
      expected,
      `${name}, byte by byte`,
    );
  }
});

test('a line start is only after a newline, however a long line is cut', (t) => {
  const file = lines('diff --git a/x b/x', '--- a/x', '+++ b/x', '@@ -1 +1 @@');
  const long = 'y'.repeat(100_000);
  const chunks = [
    file,
    ` ${long}`,
    'diff --git a/z b/z',
    long,
    '+',
    long,
    '-',
    long,
    '@@ \n',
    '-x\n',
  ];
  t.deepEqual(countChunks(chunks), totals(1, 0, 1));
});

test('counters fed in turns keep to their own streams', (t) => {
  const first = Buffer.from(SAMPLES.at(-1)!.patch);
  const second = Buffer.from(hgExport('Tidy', MODIFIED, NEW_FILE).replaceAll('\n', '\r\n'));
  const counters = [new DiffstatCounter(), new DiffstatCounter()];
  const streams = [[...bufferChunks(first, 13)], [...bufferChunks(second, 5)]];
  for (let i = 0; i < Math.max(...streams.map((chunks) => chunks.length)); i += 1) {
    streams.forEach((chunks, which) => counters[which]!.push(chunks[i] ?? ''));
  }
  t.deepEqual(counters[0]!.result(), SAMPLES.at(-1)!.expected);
  t.deepEqual(counters[1]!.result(), totals(2, 7, 3));
});

test('result() before any input, and empty chunks, are harmless', (t) => {
  const counter = new DiffstatCounter();
  t.deepEqual(counter.result(), totals(0, 0, 0));
  counter.push('');
  counter.push(Buffer.alloc(0));
  counter.push(MODIFIED);
  counter.push('');
  t.deepEqual(counter.result(), totals(1, 4, 3));
  t.deepEqual(counter.result(), totals(1, 4, 3), 'result() can be asked again');
});

test('diffstatOf reads arrays, generators and streams', async (t) => {
  const patch = hgExport('m', MODIFIED, NEW_FILE);
  const expected = totals(2, 7, 3);
  t.deepEqual(await diffstatOf([patch]), expected);
  t.deepEqual(await diffstatOf(bufferChunks(Buffer.from(patch), 5)), expected);
  t.deepEqual(await diffstatOf(Readable.from(bufferChunks(Buffer.from(patch), 64))), expected);
  t.deepEqual(await diffstatOf([]), totals(0, 0, 0));
});

// ---------------------------------------------------------------------------------------
// Properties

const TEXT = fc.constantFrom(
  '',
  'x',
  'int a = 0;',
  '-- comment',
  '++i;',
  '--- a/fake',
  '+++ b/fake',
  '@@ -1 +1 @@ fake',
  'diff --git a/fake b/fake',
  'é中😀',
  '\\ backslash',
  'd',
);

const HUNK = fc
  .record({
    before: fc.array(TEXT, { minLength: 1, maxLength: 3 }),
    removed: fc.array(TEXT, { maxLength: 5 }),
    added: fc.array(TEXT, { maxLength: 5 }),
    after: fc.array(TEXT, { maxLength: 3 }),
    gap: fc.nat(20),
  })
  .filter((hunk) => hunk.removed.length + hunk.added.length > 0);

type Hunk = typeof HUNK extends fc.Arbitrary<infer T> ? T : never;
type FileDiff = { text: string } & Totals;

/** Hunks with consistent headers, as git checks them; optionally no newline at the end. */
const renderHunks = (hunks: Hunk[], noNewline: boolean): FileDiff => {
  const out: string[] = [];
  let old = 1;
  let offset = 0;
  for (const { before, removed, added, after, gap } of hunks) {
    const oldCount = before.length + removed.length + after.length;
    const newCount = before.length + added.length + after.length;
    out.push(`@@ -${old + gap},${oldCount} +${old + gap + offset},${newCount} @@`);
    out.push(...before.map((s) => ` ${s}`), ...removed.map((s) => `-${s}`));
    out.push(...added.map((s) => `+${s}`), ...after.map((s) => ` ${s}`));
    old += gap + oldCount;
    offset += added.length - removed.length;
  }
  if (noNewline) out.push('\\ No newline at end of file');
  return {
    text: lines(...out),
    changedFiles: 1,
    additions: hunks.reduce((sum, hunk) => sum + hunk.added.length, 0),
    deletions: hunks.reduce((sum, hunk) => sum + hunk.removed.length, 0),
  };
};

const FILE: fc.Arbitrary<(name: string) => FileDiff> = fc.oneof(
  fc
    .tuple(fc.array(HUNK, { minLength: 1, maxLength: 3 }), fc.boolean())
    .map(([hunks, noNewline]) => (name: string) => {
      const body = renderHunks(hunks, noNewline);
      const head = lines(`diff --git a/${name} b/${name}`, `--- a/${name}`, `+++ b/${name}`);
      return { ...body, text: head + body.text };
    }),
  fc
    .tuple(fc.array(TEXT, { minLength: 1, maxLength: 6 }), fc.boolean())
    .map(([content, added]) => (name: string) => {
      const sign = added ? '+' : '-';
      const count = content.length;
      return {
        text: lines(
          `diff --git a/${name} b/${name}`,
          added ? 'new file mode 100644' : 'deleted file mode 100644',
          added ? '--- /dev/null' : `--- a/${name}`,
          added ? `+++ b/${name}` : '+++ /dev/null',
          added ? `@@ -0,0 +1,${count} @@` : `@@ -1,${count} +0,0 @@`,
          ...content.map((s) => sign + s),
        ),
        ...totals(1, added ? count : 0, added ? 0 : count),
      };
    }),
  fc.constantFrom(
    (name: string) => ({
      text: lines(
        `diff --git a/${name} b/moved-${name}`,
        `rename from ${name}`,
        `rename to moved-${name}`,
      ),
      ...totals(1, 0, 0),
    }),
    (name: string) => ({
      text: lines(`diff --git a/${name} b/${name}`, 'old mode 100644', 'new mode 100755'),
      ...totals(1, 0, 0),
    }),
    (name: string) => ({
      text: GIT_BINARY_PATCH.replaceAll('logo.png', name).replaceAll('old.bin', `${name}.bin`),
      ...totals(2, 0, 0),
    }),
  ),
);

const MESSAGE = fc.array(
  fc.constantFrom(
    'Bug 1 - fix r=me',
    '+ plus',
    '- minus',
    '@@ fake',
    '--- dashes',
    'diff',
    'd',
    '',
  ),
  { maxLength: 6 },
);

/** A well-formed `hg export --git` patch and its totals, known by construction. */
const PATCH = fc
  .tuple(MESSAGE, fc.array(FILE, { minLength: 1, maxLength: 5 }))
  .map(([message, files]) => {
    const diffs = files.map((file, i) => file(`dir/file${i}.txt`));
    return {
      text: hgExport(message.join('\n'), ...diffs.map((diff) => diff.text)),
      expected: diffs.reduce(
        (sum, diff) =>
          totals(
            sum.changedFiles + diff.changedFiles,
            sum.additions + diff.additions,
            sum.deletions + diff.deletions,
          ),
        totals(0, 0, 0),
      ),
    };
  });

test('property: any split of a well-formed patch gives its totals, LF or CRLF', (t) => {
  fc.assert(
    fc.property(
      PATCH,
      fc.boolean(),
      fc.array(fc.nat(), { maxLength: 40 }),
      ({ text, expected }, crlf, offsets) => {
        const bytes = Buffer.from(crlf ? text.replaceAll('\n', '\r\n') : text);
        const whole = countChunks([bytes]);
        const split = countChunks(splitAt(bytes, offsets));
        return sameTotals(whole, expected) && sameTotals(split, expected);
      },
    ),
    { numRuns: 300 },
  );
  t.pass();
});

const gitTest = hasGit ? test : test.skip;
gitTest('property: well-formed patches count as git apply --numstat does', (t) => {
  fc.assert(
    fc.property(PATCH, ({ text, expected }) => {
      return sameTotals(gitNumstat(text), expected) && sameTotals(countChunks([text]), expected);
    }),
    { numRuns: 25 },
  );
  t.pass();
});

/**
 * The rules, read line by line over the whole text at once: the streaming counter must agree
 * with them on any input at all, however it is cut, well-formed or not.
 */
const lineByLine = (bytes: Buffer): Totals => {
  const counted = totals(0, 0, 0);
  let section: 'message' | 'header' | 'hunk' = 'message';
  for (const line of bytes.toString('latin1').split('\n')) {
    if (line.startsWith('diff --git')) {
      counted.changedFiles += 1;
      section = 'header';
    } else if (section === 'header' && line.startsWith('@@ ')) section = 'hunk';
    else if (section === 'hunk' && line.startsWith('+')) counted.additions += 1;
    else if (section === 'hunk' && line.startsWith('-')) counted.deletions += 1;
  }
  return counted;
};

const SOUP_LINE = fc
  .tuple(
    fc.constantFrom(
      ...['diff --git a/x b/x', 'diff --git', 'diff --gi', 'd', '@@ -1 +1 @@', '@@ ', '@@'],
      ...['+', '+', '+', '-', '-', '-', ' ', '--- a/x', '+++ b/x', '\\ No newline', '', '#'],
    ),
    fc.constantFrom('', 'x', 'é', '--', '++', 'abcdefghijklmnopqrstuvwxyz', ' diff --git'),
  )
  .map(([start, rest]) => start + rest);

test('property: on any text, whatever the cuts, the counter follows the line rules', (t) => {
  const soup = fc
    .tuple(fc.array(SOUP_LINE, { minLength: 1, maxLength: 200 }), fc.constantFrom('\n', '\r\n'))
    .map(([soupLines, eol]) => Buffer.from(soupLines.join(eol)));
  fc.assert(
    fc.property(soup, fc.array(fc.nat(), { maxLength: 60 }), (bytes, offsets) =>
      sameTotals(countChunks(splitAt(bytes, offsets)), lineByLine(bytes)),
    ),
    { numRuns: 1000 },
  );
  t.pass();
});
