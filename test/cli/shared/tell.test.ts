import test from 'ava';
import { PassThrough } from 'node:stream';
import { tell } from '../../../src/cli/shared/tell.js';
import { configureLog } from '../../../src/log.js';

const collect = () => {
  const out = new PassThrough();
  let written = '';
  out.setEncoding('utf8').on('data', (chunk: string) => (written += chunk));
  return { out, written: () => written };
};

test('on a terminal: the text, and no log line', (t) => {
  const { out, written } = collect();
  tell('warn', 'resume', { resumeAfter: 6 }, 'To resume after push 6:\n  cmd', { tty: true, out });
  t.is(written(), 'To resume after push 6:\n  cmd\n');
});

test.serial('off a terminal: one JSON event, and no text', (t) => {
  configureLog({ level: 'info' });
  const { out, written } = collect();
  const original = process.stderr.write.bind(process.stderr);
  let logged = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    logged += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    tell('warn', 'resume', { resumeAfter: 6, command: 'cmd' }, 'text', { tty: false, out });
  } finally {
    process.stderr.write = original;
    configureLog({ level: 'silent' });
  }
  t.is(written(), '');
  const { time, ...event } = JSON.parse(logged) as Record<string, unknown>;
  t.is(typeof time, 'string');
  t.deepEqual(event, { level: 'warn', msg: 'resume', resumeAfter: 6, command: 'cmd' });
});
