/**
 * json-rev's `files` and `diff` as hg.mozilla.org serves them, derived from a git patch
 * (`raw-rev`): the recorded fixtures, the synthetic data and the benchmarks all carry them,
 * so the client meets answers as large and as shaped as the real ones.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/** A `files` entry: every path the changeset touches, sorted. */
export interface HgFile {
  readonly file: string;
  readonly status: 'added' | 'modified' | 'removed';
}

/** A `diff` line: its kind by first character, its number in the block, and its text. */
export interface HgDiffLine {
  readonly t: '' | '+' | '-' | '@';
  readonly n: number;
  readonly l: string;
}

export interface HgDiffBlock {
  readonly blockno: number;
  readonly lines: HgDiffLine[];
}

const FILE_HEADER = /^diff --git a\/(.*) b\/(.*)\n?$/;

const kindOf = (line: string): HgDiffLine['t'] => {
  const first = line[0];
  return first === '+' || first === '-' || first === '@' ? first : '';
};

/** The paths a patch touches, with hg's statuses: a rename removes one path and adds one. */
export const filesOfPatch = (lines: Iterable<string>): HgFile[] => {
  const statuses = new Map<string, HgFile['status']>();
  let from = '';
  let to = '';
  for (const line of lines) {
    const header = FILE_HEADER.exec(line);
    if (header !== null) {
      [from, to] = [header[1]!, header[2]!];
      statuses.set(to, 'modified');
    } else if (line.startsWith('new file mode') || line.startsWith('copy to ')) {
      statuses.set(to, 'added');
    } else if (line.startsWith('deleted file mode')) {
      statuses.set(from, 'removed');
    } else if (line.startsWith('rename to ')) {
      statuses.set(from, 'removed');
      statuses.set(to, 'added');
    }
  }
  return [...statuses]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([file, status]) => ({ file, status }));
};

/**
 * The diff lines of a patch with their block numbers: one block per file, as hgweb cuts them,
 * without the `diff --git` line; what comes before the first file (the commit message of an
 * `hg export`) is no part of it.
 */
export function* diffLinesOfPatch(
  lines: Iterable<string>,
): Generator<{ blockno: number; line: HgDiffLine }> {
  let blockno = 0;
  let n = 0;
  for (const line of lines) {
    if (FILE_HEADER.test(line)) {
      blockno += 1;
      n = 0;
      continue;
    }
    if (blockno === 0) continue;
    n += 1;
    yield { blockno, line: { t: kindOf(line), n, l: line } };
  }
}

/** Splits a patch into lines, each with its newline. */
export const linesOf = (patch: string): string[] => patch.match(/[^\n]*\n|[^\n]+$/g) ?? [];

/** `files` and `diff` of a patch small enough to hold. */
export const filesAndDiff = (patch: string): { files: HgFile[]; diff: HgDiffBlock[] } => {
  const lines = linesOf(patch);
  const diff: HgDiffBlock[] = [];
  for (const { blockno, line } of diffLinesOfPatch(lines)) {
    if (diff.length < blockno) diff.push({ blockno, lines: [] });
    diff[blockno - 1]!.lines.push(line);
  }
  return { files: filesOfPatch(lines), diff };
};

/** A json-rev answer without the two fields derived from its patch. */
export const withoutFilesAndDiff = (changeset: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(changeset).filter(([key]) => key !== 'files' && key !== 'diff'),
  );

const indented = (value: unknown): string => JSON.stringify(value, null, 2).replace(/\n/g, '\n  ');

/**
 * A json-rev answer as text, piece by piece: the changeset's fields with `files` and `diff`
 * after `parents` (so that kept fields come on both sides of them), one diff line a line.
 * `patchLines` is called twice, once for `files` and once for `diff`, so that a patch of any
 * size can be read twice rather than held.
 */
export function* jsonRevText(
  changeset: Record<string, unknown>,
  patchLines: () => Iterable<string>,
): Generator<string> {
  const entries = Object.entries(changeset);
  const cut = entries.findIndex(([key]) => key === 'parents') + 1 || entries.length;
  const fields = (part: [string, unknown][]) =>
    part.map(([key, value]) => `  ${JSON.stringify(key)}: ${indented(value)},\n`).join('');
  yield `{\n${fields(entries.slice(0, cut))}`;
  const files = filesOfPatch(patchLines()).map(
    ({ file, status }) =>
      `    {"file": ${JSON.stringify(file)}, "status": ${JSON.stringify(status)}}`,
  );
  yield `  "files": [${files.length > 0 ? `\n${files.join(',\n')}\n  ` : ''}],\n  "diff": [`;
  let block = 0;
  for (const { blockno, line } of diffLinesOfPatch(patchLines())) {
    if (blockno !== block) {
      yield `${block === 0 ? '' : '\n    ]},'}\n    {"blockno": ${blockno}, "lines": [\n`;
      block = blockno;
    } else {
      yield ',\n';
    }
    yield `      {"t": ${JSON.stringify(line.t)}, "n": ${line.n}, "l": ${JSON.stringify(line.l)}}`;
  }
  yield `${block === 0 ? '' : '\n    ]}\n  '}]`;
  const rest = fields(entries.slice(cut));
  yield rest === '' ? '\n}\n' : `,\n${rest.slice(0, -2)}\n}\n`;
}

/** Joins small pieces of text into pieces of at least `size` characters. */
export function* batched(pieces: Iterable<string>, size = 1 << 16): Generator<string> {
  let parts: string[] = [];
  let pending = 0;
  for (const piece of pieces) {
    parts.push(piece);
    pending += piece.length;
    if (pending >= size) {
      yield parts.join('');
      parts = [];
      pending = 0;
    }
  }
  if (pending > 0) yield parts.join('');
}

/** A json-rev answer as a stream, generated as it is read, never held. */
export const jsonRevStream = (
  changeset: Record<string, unknown>,
  patchLines: () => Iterable<string>,
): Readable => Readable.from(batched(jsonRevText(changeset, patchLines)), { objectMode: false });

/** The lines of a file on disk, read 1 MiB at a time. */
export function* fileLines(path: string): Generator<string> {
  const fd = openSync(path, 'r');
  const buffer = Buffer.alloc(1 << 20);
  const decoder = new StringDecoder('utf8');
  let rest = '';
  try {
    for (let read = readSync(fd, buffer); read > 0; read = readSync(fd, buffer)) {
      const lines = linesOf(rest + decoder.write(buffer.subarray(0, read)));
      rest = lines.at(-1)?.endsWith('\n') === false ? lines.pop()! : '';
      yield* lines;
    }
    rest += decoder.end();
    if (rest !== '') yield rest;
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes the json-rev of `changeset` with the `files` and `diff` of the patch at `patchPath`
 * to `outPath`, 1 MiB at a time: neither is ever held whole. Answers its size in bytes.
 */
export const writeJsonRevFile = (
  outPath: string,
  changeset: Record<string, unknown>,
  patchPath: string,
): number => {
  const fd = openSync(outPath, 'w');
  let written = 0;
  try {
    for (const text of batched(
      jsonRevText(changeset, () => fileLines(patchPath)),
      1 << 20,
    )) {
      written += writeSync(fd, text);
    }
  } finally {
    closeSync(fd);
  }
  return written;
};
