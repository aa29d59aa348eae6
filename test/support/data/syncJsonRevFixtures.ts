/**
 * Rewrites `files` and `diff` of every recorded json-rev fixture that has a raw-rev patch
 * beside it, from that patch; run it after editing or adding a patch:
 *
 *   npx tsx test/support/data/syncJsonRevFixtures.ts
 *
 * Fixtures without a patch keep the small diff written for them by hand.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES_DIR } from './fixtureData.js';
import { jsonRevText, linesOf, withoutFilesAndDiff } from './hgJsonRev.js';

/** Repository folders under fixtures/hg, e.g. `integration/autoland`. */
export const fixtureRepos = (dir = join(FIXTURES_DIR, 'hg')): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('json-rev'))
    .map((path) => path.slice(0, -'/json-rev'.length));

/** The json-rev text of a recorded changeset, its `files` and `diff` made from `patch`. */
export const syncedJsonRev = (text: string, patch: string): string => {
  const changeset = withoutFilesAndDiff(JSON.parse(text) as Record<string, unknown>);
  return [...jsonRevText(changeset, () => linesOf(patch))].join('');
};

const main = (): void => {
  for (const repo of fixtureRepos()) {
    const folder = join(FIXTURES_DIR, 'hg', repo);
    for (const file of readdirSync(join(folder, 'json-rev'))) {
      const patchPath = join(folder, 'raw-rev', file.replace(/\.json$/, '.patch'));
      if (!existsSync(patchPath)) continue;
      const path = join(folder, 'json-rev', file);
      const before = readFileSync(path, 'utf8');
      const after = syncedJsonRev(before, readFileSync(patchPath, 'utf8'));
      if (after !== before) {
        writeFileSync(path, after);
        console.log(`rewrote ${join(repo, 'json-rev', file)}`);
      }
    }
  }
};

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1])) main();
