import { createInterface } from 'node:readline/promises';
import type { Readable, Writable } from 'node:stream';
import { EXIT, fail } from './program.js';

/** Asks a yes/no question; only `y` or `yes` (any case) is a yes. */
export const confirm = async (
  question: string,
  input: Readable = process.stdin,
  output: Writable = process.stderr,
): Promise<boolean> => {
  const reader = createInterface({ input, output, terminal: false });
  // Input that ends (Ctrl-D, a closed pipe) before an answer is a no.
  const closed = new Promise<string>((resolve) => reader.once('close', () => resolve('')));
  try {
    const answer = await Promise.race([reader.question(`${question} [y/N] `), closed]);
    return /^y(es)?$/i.test(answer.trim());
  } catch {
    return false;
  } finally {
    reader.close();
  }
};

/** A prompt needs a terminal to answer it: without one, a usage error unless --yes answered it. */
export const requireTerminalUnlessYes = (name: string, yes: boolean): void => {
  if (!yes && !process.stdin.isTTY) {
    fail(name, 'stdin is not a terminal: pass --yes to proceed without a prompt.', EXIT.usage);
  }
};
