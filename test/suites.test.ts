import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { commands, services, unit } from './suites.js';
import { ROOT } from './support/root.js';

const testFiles = (): string[] =>
  readdirSync(join(ROOT, 'test'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.test.ts'))
    .map((file) => `test/${file.split('\\').join('/')}`)
    .sort();

// What a test file imports or names when it needs the broker or PostgreSQL.
const SERVICE_MARKS = [
  /support\/broker\.js/,
  /support\/worker\.js/,
  /postgresHarness\.js/,
  /state\/support\/harness\.js/,
  /from 'amqplib'/,
  /from 'amqp-connection-manager'/,
  /from 'pg'/,
  /startConsumingWorker/,
];

// What a test file imports when it runs the built commands.
const COMMAND_MARKS = [/support\/cli\.js/, /commandPath\(/];

// This file names the marks, so it is left out of the search for them.
const marked = (files: readonly string[], marks: RegExp[]): string[] =>
  files.filter(
    (file) =>
      file !== 'test/suites.test.ts' &&
      marks.some((mark) => mark.test(readFileSync(join(ROOT, file), 'utf8'))),
  );

test('every test file is in exactly one list of test/suites.js: unit, commands or services', (t) => {
  const listed = [...unit, ...commands, ...services];
  const twice = listed.filter((file, i) => listed.indexOf(file) !== i);
  t.deepEqual(twice, [], 'listed in test/suites.js more than once: keep each in one list');
  const files = testFiles();
  const missing = files.filter((file) => !listed.includes(file));
  t.deepEqual(missing, [], 'add these to `unit`, `commands` or `services` in test/suites.js');
  const gone = listed.filter((file) => !files.includes(file));
  t.deepEqual(gone, [], 'test/suites.js lists files that do not exist: remove or rename them');
});

test('no file outside `services` uses the broker or PostgreSQL', (t) => {
  const needing = marked([...unit, ...commands], SERVICE_MARKS);
  t.deepEqual(needing, [], 'move these to `services` in test/suites.js');
});

test('no file in `unit` runs a built command', (t) => {
  t.deepEqual(marked(unit, COMMAND_MARKS), [], 'move these to `commands` in test/suites.js');
});
