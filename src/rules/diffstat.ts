import type { Diffstat } from '../codecs/ping.js';
import { loopKernel, simdKernel, WINDOW_BYTES, type Kernel } from './hunkKernel.js';

const NEWLINE = 0x0a;
/** Each pattern starts with the newline before the line, so it matches at line starts only. */
const FILE_HEADER = Buffer.from('\ndiff --git');
const HUNK_HEADER = Buffer.from('\n@@ ');
/** Bytes kept from one slice to the next: enough for a pattern cut in two by a chunk boundary. */
const CARRY = 16;
/** Bytes the SIMD kernel may read past the end of its range (one 16-byte vector, plus one). */
const SLACK = 17;
const SLICE = WINDOW_BYTES - CARRY - SLACK;

/**
 * Where the line being read is:
 *   message  before the first `diff --git` (the commit message: nothing counts)
 *   header   after `diff --git`, before its first `@@ ` (`---`/`+++`, rename, mode, binary lines)
 *   hunk     after an `@@ `, until the next `diff --git`: each `+`/`-` line counts
 */
type Section = 'message' | 'header' | 'hunk';

/**
 * Counts a `git diff` / `hg export --git` patch as it streams past, in one pass:
 *   `diff --git ...`  a new file; leaves the hunk
 *   `@@ ...`          after a `diff --git`, enters a hunk
 *   `+...` / `-...`   inside a hunk, an addition / a deletion
 * Everything else (the commit message, even its `@@ `, `+` and `-` lines, the `---`/`+++`
 * headers, rename and binary notes) is ignored, which makes the totals those of
 * `git apply --numstat`.
 *
 * Patches can be hundreds of megabytes and the goal is 800 MB/s on one core, but finding each
 * line with a native search from JavaScript reached only about 500 MB/s. So each slice of the
 * stream is copied into a small window, behind the last bytes of the one before (a line start
 * cut by a chunk boundary is then seen whole). Hunk lines, most of a big patch, are counted
 * 16 bytes at a time by a WebAssembly SIMD kernel that stops at any line starting with `d`
 * (maybe the next `diff --git`); the few header lines between are searched with indexOf.
 * Where WebAssembly is missing (node --jitless) a plain loop does the kernel's job.
 *
 * The window is shared by all counters (push is synchronous, so they never overlap); each
 * counter keeps only the last CARRY bytes of its stream. Memory stays at one 256 KiB window
 * (per kernel), however large the patch and however many patches are counted at once.
 */
export class DiffstatCounter {
  private changedFiles = 0;
  private additions = 0;
  private deletions = 0;
  private section: Section = 'message';
  /** The last CARRY bytes of the stream; at first, the newline that the first line follows. */
  private readonly carry = Buffer.alloc(CARRY);
  /** In a hunk, where the next window goes on counting. */
  private resume = CARRY - 1;
  private readonly kernel: Kernel;

  /** `simd: false` forces the plain loop, so that tests and the benchmark can compare them. */
  constructor({ simd = true }: { simd?: boolean } = {}) {
    this.kernel = (simd ? simdKernel() : undefined) ?? loopKernel();
    this.carry[CARRY - 1] = NEWLINE;
  }

  /** Feeds the next piece of the patch; pieces may split lines or characters anywhere. */
  push(chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    for (let at = 0; at < bytes.length; at += SLICE) this.scan(bytes.subarray(at, at + SLICE));
  }

  /** The totals so far; call once the stream has ended (a last line needs no newline). */
  result(): Diffstat {
    return {
      changedFiles: this.changedFiles,
      additions: this.additions,
      deletions: this.deletions,
    } as Diffstat;
  }

  /**
   * Counts one slice, seen in the window behind the last CARRY bytes of the stream. Each line
   * start is decided in the first window where it can be: where the bytes that tell it are.
   */
  private scan(slice: Buffer): void {
    const { window } = this.kernel;
    window.set(this.carry, 0);
    window.set(slice, CARRY);
    const view = window.subarray(0, CARRY + slice.length);
    let from = this.section === 'hunk' ? this.resume : 0;
    while (from >= 0) {
      from = this.section === 'hunk' ? this.readHunk(view, from) : this.readHeaders(view, from);
    }
    view.copy(this.carry, 0, view.length - CARRY);
    // The next window starts slice.length bytes further into the stream.
    this.resume -= slice.length;
  }

  /**
   * Counts `+`/`-` lines from the newline at `from` up to the next `diff --git`. Answers where
   * the file header starts, or -1 once the window is used up.
   */
  private readHunk(view: Buffer, from: number): number {
    const to = view.length - 1;
    for (;;) {
      const { plus, minus, stop } = this.kernel.countChanges(from, to);
      this.additions += plus;
      this.deletions += minus;
      if (stop === to) {
        this.resume = to;
        return -1;
      }
      // Stopped at a line starting with `d`: a file header, another line, or not yet known
      // because the header's end is in the next chunk.
      const seen = Math.min(FILE_HEADER.length, view.length - stop);
      const header = view.compare(FILE_HEADER, 0, seen, stop, stop + seen) === 0;
      if (header && seen < FILE_HEADER.length) {
        this.resume = stop;
        return -1;
      }
      if (header) {
        this.enterFile();
        return stop + 1;
      }
      from = stop + 1;
    }
  }

  /** Looks for the next file header or, in a file, its first hunk; -1 once there is none. */
  private readHeaders(view: Buffer, from: number): number {
    const hunk = this.section === 'header' ? find(view, HUNK_HEADER, from) : -1;
    // A file header before the hunk header ends before it: no need to search past it.
    const file = find(hunk < 0 ? view : view.subarray(0, hunk), FILE_HEADER, from);
    if (file >= 0) {
      this.enterFile();
      return file + 1;
    }
    if (hunk < 0) return -1;
    this.section = 'hunk';
    return hunk + 1;
  }

  private enterFile(): void {
    this.changedFiles += 1;
    this.section = 'header';
  }
}

/**
 * The first match of pattern at or after from that ends past the carried bytes (one wholly
 * inside them was found in the window before), or -1.
 */
const find = (view: Buffer, pattern: Buffer, from: number): number =>
  view.indexOf(pattern, Math.max(from, CARRY - pattern.length + 1));

/** The diffstat of a whole patch given as a sequence of chunks (a stream, an array...). */
export const diffstatOf = async (
  chunks: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
): Promise<Diffstat> => {
  const counter = new DiffstatCounter();
  for await (const chunk of chunks) counter.push(chunk);
  return counter.result();
};
