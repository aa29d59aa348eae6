import { existsSync, readdirSync, readFileSync, createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ROOT } from '../root.js';

/** An upstream answer: a status and a JSON body. */
export interface Answer {
  readonly status: number;
  readonly body: unknown;
}

export interface Pushlog {
  readonly lastpushid: number;
  readonly pushes: Readonly<Record<string, { changesets: string[]; date: number; user: string }>>;
}

/** What the fixture server serves; recorded files, or data generated for a benchmark. */
export interface FixtureData {
  /** The repository's whole pushlog, from which json-pushes pages are cut. */
  pushlog(repoPath: string): Pushlog | undefined;
  /**
   * The json-rev answer for a node or a 12+ character prefix of one: a value to send as
   * JSON, or a Readable of its text (a recorded file as it is, or one too large to hold).
   */
  changeset(repoPath: string, node: string): unknown;
  /** The raw-rev patch. */
  patch(repoPath: string, node: string): Readable | string | undefined;
  /** A Bugzilla answer for `attachment` or `history`; undefined answers 404. */
  bug(id: number, endpoint: 'attachment' | 'history'): Answer | undefined;
}

export const FIXTURES_DIR = join(ROOT, 'fixtures/');

const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));

/**
 * Recorded answers under `fixtures/`:
 *   hg/<repo path>/json-pushes.json      the whole pushlog of the repository
 *   hg/<repo path>/json-rev/<node>.json  json-rev answers, served as they are written
 *   hg/<repo path>/raw-rev/<node>.patch  raw-rev patches
 *   bmo/bug/<id>/attachment.json, history.json   Bugzilla answers ({status, body} in
 *                                                <endpoint>.status.json overrides the status)
 */
export const recordedFixtures = (dir: string = FIXTURES_DIR): FixtureData => ({
  pushlog: (repoPath) => {
    const path = join(dir, 'hg', repoPath, 'json-pushes.json');
    return existsSync(path) ? (readJson(path) as Pushlog) : undefined;
  },
  changeset: (repoPath, node) => {
    const folder = join(dir, 'hg', repoPath, 'json-rev');
    if (!existsSync(folder)) return undefined;
    const file = readdirSync(folder).find((name) => name.startsWith(node.toLowerCase()));
    return file === undefined ? undefined : createReadStream(join(folder, file));
  },
  patch: (repoPath, node) => {
    const path = join(dir, 'hg', repoPath, 'raw-rev', `${node}.patch`);
    return existsSync(path) ? createReadStream(path) : undefined;
  },
  bug: (id, endpoint) => {
    const folder = join(dir, 'bmo', 'bug', String(id));
    const answer = join(folder, `${endpoint}.status.json`);
    if (existsSync(answer)) return readJson(answer) as Answer;
    const body = join(folder, `${endpoint}.json`);
    return existsSync(body) ? { status: 200, body: readJson(body) } : undefined;
  },
});
