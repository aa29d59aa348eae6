import type { Diffstat } from '../codecs/ping.js';

const NEWLINE = 0x0a;
const PLUS = 0x2b;
const MINUS = 0x2d;
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
 * Patches can be hundreds of megabytes, and looking at every line from JavaScript tops out
 * near 500 MB/s. So each slice of the stream is copied into a small window, behind the last
 * bytes of the one before (a line start cut by a chunk boundary is then seen whole); the rare
 * `diff --git` and `@@ ` lines are found with a native search, and the `+`/`-` lines of a
 * hunk are counted 16 bytes at a time by a WebAssembly SIMD kernel (a plain loop where
 * WebAssembly is missing). Memory stays at the window's 256 KiB whatever the patch.
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
  private readonly countChanges: ChangeKernel;

  /** `simd: false` forces the plain loop, so tests and the benchmark can check one against the other. */
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
   * Counts one slice. A pattern or a `+`/`-` line start is counted in the first window that
   * holds its last byte: an earlier window did not see it whole, a later one must skip it.
   */
  private scan(slice: Buffer): void {
    this.window.copyWithin(0, this.end - CARRY, this.end);
    this.window.set(slice, CARRY);
    this.end = CARRY + slice.length;
    const view = this.window.subarray(0, this.end);
    // Where the next line start of interest may be (the index of the newline before it).
    let from = 0;
    for (;;) {
      const file = find(view, FILE_HEADER, from);
      if (this.section === 'header') {
        const hunk = find(file < 0 ? view : view.subarray(0, file), HUNK_HEADER, from);
        if (hunk >= 0) {
          this.section = 'hunk';
          from = hunk + 1;
        }
      }
      if (this.section === 'hunk') {
        // A `+`/`-` line start is the pair newline + sign, so it is new once its sign is.
        this.countHunkLines(Math.max(from, CARRY - 1), file < 0 ? this.end - 1 : file);
      }
      if (file < 0) return;
      this.changedFiles += 1;
      this.section = 'header';
      from = file + 1;
    }
  }

  private countHunkLines(from: number, to: number): void {
    if (to <= from) return;
    const { plus, minus } = this.countChanges(from, to);
    this.additions += plus;
    this.deletions += minus;
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
 * Counts the newlines at from <= i < to of the window followed by `+` (plus) or `-` (minus).
 * Never reads past to + SLACK.
 */
type ChangeKernel = (from: number, to: number) => { plus: number; minus: number };

/** The plain loop: one native newline search per line. */
const loopKernel =
  (window: Buffer): ChangeKernel =>
  (from, to) => {
    const range = window.subarray(0, to);
    let plus = 0;
    let minus = 0;
    for (let i = range.indexOf(NEWLINE, from); i >= 0; i = range.indexOf(NEWLINE, i + 1)) {
      const sign = window[i + 1];
      if (sign === PLUS) plus += 1;
      else if (sign === MINUS) minus += 1;
    }
    return { plus, minus };
  };

/** The part of the WebAssembly API used here; the project's lib (ES2022, no DOM) lacks it. */
interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (
    module: object,
    imports: object,
  ) => { exports: { changes?: (from: number, to: number) => [number, number] } };
  Memory: new (descriptor: { initial: number; maximum: number }) => { buffer: ArrayBuffer };
}

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
      const [plus, minus] = changes(from, to);
      return { plus, minus };
    },
  };
};

const webAssembly = (): WebAssemblyApi | undefined =>
  (globalThis as unknown as { WebAssembly?: WebAssemblyApi }).WebAssembly;

let compiled: object | null | undefined;
/** Compiled once, on first use; null where WebAssembly or its SIMD is unavailable (--jitless). */
const compiledKernel = (): object | undefined => {
  if (compiled === undefined) {
    const api = webAssembly();
    const bytes = kernelModule();
    compiled = api !== undefined && api.validate(bytes) ? new api.Module(bytes) : null;
  }
  return compiled ?? undefined;
};

/*
 * The kernel, assembled by hand: `(func (param $from i32) (param $to i32) (result i32 i32))`
 * over an imported memory, equal to loopKernel. Per 16 bytes at $from: compare them with
 * newlines, compare the 16 bytes at $from + 1 with `+` (and with `-`), AND, take the lane
 * bitmask, add its popcount. The last, partial vector masks off the lanes past $to.
 */
const I32 = 0x7f;
const V128 = 0x7b;
const [FROM, TO, PLUSES, MINUSES, LEFT, NEWLINES, PLUS_SIGNS, MINUS_SIGNS, AT_NEWLINE, NEXT] = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
];
const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, depth],
  brIf: (depth: number) => [0x0d, depth],
  get: (local: number) => [0x20, local],
  set: (local: number) => [0x21, local],
  tee: (local: number) => [0x22, local],
  i32: (value: number) => [0x41, ...signedLeb(value)],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32LtU: [0x49],
  i32And: [0x71],
  i32ShrU: [0x76],
  i32Popcnt: [0x69],
  v128Load: (offset: number) => [0xfd, 0x00, 0x00, ...leb(offset)],
  i8x16Splat: [0xfd, 0x0f],
  i8x16Eq: [0xfd, 0x23],
  v128And: [0xfd, 0x4e],
  i8x16Bitmask: [0xfd, 0x64],
};

/** Adds to `total` the newlines in AT_NEWLINE followed by the sign splatted in `signs`. */
const countSign = (total: number, signs: number, partial: boolean): number[] => [
  ...[...op.get(AT_NEWLINE), ...op.get(NEXT), ...op.get(signs), ...op.i8x16Eq, ...op.v128And],
  ...op.i8x16Bitmask,
  // 0xffff >>> (16 - LEFT) keeps the lanes before $to.
  ...(partial ? [...op.i32(0xffff), ...op.i32(16), ...op.get(LEFT), ...op.i32Sub] : []),
  ...(partial ? [...op.i32ShrU, ...op.i32And] : []),
  ...[...op.i32Popcnt, ...op.get(total), ...op.i32Add, ...op.set(total)],
];

const vectorStep = (partial: boolean): number[] => [
  ...[
    ...op.get(FROM),
    ...op.v128Load(0),
    ...op.get(NEWLINES),
    ...op.i8x16Eq,
    ...op.set(AT_NEWLINE),
  ],
  ...[...op.get(FROM), ...op.v128Load(1), ...op.set(NEXT)],
  ...countSign(PLUSES, PLUS_SIGNS, partial),
  ...countSign(MINUSES, MINUS_SIGNS, partial),
];

const kernelBody = (): number[] => [
  ...[...op.i32(NEWLINE), ...op.i8x16Splat, ...op.set(NEWLINES)],
  ...[...op.i32(PLUS), ...op.i8x16Splat, ...op.set(PLUS_SIGNS)],
  ...[...op.i32(MINUS), ...op.i8x16Splat, ...op.set(MINUS_SIGNS)],
  ...op.block,
  ...op.loop,
  // while (($left = $to - $from) >= 16)
  ...[...op.get(TO), ...op.get(FROM), ...op.i32Sub, ...op.tee(LEFT), ...op.i32(16), ...op.i32LtU],
  ...op.brIf(1),
  ...vectorStep(false),
  ...[...op.get(FROM), ...op.i32(16), ...op.i32Add, ...op.set(FROM)],
  ...op.br(0),
  ...op.end,
  ...op.end,
  ...vectorStep(true),
  ...[...op.get(PLUSES), ...op.get(MINUSES), ...op.end],
];

const kernelModule = (): Uint8Array => {
  const locals = vector([
    [3, I32],
    [5, V128],
  ]);
  const body = [...locals, ...kernelBody()];
  const pairOfI32 = vector([I32, I32]);
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector([[0x60, ...pairOfI32, ...pairOfI32]])),
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
