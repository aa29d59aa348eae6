import { configureLog } from '../../src/log.js';

/**
 * A fault's `match` that can be turned off: the fixture server only ever calls `test`, so an
 * outage ends when the test says so, however many requests it saw meanwhile.
 */
export class Switch extends RegExp {
  on = true;

  override test(text: string): boolean {
    return this.on && super.test(text);
  }
}

/** One JSON log line, as the logger writes it off a terminal. */
export interface LogLine {
  readonly level: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/**
 * Collects the log lines written to stderr while `work` runs (at info and above), and
 * writes nothing. Only for tests that run serially: stderr is the process's.
 */
export const capturingLog = async <T>(
  work: (lines: LogLine[]) => Promise<T>,
): Promise<{ result: T; lines: LogLine[] }> => {
  const lines: LogLine[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    for (const text of String(chunk).split('\n')) {
      if (text.startsWith('{')) lines.push(JSON.parse(text) as LogLine);
    }
    return true;
  }) as typeof process.stderr.write;
  configureLog({ level: 'info' });
  try {
    return { result: await work(lines), lines };
  } finally {
    configureLog({ level: 'silent' });
    process.stderr.write = original;
  }
};
