/**
 * The inner loop of the diffstat counter, kept apart because it is the one place that is
 * about speed rather than rules: it counts the `+`/`-` lines of a hunk in a window of bytes.
 * Two interchangeable kernels do it: a WebAssembly SIMD routine (16 bytes at a time) and a
 * plain loop for runtimes without WebAssembly SIMD (node --jitless, old CPUs).
 */

const NEWLINE = 0x0a;
const PLUS = 0x2b;
const MINUS = 0x2d;
const D = 0x64;
const WASM_PAGE = 65536;
/** The window is small enough to stay in cache, large enough that a slice costs nothing extra. */
const WINDOW_PAGES = 4;
/** Bytes in the window that counters copy their slices into. */
export const WINDOW_BYTES = WINDOW_PAGES * WASM_PAGE;

/**
 * A window and what counts its hunk lines: the newlines at from <= i < to followed by `+`
 * (plus) or `-` (minus), stopping early at the first newline followed by `d` (stop; else
 * stop is to). Reads the window up to to + SLACK at most.
 */
export interface Kernel {
  window: Buffer;
  countChanges: (from: number, to: number) => { plus: number; minus: number; stop: number };
}

let loop: Kernel | undefined;
/** The plain loop: one native newline search per line. */
export const loopKernel = (): Kernel => (loop ??= newLoopKernel(Buffer.alloc(WINDOW_BYTES)));

const newLoopKernel = (window: Buffer): Kernel => ({
  window,
  countChanges: (from, to) => {
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
  },
});

/** The part of the WebAssembly API used here; the project's lib (ES2022, no DOM) lacks it. */
interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: { changes?: WasmChanges } };
  Memory: new (descriptor: { initial: number; maximum: number }) => { buffer: ArrayBuffer };
}
type WasmChanges = (from: number, to: number) => [number, number, number];

/** Null where WebAssembly or its SIMD is missing (node --jitless, old CPUs). */
let simd: Kernel | null | undefined;
/** A window in WebAssembly memory and the SIMD kernel that reads it, made on first use. */
export const simdKernel = (): Kernel | undefined => {
  if (simd === undefined) {
    const api = (globalThis as unknown as { WebAssembly?: WebAssemblyApi }).WebAssembly;
    const bytes = kernelModule();
    simd = api !== undefined && api.validate(bytes) ? instantiate(api, bytes) : null;
  }
  return simd ?? undefined;
};

const instantiate = (api: WebAssemblyApi, bytes: Uint8Array): Kernel => {
  const memory = new api.Memory({ initial: WINDOW_PAGES, maximum: WINDOW_PAGES });
  const changes = new api.Instance(new api.Module(bytes), { env: { memory } }).exports.changes!;
  return {
    window: Buffer.from(memory.buffer),
    countChanges: (from, to) => {
      if (to <= from) return { plus: 0, minus: 0, stop: to };
      const [plus, minus, stop] = changes(from, to);
      return { plus, minus, stop };
    },
  };
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
