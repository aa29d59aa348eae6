import type { Diffstat } from '../codecs/ping.js';

const NEWLINE = 0x0a;
const PLUS = 0x2b;
const MINUS = 0x2d;
const AT = 0x40;
const D = 0x64;
const FILE_HEADER = Buffer.from('diff --git');
const HUNK_HEADER = Buffer.from('@@ ');
/** The longest prefix a line is ever tested for. */
const PREFIX = FILE_HEADER.length;

/**
 * Counts a `git diff` / `hg export --git` patch as it streams past, one line at a time,
 * holding at most the first few bytes of one line across chunks:
 *   `diff --git ...`  a new file; leaves the hunk
 *   `@@ ...`          enters a hunk
 *   `+...` / `-...`   inside a hunk, an addition / a deletion
 * Everything else (the commit message, `---`/`+++` headers, rename and binary notes) is
 * ignored, which makes the totals those of `git apply --numstat`.
 */
export class DiffstatCounter {
  private changedFiles = 0;
  private additions = 0;
  private deletions = 0;
  private inHunk = false;
  /** The start of the current line, while fewer than PREFIX bytes of it have been seen. */
  private pending: Buffer | null = null;
  /** The current line is already counted; skip to its end. */
  private skipping = false;

  /** Feeds the next piece of the patch; pieces may split lines or characters anywhere. */
  push(chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let pos = 0;
    if (this.skipping) {
      const end = bytes.indexOf(NEWLINE);
      if (end < 0) return;
      this.skipping = false;
      pos = end + 1;
    } else if (this.pending !== null) {
      pos = this.completePending(bytes);
      if (pos < 0) return;
    }
    const length = bytes.length;
    while (pos < length) {
      const end = bytes.indexOf(NEWLINE, pos);
      if (end < 0) {
        if (length - pos < PREFIX) {
          this.pending = Buffer.from(bytes.subarray(pos));
        } else {
          this.countLine(bytes, pos, length);
          this.skipping = true;
        }
        return;
      }
      this.countLine(bytes, pos, end);
      pos = end + 1;
    }
  }

  /** The totals so far; call once the stream has ended (a last line needs no newline). */
  result(): Diffstat {
    if (this.pending !== null) {
      this.countLine(this.pending, 0, this.pending.length);
      this.pending = null;
    }
    return {
      changedFiles: this.changedFiles,
      additions: this.additions,
      deletions: this.deletions,
    } as Diffstat;
  }

  /** Joins a line begun in an earlier chunk; answers where this chunk's next line starts. */
  private completePending(bytes: Buffer): number {
    const held = this.pending!;
    const newline = bytes.indexOf(NEWLINE);
    const take = Math.min(PREFIX - held.length, newline < 0 ? bytes.length : newline);
    const start = Buffer.concat([held, bytes.subarray(0, take)]);
    if (newline < 0 && start.length < PREFIX) {
      this.pending = start;
      return -1;
    }
    this.pending = null;
    this.countLine(start, 0, start.length);
    if (newline < 0) {
      this.skipping = true;
      return -1;
    }
    return newline + 1;
  }

  /** Counts the line that starts at `start` and whose visible bytes end before `end`. */
  private countLine(bytes: Buffer, start: number, end: number): void {
    if (start === end) return;
    const first = bytes[start];
    if (this.inHunk) {
      if (first === PLUS) {
        this.additions += 1;
        return;
      }
      if (first === MINUS) {
        this.deletions += 1;
        return;
      }
    }
    if (
      first === D &&
      end - start >= PREFIX &&
      bytes.compare(FILE_HEADER, 0, PREFIX, start, start + PREFIX) === 0
    ) {
      this.changedFiles += 1;
      this.inHunk = false;
    } else if (
      first === AT &&
      end - start >= 3 &&
      bytes.compare(HUNK_HEADER, 0, 3, start, start + 3) === 0
    ) {
      this.inHunk = true;
    }
  }
}

/** The diffstat of a whole patch given as a sequence of chunks (a stream, an array...). */
export const diffstatOf = async (
  chunks: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
): Promise<Diffstat> => {
  const counter = new DiffstatCounter();
  for await (const chunk of chunks) counter.push(chunk);
  return counter.result();
};
