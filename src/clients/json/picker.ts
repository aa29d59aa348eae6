/** The text is not one JSON object; the message says where it went wrong. */
export class JsonSyntaxError extends Error {
  override readonly name = 'JsonSyntaxError';
}

/** The kept fields came to more than the picker may hold. */
export class KeptTooLarge extends Error {
  override readonly name = 'KeptTooLarge';
  constructor(readonly maxBytes: number) {
    super(`the kept fields are larger than ${maxBytes} bytes`);
  }
}

// What the picker expects next at the top level, or what kind of value it is in.
const ROOT = 0;
const KEY_OR_CLOSE = 1; // just after the root's `{`
const KEY = 2; // after a `,`
const COLON = 3;
const VALUE = 4;
const AFTER_VALUE = 5;
const END = 6; // the root is closed: only whitespace may follow
const IN_KEY = 7;
const IN_STRING = 8;
const IN_CONTAINER = 9;
const LITERAL = 10; // in true, false or null
const MINUS = 11; // number states, named after what was just read
const ZERO = 12;
const INT = 13;
const DOT = 14;
const FRACTION = 15;
const E = 16;
const E_SIGN = 17;
const EXPONENT = 18;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const LITERALS: Record<number, Buffer> = {
  0x74: Buffer.from('true'),
  0x66: Buffer.from('false'),
  0x6e: Buffer.from('null'),
};

// hg's JSON nests four deep; far deeper is an attack on the stack, not an answer.
const MAX_DEPTH = 512;
// A kept key is at most this long even written with \u escapes; a longer key is not held.
const MAX_KEY_BYTES = 256;
// Most strings of a diff (its keys, a line's kind) are a byte or two long: a loop finds
// their end sooner than a call into indexOf does, which wins for the longer ones.
const SHORT_STRING = 4;

/** 1 for the bytes of a skipped container's structure outside its strings. */
const STRUCTURAL = new Uint8Array(256);
for (const c of [QUOTE, OPEN_BRACE, CLOSE_BRACE, OPEN_BRACKET, CLOSE_BRACKET]) STRUCTURAL[c] = 1;

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/**
 * Reads one JSON object as it arrives in chunks and keeps only the named top-level fields,
 * so that an answer whose other fields are hundreds of megabytes (json-rev's `diff`) is
 * never held. A kept value is copied as raw text, at most `maxKeptBytes` of them in all, and
 * checked and parsed by JSON.parse once complete. The top level's structure and scalars are
 * checked byte by byte. A skipped string or container is only followed to its end (strings
 * closed, brackets matched), not checked: it is most of the answer, and this way the scan
 * runs near 1 GB/s. Structural bytes are ASCII, so chunks may split a UTF-8 character.
 */
export class JsonFieldPicker {
  private state = ROOT;
  /** Bytes in the chunks before the current one, to say where an error is. */
  private offset = 0;
  /** The closers (`}` or `]`) that the current top-level container still waits for. */
  private readonly closers: number[] = [];
  /** In a string inside the current top-level container. */
  private inString = false;
  /** Backslashes right before where the string scan resumes (an odd run escapes a quote). */
  private backslashes = 0;
  private literal = LITERALS[0x74]!;
  private literalAt = 0;

  /** The name of the current top-level field, for messages; undefined if too long. */
  private field: string | undefined;
  /** The raw bytes of the top-level key being read; undefined once too long to be kept. */
  private key: Buffer[] | undefined;
  private keyBytes = 0;
  private kept = false;
  /** The raw bytes of the kept value being read. */
  private value: Buffer[] | undefined;
  private start = 0;
  private keptBytes = 0;
  private readonly fields = new Map<string, unknown>();

  constructor(
    private readonly keep: ReadonlySet<string>,
    private readonly maxKeptBytes: number,
  ) {}

  /** Feeds the next chunk; throws JsonSyntaxError or KeptTooLarge as soon as it can tell. */
  push(chunk: Buffer): void {
    const n = chunk.length;
    this.start = 0;
    let i = 0;
    while (i < n) {
      const c = chunk[i]!;
      switch (this.state) {
        case IN_KEY:
        case IN_STRING: {
          const end = this.skipString(chunk, i);
          if (end < 0) {
            i = n;
          } else {
            i = end;
            if (this.state === IN_KEY) this.keyEnded(chunk, end);
            else this.valueEnded(chunk, end);
          }
          continue;
        }
        case IN_CONTAINER: {
          const end = this.skipContainer(chunk, i);
          if (end < 0) {
            i = n;
          } else {
            i = end;
            this.valueEnded(chunk, end);
          }
          continue;
        }
        case LITERAL:
          if (c !== this.literal[this.literalAt]) this.fail(chunk, i, 'true, false or null');
          this.literalAt += 1;
          i += 1;
          if (this.literalAt === this.literal.length) this.valueEnded(chunk, i);
          continue;
        case MINUS:
        case DOT:
        case E_SIGN:
          if (!isDigit(c)) this.fail(chunk, i, 'a digit');
          this.state = this.state === MINUS ? (c === 0x30 ? ZERO : INT) : this.state + 1;
          i += 1;
          continue;
        case E:
          if (!isDigit(c) && c !== 0x2b && c !== 0x2d) this.fail(chunk, i, 'an exponent');
          this.state = isDigit(c) ? EXPONENT : E_SIGN;
          i += 1;
          continue;
        case ZERO:
        case INT:
        case FRACTION:
        case EXPONENT:
          if (isDigit(c) && this.state !== ZERO) {
            i += 1;
          } else if (c === 0x2e && (this.state === ZERO || this.state === INT)) {
            this.state = DOT;
            i += 1;
          } else if ((c === 0x65 || c === 0x45) && this.state !== EXPONENT) {
            this.state = E;
            i += 1;
          } else {
            // This byte is not the number's: the top level reads it next.
            this.valueEnded(chunk, i);
          }
          continue;
      }
      i += 1;
      if (isSpace(c)) continue;
      switch (this.state) {
        case ROOT:
          if (c !== OPEN_BRACE) {
            throw new JsonSyntaxError(
              `not a JSON object (${show(c)} at byte ${this.offset + i - 1})`,
            );
          }
          this.state = KEY_OR_CLOSE;
          break;
        case KEY_OR_CLOSE:
        case KEY:
          if (c === CLOSE_BRACE && this.state === KEY_OR_CLOSE) {
            this.state = END;
          } else if (c === QUOTE) {
            this.state = IN_KEY;
            this.key = [];
            this.keyBytes = 0;
            this.start = i - 1;
            this.backslashes = 0;
          } else {
            this.fail(chunk, i - 1, this.state === KEY ? 'a key' : "a key or '}'");
          }
          break;
        case COLON:
          if (c !== 0x3a) this.fail(chunk, i - 1, "':'");
          this.state = VALUE;
          break;
        case VALUE:
          this.startValue(chunk, i - 1, c);
          break;
        case AFTER_VALUE:
          if (c === 0x2c) this.state = KEY;
          else if (c === CLOSE_BRACE) this.state = END;
          else this.fail(chunk, i - 1, "',' or '}'");
          break;
        case END:
          this.fail(chunk, i - 1, 'nothing after the object');
      }
    }
    if (this.key !== undefined) this.take(chunk, this.start, n, 'key');
    if (this.value !== undefined) this.take(chunk, this.start, n, 'value');
    this.offset += n;
  }

  /** The kept fields, once the whole text has been pushed. */
  end(): Record<string, unknown> {
    if (this.state !== END) {
      throw new JsonSyntaxError(
        this.offset === 0 ? 'empty' : `${this.where()}ends early, at byte ${this.offset}`,
      );
    }
    return Object.fromEntries(this.fields);
  }

  /** A top-level value starts at `i` with `c`. */
  private startValue(chunk: Buffer, i: number, c: number): void {
    if (this.kept) {
      this.value = [];
      this.start = i;
    }
    if (c === QUOTE) {
      this.state = IN_STRING;
      this.backslashes = 0;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      this.state = IN_CONTAINER;
      this.closers.push(c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET);
    } else if (c === 0x2d) {
      this.state = MINUS;
    } else if (isDigit(c)) {
      this.state = c === 0x30 ? ZERO : INT;
    } else if (LITERALS[c] !== undefined) {
      this.literal = LITERALS[c];
      this.literalAt = 1;
      this.state = LITERAL;
    } else {
      this.fail(chunk, i, 'a value');
    }
  }

  /**
   * Finds the end of the string being read, from `i`: the index after its closing quote,
   * or -1 when it goes on into the next chunk.
   */
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
   * Follows the top-level container being read, from `i`, through nested containers and
   * strings: the index after its closing bracket, or -1 when it goes on into the next chunk.
   * A diff is read here, so this loop keeps its state in locals and has few branches.
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
        if (closers.length === 0) {
          this.inString = false;
          return i;
        }
      }
    }
  }

  private keyEnded(chunk: Buffer, end: number): void {
    this.state = COLON;
    this.take(chunk, this.start, end, 'key');
    this.field = undefined;
    this.kept = false;
    if (this.key === undefined) return;
    const raw = Buffer.concat(this.key).toString('utf8');
    this.key = undefined;
    try {
      this.field = JSON.parse(raw) as string;
    } catch {
      throw new JsonSyntaxError(`a key is not a JSON string (ending at byte ${this.offset + end})`);
    }
    this.kept = this.keep.has(this.field);
  }

  /** A top-level value ended just before `end`; a kept one is parsed now. */
  private valueEnded(chunk: Buffer, end: number): void {
    this.state = AFTER_VALUE;
    if (this.value === undefined) return;
    this.take(chunk, this.start, end, 'value');
    const raw = Buffer.concat(this.value).toString('utf8');
    this.value = undefined;
    try {
      this.fields.set(this.field!, JSON.parse(raw));
    } catch (error) {
      throw new JsonSyntaxError(`${this.where()}${(error as Error).message}`);
    }
  }

  /** Holds on to the part of the chunk that belongs to the key or kept value being read. */
  private take(chunk: Buffer, start: number, end: number, what: 'key' | 'value'): void {
    if (what === 'key') {
      this.keyBytes += end - start;
      if (this.keyBytes > MAX_KEY_BYTES) this.key = undefined;
      else this.key?.push(Buffer.from(chunk.subarray(start, end)));
      return;
    }
    this.keptBytes += end - start;
    if (this.keptBytes > this.maxKeptBytes) throw new KeptTooLarge(this.maxKeptBytes);
    this.value!.push(Buffer.from(chunk.subarray(start, end)));
  }

  /** Names the top-level field whose value is being read, if any. */
  private where(): string {
    const inValue = this.state === VALUE || this.state === AFTER_VALUE || this.state >= IN_STRING;
    return inValue && this.field !== undefined ? `in ${JSON.stringify(this.field)}: ` : '';
  }

  private fail(chunk: Buffer, i: number, expected: string): never {
    throw new JsonSyntaxError(
      `${this.where()}expected ${expected}, got ${show(chunk[i]!)} at byte ${this.offset + i}`,
    );
  }
}

const show = (c: number): string =>
  c >= 0x20 && c < 0x7f
    ? `'${String.fromCharCode(c)}'`
    : `byte 0x${c.toString(16).padStart(2, '0')}`;
