/**
 * What operators expect beside the code: `npm start`, a license, and `engines` that say which
 * Node.js lines the code runs on (no wider than what its native dependency supports).
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { ROOT } from './support/root.js';

// Read from the checkout, not the copy beside the transpiled tests (dist/tests/).
const pkg = JSON.parse(
  readFileSync(join(ROOT, 'package.json'), 'utf8'),
) as typeof import('../package.json');

const run = promisify(execFile);

/** The lines (majors) an `engines.node` of `N.x` and `^N.M.P` alternatives allows. */
const majorsOf = (range: string): number[] =>
  range.split('||').map((part) => {
    const major = /^\s*\^?(\d+)(\.x|\.\d+\.\d+)\s*$/.exec(part)?.[1];
    if (major === undefined) throw new Error(`a range part this test cannot read: "${part}"`);
    return Number(major);
  });

/** Whether `version` (a.b.c) meets one `N.x` or `^N.M.P` alternative of the range. */
const satisfies = (version: string, range: string): boolean => {
  const [major, minor, patch] = version.split('.').map(Number) as [number, number, number];
  return range.split('||').some((part) => {
    const caret = /^\s*\^(\d+)\.(\d+)\.(\d+)\s*$/.exec(part);
    if (caret !== null) {
      const [, m, n, p] = caret.map(Number) as [number, number, number, number];
      return major === m && (minor > n || (minor === n && patch >= p));
    }
    return Number(/^\s*(\d+)\.x\s*$/.exec(part)?.[1]) === major;
  });
};

test('the range reader', (t) => {
  t.deepEqual(majorsOf('^20.10.0 || 22.x'), [20, 22]);
  t.true(satisfies('20.10.0', '^20.10.0 || 22.x'));
  t.true(satisfies('22.1.0', '^20.10.0 || 22.x'));
  t.false(satisfies('20.9.0', '^20.10.0 || 22.x'));
  t.false(satisfies('21.0.0', '^20.10.0 || 22.x'));
});

test('engines: the Node.js running the tests is allowed, and no line better-sqlite3 does not support', (t) => {
  const engines = pkg.engines.node;
  t.true(satisfies(process.versions.node, engines), `${process.versions.node} vs ${engines}`);
  const sqlite = JSON.parse(
    readFileSync(join(ROOT, 'node_modules/better-sqlite3/package.json'), 'utf8'),
  ) as { engines: { node: string } };
  const supported = majorsOf(sqlite.engines.node);
  for (const major of majorsOf(engines)) {
    t.true(
      supported.includes(major),
      `better-sqlite3 supports ${sqlite.engines.node}, not ${major}`,
    );
  }
  // `import ... with { type: 'json' }` (program.ts, metrics.ts, userAgent.ts) needs 20.10 or later.
  t.false(satisfies('20.9.0', engines));
  // Odd lines never become LTS: they are left out.
  t.true(majorsOf(engines).every((major) => major % 2 === 0));
});

test('the license: MPL-2.0, as the original service, with its text in LICENSE', (t) => {
  t.is(pkg.license, 'MPL-2.0');
  const text = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
  t.true(text.startsWith('Mozilla Public License Version 2.0\n'));
  t.regex(text, /Exhibit A - Source Code Form License Notice/);
});

test('npm start runs the worker from dist/', async (t) => {
  const { stdout } = await run('npm', ['start', '--silent', '--', '--help'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
  });
  t.regex(stdout, /^Usage: process-queue-messages /m);
  t.is(pkg.scripts.start, 'node dist/bin/processQueueMessages.js');
});
