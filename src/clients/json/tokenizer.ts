/** Says that the byte at `i` of `chunk` is not what was `expected` there; never returns. */
export type Fail = (chunk: Buffer, i: number, expected: string) => never;

// What kind of value is being followed; the number kinds are named after what was just read.
const [STRING, CONTAINER, LITERAL, MINUS, ZERO, INT, DOT, FRACTION, E, E_SIGN, EXPONENT] = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
] as const;

export const QUOTE = 0x22;
const BACKSLASH = 0x5c;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const LITERALS: Record<number, Buffer> = {
  0x74: Buffer.from('true'),
  0x66: Buffer.from('false'),
  0x6e: Buffer.from('null'),
};

// hg's JSON nests four deep; far deeper is an attack on the stack, not an answer.
const MAX_DEPTH = 512;
// Most strings of a diff (its keys, a line's kind) are a byte or two long: a loop finds
// their end sooner than a call into indexOf does, which wins for the longer ones.
const SHORT_STRING = 4;

/** 1 for the bytes of a container's structure outside its strings. */
const STRUCTURAL = new Uint8Array(256);
for (const c of [QUOTE, OPEN_BRACE, CLOSE_BRACE, OPEN_BRACKET, CLOSE_BRACKET]) STRUCTURAL[c] = 1;

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/**
 * Follows one JSON value (a string, number, literal, or a whole object or array) through the
 * chunks it arrives in, to find where it ends, without building it. Numbers and literals are
 * checked byte by byte. Inside a container only strings and brackets are followed (strings
 * closed, brackets matched), not checked: a skipped `diff` is most of a json-rev, and this
 * way it runs near 1 GB/s. Structural bytes are ASCII, so a chunk may split a UTF-8 character.
 */
export class JsonTokenizer {
  private kind: number = STRING;
  /** The closers (`}` or `]`) that the container being followed still waits for. */
  private readonly closers: number[] = [];
  /** In a string inside the container. */
  private inString = false;
  /** Backslashes right before where the string scan resumes (an odd run escapes a quote). */
  private backslashes = 0;
  private literal = LITERALS[0x74]!;
  private literalAt = 0;

  constructor(private readonly fail: Fail) {}

  /** Starts a value at `chunk[i]`, its first byte, which the caller has read. */
  begin(chunk: Buffer, i: number): void {
    const c = chunk[i]!;
    this.backslashes = 0;
    this.inString = false;
    if (c === QUOTE) {
      this.kind = STRING;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      this.kind = CONTAINER;
      this.closers.push(c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET);
    } else if (c === 0x2d) {
      this.kind = MINUS;
    } else if (isDigit(c)) {
      this.kind = c === 0x30 ? ZERO : INT;
    } else if (LITERALS[c] !== undefined) {
      this.literal = LITERALS[c];
      this.literalAt = 1;
      this.kind = LITERAL;
    } else {
      this.fail(chunk, i, 'a value');
    }
  }

  /**
   * Follows the value from `chunk[i]`: the index just after its end (for a number, of the
   * first byte that is not the number's), or -1 when it goes on into the next chunk.
   */
  scan(chunk: Buffer, i: number): number {
    if (this.kind === STRING) return this.skipString(chunk, i);
    if (this.kind === CONTAINER) return this.skipContainer(chunk, i);
    for (const n = chunk.length; i < n; i += 1) {
      const c = chunk[i]!;
      switch (this.kind) {
        case LITERAL:
          if (c !== this.literal[this.literalAt]) this.fail(chunk, i, 'true, false or null');
          this.literalAt += 1;
          if (this.literalAt === this.literal.length) return i + 1;
          break;
        case MINUS:
        case DOT:
        case E_SIGN:
          if (!isDigit(c)) this.fail(chunk, i, 'a digit');
          if (this.kind === MINUS) this.kind = c === 0x30 ? ZERO : INT;
          else this.kind = this.kind === DOT ? FRACTION : EXPONENT;
          break;
        case E:
          if (!isDigit(c) && c !== 0x2b && c !== 0x2d) this.fail(chunk, i, 'an exponent');
          this.kind = isDigit(c) ? EXPONENT : E_SIGN;
          break;
        default:
          if (isDigit(c) && this.kind !== ZERO) break;
          if (c === 0x2e && (this.kind === ZERO || this.kind === INT)) this.kind = DOT;
          else if ((c === 0x65 || c === 0x45) && this.kind !== EXPONENT) this.kind = E;
          else return i;
      }
    }
    return -1;
  }

  /** To the string's closing quote: the index after it, or -1. */
  private skipString(chunk: Buffer, i: number): number {
    const n = chunk.length;
    let quote = -1;
    const stop = Math.min(n, i + SHORT_STRING);
    for (let j = i; j < stop; j += 1) {
      if (chunk[j] === QUOTE) {
        quote = j;
        break;
      }
    }
    if (quote < 0 && stop < n) quote = chunk.indexOf(QUOTE, stop);
    while (quote >= 0) {
      if (this.escapes(chunk, i, quote) % 2 === 0) return quote + 1;
      // An escaped quote: the string goes on after it, with no backslash run before.
      i = quote + 1;
      this.backslashes = 0;
      quote = chunk.indexOf(QUOTE, i);
    }
    this.backslashes = this.escapes(chunk, i, n);
    return -1;
  }

  /** The run of backslashes right before `at`, counting those carried from before `from`. */
  private escapes(chunk: Buffer, from: number, at: number): number {
    let j = at - 1;
    while (j >= from && chunk[j] === BACKSLASH) j -= 1;
    return at - 1 - j + (j < from ? this.backslashes : 0);
  }

  /**
   * Through nested containers and strings to the container's closing bracket: the index
   * after it, or -1. A diff is read here, so the loop keeps its state in locals.
   */
  private skipContainer(chunk: Buffer, i: number): number {
    const n = chunk.length;
    const closers = this.closers;
    let backslashes = this.backslashes;
    let inString = this.inString;
    for (;;) {
      if (inString) {
        // To the string's closing quote: one not escaped by an odd run of backslashes.
        const from = i;
        let quote = from;
        const stop = from + SHORT_STRING < n ? from + SHORT_STRING : n;
        while (quote < stop && chunk[quote] !== QUOTE) quote += 1;
        if (quote === stop) quote = stop < n ? chunk.indexOf(QUOTE, stop) : -1;
        let j = (quote < 0 ? n : quote) - 1;
        while (j >= from && chunk[j] === BACKSLASH) j -= 1;
        const run = (quote < 0 ? n : quote) - 1 - j + (j < from ? backslashes : 0);
        if (quote < 0) {
          this.inString = true;
          this.backslashes = run;
          return -1;
        }
        i = quote + 1;
        backslashes = 0;
        if ((run & 1) === 1) continue;
        inString = false;
      }
      // To the next quote or bracket.
      while (i < n && STRUCTURAL[chunk[i]!] === 0) i += 1;
      if (i === n) {
        this.inString = false;
        return -1;
      }
      const c = chunk[i]!;
      i += 1;
      if (c === QUOTE) {
        inString = true;
        backslashes = 0;
        if (i === n) {
          this.inString = true;
          this.backslashes = 0;
          return -1;
        }
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (closers.length >= MAX_DEPTH) this.fail(chunk, i - 1, `at most ${MAX_DEPTH} levels`);
        closers.push(c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET);
      } else {
        const expected = closers.pop();
        if (c !== expected) this.fail(chunk, i - 1, `'${String.fromCharCode(expected!)}'`);
        if (closers.length === 0) return i;
      }
    }
  }
}
