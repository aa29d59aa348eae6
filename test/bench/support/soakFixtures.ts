/**
 * The upstream data of the soak benchmark (soak.ts): synthetic pushes of 1 to 5 changesets,
 * added to the pushlog as they are published, some of them carrying a large changeset (a
 * patch of several MB, and a json-rev whose `diff` is as large) or a patch the fixture server
 * will trickle; and a matcher that picks a random share of the requests for a fault.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { FixtureData, Pushlog } from '../../support/data/fixtureData.js';
import { fileLines, jsonRevStream, withoutFilesAndDiff } from '../../support/data/hgJsonRev.js';
import {
  SYNTHETIC_DIFFSTAT,
  syntheticFixtures,
  syntheticNode,
  type SyntheticKind,
} from '../../support/data/syntheticFixtures.js';
import type { Totals } from './patch.js';

export const SOAK_REPO = 'integration/autoland';
export const MAX_CHANGESETS_PER_PUSH = 5;

/** What the ping of a published changeset must say. */
export interface Expected {
  readonly pushId: number;
  readonly kind: SyntheticKind;
  /** The diffstat of a phabricator or bmo changeset; the others carry none. */
  readonly diffstat: Totals | null;
  readonly large: boolean;
  readonly slow: boolean;
}

export interface SoakData extends FixtureData {
  /**
   * Puts push `pushId` in the pushlog, with 1 to 5 changesets (fixed by the id). Its first
   * changeset (always a phabricator one, so its patch is fetched) is the large one if
   * `large`, or the one whose patch is served as a stream of bytes (for trickling) if `slow`.
   */
  addPush(pushId: number, options: { large: boolean; slow: boolean }): Map<string, Expected>;
  /** How long each trickled patch took to be read to its end, in ms, as they end. */
  readonly slowPatchMs: number[];
  /** Trickled patches whose reading started, and that were read to the end. */
  readonly slowPatches: { started: number; finished: number };
}

const NEEDS_DIFFSTAT: ReadonlySet<SyntheticKind> = new Set(['phabricator', 'bmo']);

/** 1 to 5, fixed by the push id, spread evenly. */
export const changesetsOf = (pushId: number): number =>
  1 + (Number.parseInt(syntheticNode(pushId, 1000).slice(0, 8), 16) % MAX_CHANGESETS_PER_PUSH);

/**
 * Synthetic data for up to `maxPushes` pushes. `largePatch` is a generated patch on disk and
 * its true totals: every large changeset's raw-rev is that file and its json-rev carries that
 * file's `files` and `diff`, generated as they are read, never held.
 */
export const soakFixtures = (options: {
  maxPushes: number;
  largePatch: { path: string; totals: Totals };
}): SoakData => {
  const base = syntheticFixtures({
    repoPath: SOAK_REPO,
    pushes: options.maxPushes,
    changesetsPerPush: MAX_CHANGESETS_PER_PUSH,
  });
  const pushlog: { lastpushid: number; pushes: Record<string, Pushlog['pushes'][string]> } = {
    lastpushid: 0,
    pushes: {},
  };
  const large = new Set<string>();
  const slow = new Set<string>();
  const slowPatchMs: number[] = [];
  const slowPatches = { started: 0, finished: 0 };

  return {
    slowPatchMs,
    slowPatches,
    addPush: (pushId, flags) => {
      if (pushId > options.maxPushes) throw new RangeError(`push ${pushId} is past the data`);
      const nodes = base.nodes(pushId).slice(0, changesetsOf(pushId));
      pushlog.pushes[String(pushId)] = {
        changesets: nodes,
        date: 1_700_000_000 + pushId,
        user: 'sheriff@mozilla.com',
      };
      pushlog.lastpushid = Math.max(pushlog.lastpushid, pushId);
      const expected = new Map<string, Expected>();
      nodes.forEach((node, index) => {
        const kind = base.kindOf(node)!;
        const isLarge = index === 0 && flags.large;
        const isSlow = index === 0 && flags.slow && !flags.large;
        if (isLarge) large.add(node);
        if (isSlow) slow.add(node);
        const diffstat = NEEDS_DIFFSTAT.has(kind)
          ? isLarge
            ? options.largePatch.totals
            : SYNTHETIC_DIFFSTAT
          : null;
        expected.set(node, { pushId, kind, diffstat, large: isLarge, slow: isSlow });
      });
      return expected;
    },
    pushlog: (path) => (path === SOAK_REPO ? (pushlog as Pushlog) : undefined),
    changeset: (path, node) => {
      const changeset = base.changeset(path, node);
      if (changeset === undefined || !large.has(node)) return changeset;
      const fields = withoutFilesAndDiff(changeset as Record<string, unknown>);
      return jsonRevStream(fields, () => fileLines(options.largePatch.path));
    },
    patch: (path, node) => {
      if (path === SOAK_REPO && large.has(node)) {
        return createReadStream(options.largePatch.path);
      }
      const patch = base.patch(path, node);
      if (patch === undefined || !slow.has(node) || typeof patch !== 'string') return patch;
      // Bytes, not a string: the fixture server trickles a body by iterating its chunks, and
      // the characters of a string chunk would each become a NUL byte.
      const started = Date.now();
      slowPatches.started += 1;
      const body = Readable.from([Buffer.from(patch, 'utf8')]);
      body.once('end', () => {
        slowPatches.finished += 1;
        slowPatchMs.push(Date.now() - started);
      });
      return body;
    },
    bug: (id, endpoint) => base.bug(id, endpoint),
  };
};

/**
 * A RegExp for `Fault.match` that matches a random `share` of the lines its pattern matches,
 * counting them: the fixture server asks it about every request while the fault is armed.
 */
export class SometimesMatch extends RegExp {
  seen = 0;
  hits = 0;
  private readonly share: number;

  constructor(pattern: RegExp, share: number) {
    super(pattern.source, pattern.flags);
    this.share = share;
  }

  override test(line: string): boolean {
    if (!super.test(line)) return false;
    this.seen += 1;
    if (Math.random() >= this.share) return false;
    this.hits += 1;
    return true;
  }
}

/** The exact raw-rev request of a changeset, for a fault on that one patch. */
export const rawRevRequest = (node: string): RegExp =>
  new RegExp(`^GET /${SOAK_REPO.replace('/', '\\/')}/raw-rev/${node}$`);
