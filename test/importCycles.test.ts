import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { ROOT } from './support/root.js';

const sources = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => resolve(ROOT, dir, file));

/** The project files a file imports, type-only and dynamic imports included. */
const importsOf = (file: string): string[] =>
  ts
    .preProcessFile(readFileSync(file, 'utf8'), true, true)
    .importedFiles.map(({ fileName }) => fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => resolve(dirname(file), name.replace(/\.js$/, '.ts')))
    .filter((target) => existsSync(target));

/** One import path that leads from a file back to itself, or none. */
const findCycle = (graph: ReadonlyMap<string, readonly string[]>): string[] | undefined => {
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (file: string): string[] | undefined => {
    const at = path.indexOf(file);
    if (at >= 0) return [...path.slice(at), file];
    if (done.has(file)) return undefined;
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    done.add(file);
    return undefined;
  };
  for (const file of graph.keys()) {
    const cycle = visit(file);
    if (cycle) return cycle;
  }
  return undefined;
};

// A loop makes the order modules load in matter, and says two files are one job in two places:
// the user of an interface declares it (src/pipeline/ports.ts) and the implementer imports it.
test('no import cycles in src/ and streams/, type imports included', (t) => {
  const files = [...sources('src'), ...sources('streams')];
  const graph = new Map(files.map((file) => [file, importsOf(file)]));
  const cycle = findCycle(graph);
  t.is(cycle?.map((file) => relative(ROOT, file)).join(' -> '), undefined);
});
