import { CLOSE_BRACE, JsonTokenizer, OPEN_BRACE, QUOTE } from './tokenizer.js';

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

// What the picker expects next at the top level, or what it is in.
const ROOT = 0;
const KEY_OR_CLOSE = 1; // just after the root's `{`
const KEY = 2; // after a `,`
const COLON = 3;
const VALUE = 4;
const AFTER_VALUE = 5;
const END = 6; // the root is closed: only whitespace may follow
const IN_KEY = 7;
const IN_VALUE = 8;

// A kept key is at most this long even written with \u escapes; a longer key is not held.
const MAX_KEY_BYTES = 256;

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * Reads one JSON object as it arrives in chunks and keeps only the named top-level fields,
 * so that an answer whose other fields are hundreds of megabytes (json-rev's `diff`) is
 * never held. The top level's structure is checked here byte by byte; each key and value is
 * followed to its end by the tokenizer. A kept value is copied as raw text, at most
 * `maxKeptBytes` of them in all, and checked and parsed by JSON.parse once complete.
 */
export class JsonFieldPicker {
  private state = ROOT;
  /** Bytes in the chunks before the current one, to say where an error is. */
  private offset = 0;
  private readonly tokens = new JsonTokenizer((chunk, i, expected) =>
    this.fail(chunk, i, expected),
  );

  /** The current top-level field's name, for messages; undefined if too long. */
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
      if (this.state === IN_KEY || this.state === IN_VALUE) {
        const end = this.tokens.scan(chunk, i);
        if (end < 0) break;
        i = end;
        if (this.state === IN_KEY) this.keyEnded(chunk, end);
        else this.valueEnded(chunk, end);
        continue;
      }
      const c = chunk[i]!;
      i += 1;
      if (!isSpace(c)) this.topLevel(chunk, i - 1, c);
    }
    if (this.key !== undefined) this.take(chunk, this.start, n, 'key');
    if (this.value !== undefined) this.take(chunk, this.start, n, 'value');
    this.offset += n;
  }

  end(): Record<string, unknown> {
    if (this.state !== END) {
      throw new JsonSyntaxError(
        this.offset === 0 ? 'empty' : `${this.where()}ends early, at byte ${this.offset}`,
      );
    }
    return Object.fromEntries(this.fields);
  }

  /** The byte `c` at `i`, not whitespace, outside any key or value. */
  private topLevel(chunk: Buffer, i: number, c: number): void {
    switch (this.state) {
      case ROOT:
        if (c !== OPEN_BRACE) {
          throw new JsonSyntaxError(`not a JSON object (${show(c)} at byte ${this.offset + i})`);
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
          this.start = i;
          this.tokens.begin(chunk, i);
        } else {
          this.fail(chunk, i, this.state === KEY ? 'a key' : "a key or '}'");
        }
        break;
      case COLON:
        if (c !== 0x3a) this.fail(chunk, i, "':'");
        this.state = VALUE;
        break;
      case VALUE:
        if (this.kept) {
          this.value = [];
          this.start = i;
        }
        this.tokens.begin(chunk, i);
        this.state = IN_VALUE;
        break;
      case AFTER_VALUE:
        if (c === 0x2c) this.state = KEY;
        else if (c === CLOSE_BRACE) this.state = END;
        else this.fail(chunk, i, "',' or '}'");
        break;
      default:
        this.fail(chunk, i, 'nothing after the object');
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
    const inValue = this.state === VALUE || this.state === AFTER_VALUE || this.state === IN_VALUE;
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
