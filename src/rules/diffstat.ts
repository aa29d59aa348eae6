import type { Diffstat } from '../codecs/ping.js';

const NEWLINE = 0x0a;
const PLUS = 0x2b;
const MINUS = 0x2d;
const D = 0x64;
/** Each pattern begins with the newline that ends the line before, so it only matches a line start. */
const FILE_HEADER = Buffer.from('\ndiff --git');
const HUNK_HEADER = Buffer.from('\n@@ ');
/** Bytes kept from one slice to the next: enough for a pattern cut in two by a chunk boundary. */
const CARRY = 16;
/** Bytes the SIMD kernel may read past the end of its range (one 16-byte vector, plus one). */
const SLACK = 17;
const WASM_PAGE = 65536;
/** The window is small enough to stay in cache, large enough that a slice costs nothing extra. */
const WINDOW_PAGES = 4;
const SLICE = WINDOW_PAGES * WASM_PAGE - CARRY - SLACK;

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
 * Where WebAssembly is missing (node --jitless) a plain loop does the kernel's job. Memory
 * stays at the window's 256 KiB whatever the patch.
 */
export class DiffstatCounter {
  private changedFiles = 0;
  private additions = 0;
  private deletions = 0;
  private section: Section = 'message';
  /** The last CARRY bytes already seen, then the slice being counted; see scan(). */
  private readonly window: Buffer;
  /** Where the bytes of the window end. */
  private end = CARRY;
  /** In a hunk, where the next window goes on counting, in the current window's terms. */
  private resume = CARRY - 1;
  private readonly countChanges: ChangeKernel;

  /** `simd: false` forces the plain loop, so that tests and the benchmark can compare them. */
  constructor({ simd = true }: { simd?: boolean } = {}) {
    const kernel = simd ? simdKernel() : undefined;
    this.window = kernel?.window ?? Buffer.alloc(WINDOW_PAGES * WASM_PAGE);
    this.countChanges = kernel?.countChanges ?? loopKernel(this.window);
    // The stream starts at a line start, as if a newline came before it.
    this.window[CARRY - 1] = NEWLINE;
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
   * Counts one slice, seen behind the last CARRY bytes of the stream. Each line start is
   * decided in the first window where it can be: where the bytes that tell it are all there.
   */
  private scan(slice: Buffer): void {
    const shift = this.end - CARRY;
    this.window.copyWithin(0, shift, this.end);
    this.window.set(slice, CARRY);
    this.end = CARRY + slice.length;
    const view = this.window.subarray(0, this.end);
    let from = this.section === 'hunk' ? this.resume - shift : 0;
    while (from >= 0) {
      from = this.section === 'hunk' ? this.readHunk(view, from) : this.readHeaders(view, from);
    }
  }

  /**
   * Counts `+`/`-` lines from the newline at `from` up to the next `diff --git`. Answers where
   * the file header starts, or -1 once the window is used up.
   */
  private readHunk(view: Buffer, from: number): number {
    const to = this.end - 1;
    for (;;) {
      const { plus, minus, stop } = this.countChanges(from, to);
      this.additions += plus;
      this.deletions += minus;
      if (stop === to) {
        this.resume = to;
        return -1;
      }
      // Stopped at a line starting with `d`: a file header, another line, or not yet known
      // because the header's end is in the next chunk.
      const seen = Math.min(FILE_HEADER.length, this.end - stop);
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
    // A header found before the hunk is in the view's start, as the hunk ends it.
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

/** The first new match of pattern at or after from, or -1. */
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

/**
 * Counts the newlines at from <= i < to of the window followed by `+` (plus) or `-` (minus),
 * stopping early at the first newline followed by `d` (stop; else stop is to). Reads the
 * window up to to + SLACK at most.
 */
type ChangeKernel = (from: number, to: number) => { plus: number; minus: number; stop: number };

/** The plain loop: one native newline search per line. */
const loopKernel =
  (window: Buffer): ChangeKernel =>
  (from, to) => {
    const range = window.subarray(0, to);
    let plus = 0;
    let minus = 0;
    for (let i = range.indexOf(NEWLINE, from); i >= 0; i = range.indexOf(NEWLINE, i + 1)) {
      const next = window[i + 1];
      if (next === PLUS) plus += 1;
      else if (next === MINUS) minus += 1;
      else if (next === D) return { plus, minus, stop: i };
    }
    return { plus, minus, stop: to };
  };

/** The part of the WebAssembly API used here; the project's lib (ES2022, no DOM) lacks it. */
interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: { changes?: WasmChanges } };
  Memory: new (descriptor: { initial: number; maximum: number }) => { buffer: ArrayBuffer };
}
type WasmChanges = (from: number, to: number) => [number, number, number];

/** A window in WebAssembly memory and the kernel that reads it, or undefined without SIMD. */
const simdKernel = (): { window: Buffer; countChanges: ChangeKernel } | undefined => {
  const module = compiledKernel();
  if (module === undefined) return undefined;
  const api = webAssembly()!;
  const memory = new api.Memory({ initial: WINDOW_PAGES, maximum: WINDOW_PAGES });
  const changes = new api.Instance(module, { env: { memory } }).exports.changes!;
  return {
    window: Buffer.from(memory.buffer),
    countChanges: (from, to) => {
      if (to <= from) return { plus: 0, minus: 0, stop: to };
      const [plus, minus, stop] = changes(from, to);
      return { plus, minus, stop };
    },
  };
};

const webAssembly = (): WebAssemblyApi | undefined =>
  (globalThis as unknown as { WebAssembly?: WebAssemblyApi }).WebAssembly;

let compiled: object | null | undefined;
/** Compiled once, on first use; null where WebAssembly or its SIMD is missing (--jitless). */
const compiledKernel = (): object | undefined => {
  if (compiled === undefined) {
    const api = webAssembly();
    const bytes = kernelModule();
    compiled = api !== undefined && api.validate(bytes) ? new api.Module(bytes) : null;
  }
  return compiled ?? undefined;
};

/*
 * The kernel, assembled by hand, does what loopKernel does 16 bytes at a time:
 *   (func (param $from i32) (param $to i32) (result i32 i32 i32)) over an imported memory.
 * For the vector at $from: lanes holding a newline AND lanes whose next byte (the vector at
 * $from + 1) is `+`, `-` or `d`; the popcount of each bitmask is a count. Whole vectors run
 * in a loop until one has a `d`; the last vector, partial or holding the `d`, is counted
 * under a mask of the lanes before $to and before that `d`.
 */
const I32 = 0x7f;
const V128 = 0x7b;
// Locals: the two parameters, five more i32, then six v128 (declared in kernelModule).
const [FROM, TO, PLUSES, MINUSES, LEFT, DS, MASK] = [0, 1, 2, 3, 4, 5, 6];
const [NEWLINES, PLUS_SIGNS, MINUS_SIGNS, D_SIGNS, AT_NEWLINE, NEXT] = [7, 8, 9, 10, 11, 12];
const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, depth],
  brIf: (depth: number) => [0x0d, depth],
  select: [0x1b],
  get: (local: number) => [0x20, local],
  set: (local: number) => [0x21, local],
  tee: (local: number) => [0x22, local],
  i32: (value: number) => [0x41, ...signedLeb(value)],
  i32LtU: [0x49],
  i32Ctz: [0x68],
  i32Popcnt: [0x69],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32And: [0x71],
  i32ShrU: [0x76],
  v128Load: (offset: number) => [0xfd, 0x00, 0x00, ...leb(offset)],
  i8x16Splat: [0xfd, 0x0f],
  i8x16Eq: [0xfd, 0x23],
  v128And: [0xfd, 0x4e],
  i8x16Bitmask: [0xfd, 0x64],
};
/** Instructions, one per argument, as the bytes of the code. */
const asm = (...instructions: number[][]): number[] => instructions.flat();

/** $atNewline = the vector at $from == newlines; $next = the vector at $from + 1. */
const loadVectors = (): number[] =>
  asm(
    op.get(FROM),
    op.v128Load(0),
    op.get(NEWLINES),
    op.i8x16Eq,
    op.set(AT_NEWLINE),
    op.get(FROM),
    op.v128Load(1),
    op.set(NEXT),
  );

/** Pushes the lanes that hold a newline followed by the sign splatted in `signs`, as bits. */
const linesStartingWith = (signs: number): number[] =>
  asm(op.get(AT_NEWLINE), op.get(NEXT), op.get(signs), op.i8x16Eq, op.v128And, op.i8x16Bitmask);

/** $total += popcount(lines starting with the sign [& $mask]). */
const addLines = (total: number, signs: number, masked: boolean): number[] =>
  asm(
    linesStartingWith(signs),
    masked ? asm(op.get(MASK), op.i32And) : [],
    op.i32Popcnt,
    op.get(total),
    op.i32Add,
    op.set(total),
  );

const splat = (local: number, byte: number): number[] =>
  asm(op.i32(byte), op.i8x16Splat, op.set(local));

const kernelBody = (): number[] =>
  asm(
    splat(NEWLINES, NEWLINE),
    splat(PLUS_SIGNS, PLUS),
    splat(MINUS_SIGNS, MINUS),
    splat(D_SIGNS, D),
    // while (($left = $to - $from) >= 16 && no line in the vector at $from starts with d)
    op.block,
    op.loop,
    asm(op.get(TO), op.get(FROM), op.i32Sub, op.tee(LEFT), op.i32(16), op.i32LtU, op.brIf(1)),
    loadVectors(),
    asm(linesStartingWith(D_SIGNS), op.brIf(1)),
    addLines(PLUSES, PLUS_SIGNS, false),
    addLines(MINUSES, MINUS_SIGNS, false),
    asm(op.get(FROM), op.i32(16), op.i32Add, op.set(FROM)),
    op.br(0),
    op.end,
    op.end,
    // $mask = $left < 16 ? 0xffff >>> (16 - $left) : 0xffff
    asm(op.i32(0xffff), op.i32(16), op.get(LEFT), op.i32Sub, op.i32ShrU),
    asm(op.i32(0xffff), op.get(LEFT), op.i32(16), op.i32LtU, op.select, op.set(MASK)),
    loadVectors(),
    // $ds = d lines under $mask; if any, $mask = the lanes before the first: ($ds & -$ds) - 1
    asm(linesStartingWith(D_SIGNS), op.get(MASK), op.i32And, op.set(DS)),
    asm(op.get(DS), op.i32(0), op.get(DS), op.i32Sub, op.i32And, op.i32(1), op.i32Sub),
    asm(op.get(MASK), op.get(DS), op.select, op.set(MASK)),
    addLines(PLUSES, PLUS_SIGNS, true),
    addLines(MINUSES, MINUS_SIGNS, true),
    // return [$pluses, $minuses, $ds ? $from + ctz($ds) : $to]
    asm(op.get(PLUSES), op.get(MINUSES)),
    asm(op.get(FROM), op.get(DS), op.i32Ctz, op.i32Add, op.get(TO), op.get(DS), op.select),
    op.end,
  );

const kernelModule = (): Uint8Array => {
  const locals = vector([
    [5, I32],
    [6, V128],
  ]);
  const body = [...locals, ...kernelBody()];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector([[0x60, ...vector([I32, I32]), ...vector([I32, I32, I32])]])),
    ...section(2, vector([[...name('env'), ...name('memory'), 0x02, 0x00, ...leb(WINDOW_PAGES)]])),
    ...section(3, vector([0])),
    ...section(7, vector([[...name('changes'), 0x00, 0]])),
    ...section(10, vector([[...leb(body.length), ...body]])),
  ]);
};

const leb = (value: number): number[] => {
  const out: number[] = [];
  do {
    const low = value & 0x7f;
    value >>>= 7;
    out.push(value === 0 ? low : low | 0x80);
  } while (value !== 0);
  return out;
};

const signedLeb = (value: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const low = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (low & 0x40) === 0) || (value === -1 && (low & 0x40) !== 0);
    out.push(done ? low : low | 0x80);
    if (done) return out;
  }
};

const vector = (items: (number | number[])[]): number[] => [...leb(items.length), ...items.flat()];
const name = (text: string): number[] => [...leb(text.length), ...Buffer.from(text)];
const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];
