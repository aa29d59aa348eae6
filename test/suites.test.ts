import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { services, unit } from './suites.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

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
  /state\/harness\.js/,
  /from 'amqplib'/,
  /from 'amqp-connection-manager'/,
  /from 'pg'/,
  /startConsumingWorker/,
];

test('every test file is in exactly one of test/suites.js: unit or services', (t) => {
  const listed = [...unit, ...services];
  const twice = listed.filter((file, i) => listed.indexOf(file) !== i);
  t.deepEqual(twice, [], 'listed in test/suites.js more than once: keep each in one list');
  const files = testFiles();
  const missing = files.filter((file) => !listed.includes(file));
  t.deepEqual(missing, [], 'add these to `unit` or `services` in test/suites.js');
  const gone = listed.filter((file) => !files.includes(file));
  t.deepEqual(gone, [], 'test/suites.js lists files that do not exist: remove or rename them');
});

test('no file in the unit list uses the broker or PostgreSQL', (t) => {
  // This file names the marks, so it is left out.
  const needing = unit.filter((file) => {
    if (file === 'test/suites.test.ts') return false;
    const text = readFileSync(join(ROOT, file), 'utf8');
    return SERVICE_MARKS.some((mark) => mark.test(text));
  });
  t.deepEqual(needing, [], 'move these to `services` in test/suites.js');
});
