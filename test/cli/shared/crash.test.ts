/**
 * A crash (an exception or a rejection nobody handled) in a command ends it with one fatal
 * line like any other: JSON when stderr is piped, its message masked, its stack in a field,
 * exit 1. Run as a real process through tsx, with the program set up as every command does.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../../support/root.js';

const root = ROOT;
const program = pathToFileURL(join(root, 'src/cli/shared/program.ts')).href;

/** Runs `body` after createProgram('demo-command'); resolves with its exit code and stderr. */
const crashWith = (body: string): Promise<{ code: number | null; stderr: string }> => {
  const dir = mkdtempSync(join(tmpdir(), 'cts-crash-'));
  const script = join(dir, 'crash.mts');
  writeFileSync(
    script,
    `import { createProgram } from ${JSON.stringify(program)};\n` +
      `createProgram('demo-command', 'crashes on purpose');\n${body}\n`,
  );
  return new Promise((resolve) => {
    execFile(join(root, 'node_modules/.bin/tsx'), [script], { cwd: dir }, (error, _out, stderr) => {
      rmSync(dir, { recursive: true, force: true });
      resolve({ code: error === null ? 0 : (error.code as number), stderr });
    });
  });
};

const onlyLine = (stderr: string): Record<string, unknown> => {
  const lines = stderr.split('\n').filter((line) => line !== '');
  if (lines.length !== 1) throw new Error(`expected one line, got:\n${stderr}`);
  return JSON.parse(lines[0]!) as Record<string, unknown>;
};

for (const [kind, body] of [
  [
    'an exception',
    "setTimeout(() => { throw new Error('boom at https://bob:s3cr3t@db.example/x'); });",
  ],
  ['a rejection', "void Promise.reject(new Error('boom at https://bob:s3cr3t@db.example/x'));"],
] as const) {
  test(`${kind} nobody handled: one JSON fatal line, masked, with its stack; exit 1`, async (t) => {
    const { code, stderr } = await crashWith(body);
    t.is(code, 1, stderr);
    const line = onlyLine(stderr);
    t.like(line, { level: 'error', command: 'demo-command' });
    t.regex(String(line.msg), /^unexpected error: boom at https:\/\/\S*db\.example\/x$/);
    t.regex(String(line.stack), /^Error: boom/);
    t.false(stderr.includes('s3cr3t'));
  });
}
