import type { Diffstat } from '../codecs/ping.js';

const NEWLINE = 0x0a;
const PLUS = 0x2b;
const MINUS = 0x2d;
const FILE_HEADER = Buffer.from('diff --git');
const HUNK_HEADER = Buffer.from('@@ ');

/**
 * Counts a `git diff` / `hg export --git` patch as it streams past, line by line in one pass:
 *   a line starting `diff --git`  is a new file, and leaves the hunk;
 *   a line starting `@@ `         after a `diff --git`, enters a hunk;
 *   a line starting `+` / `-`     inside a hunk, is an addition / a deletion.
 * Everything else is ignored: the commit message before the first `diff --git` (it may quote
 * a patch), and the `---`/`+++`, rename, mode and binary lines before a file's first `@@ `
 * (a rename or binary file is a file of 0 lines). In a hunk, a removed `-- foo` is written
 * `--- foo`: one deletion. So the totals are `git apply --numstat`'s, summed over the files.
 *
 * Chunks may split lines, even characters, anywhere. A patch can be hundreds of megabytes,
 * so a counter keeps only the first bytes of a line cut by a chunk boundary, as few as tell
 * what the line is.
 */
export class DiffstatCounter {
  private changedFiles = 0;
  private additions = 0;
  private deletions = 0;
  private section: 'message' | 'header' | 'hunk' = 'message';
  /** The start of a line cut by a chunk boundary, while still too short to tell. */
  private readonly head = Buffer.alloc(FILE_HEADER.length);
  private headLength = 0;
  /** Whether the line being read has been told already, so its rest can be skipped. */
  private told = false;

  /** Feeds the next piece of the patch. */
  push(chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    for (let at = 0; at < bytes.length;) {
      const newline = bytes.indexOf(NEWLINE, at);
      const ended = newline >= 0;
      const end = ended ? newline : bytes.length;
      if (!this.told && this.headLength === 0 && ended) {
        // Most lines lie within one chunk: tell them where they are, without copying.
        this.tell(bytes, at, end, true);
      } else if (!this.told) {
        const wanted = Math.min(end, at + this.head.length - this.headLength);
        this.headLength += bytes.copy(this.head, this.headLength, at, wanted);
        this.told = this.tell(this.head, 0, this.headLength, ended);
      }
      if (!ended) return;
      this.told = false;
      this.headLength = 0;
      at = newline + 1;
    }
  }

  /** The totals so far: a last line needs no newline, as lines are told by their start. */
  result(): Diffstat {
    const { changedFiles, additions, deletions } = this;
    return { changedFiles, additions, deletions } as Diffstat;
  }

  /**
   * Counts the line starting with line[from, to), all of it if ended; answers false when
   * those bytes begin a header but are too few to tell whether the line is one.
   */
  private tell(line: Buffer, from: number, to: number, ended: boolean): boolean {
    const file = startsWith(line, from, to, FILE_HEADER);
    if (file === 'yes') {
      this.changedFiles += 1;
      this.section = 'header';
    } else if (this.section === 'hunk') {
      if (line[from] === PLUS) this.additions += 1;
      else if (line[from] === MINUS) this.deletions += 1;
    } else if (this.section === 'header') {
      const hunk = startsWith(line, from, to, HUNK_HEADER);
      if (hunk === 'yes') this.section = 'hunk';
      else if (hunk === 'maybe') return ended;
    }
    return ended || file !== 'maybe';
  }
}

/** Whether line[from, to) starts with header, or is too short to tell ('maybe'). */
const startsWith = (line: Buffer, from: number, to: number, header: Buffer) => {
  for (let i = 0; i < header.length; i += 1) {
    if (from + i === to) return 'maybe';
    if (line[from + i] !== header[i]) return 'no';
  }
  return 'yes';
};

/** The diffstat of a whole patch given as a sequence of chunks (a stream, an array...). */
export const diffstatOf = async (
  chunks: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
): Promise<Diffstat> => {
  const counter = new DiffstatCounter();
  for await (const chunk of chunks) counter.push(chunk);
  return counter.result();
};
