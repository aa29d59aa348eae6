import { createHash } from 'node:crypto';
import type { Answer, FixtureData, Pushlog } from './fixtureData.js';
import { filesAndDiff } from './hgJsonRev.js';

export interface SyntheticOptions {
  readonly repoPath?: string;
  readonly pushes: number;
  readonly changesetsPerPush?: number;
  /** Changesets that share one bug, as a series of patches would. */
  readonly changesetsPerBug?: number;
}

/** The review system each synthetic changeset is built to get, in rotation. */
export const SYNTHETIC_KINDS = [
  'phabricator',
  'bmo',
  'no_bug',
  'review_unneeded',
  'unknown',
] as const;
export type SyntheticKind = (typeof SYNTHETIC_KINDS)[number];

export const syntheticNode = (pushId: number, index: number): string =>
  createHash('sha1').update(`${pushId}/${index}`).digest('hex');

const PATCH_BODY = `diff --git a/dom/base/Element.cpp b/dom/base/Element.cpp
--- a/dom/base/Element.cpp
+++ b/dom/base/Element.cpp
@@ -10,3 +10,4 @@
 #include "mozilla/dom/Element.h"
-#include "nsIContent.h"
+#include "nsIContentInlines.h"
+#include "nsAtom.h"
 namespace mozilla {
diff --git a/dom/base/moz.build b/dom/base/moz.build
--- a/dom/base/moz.build
+++ b/dom/base/moz.build
@@ -1,1 +1,1 @@
-EXPORTS += []
+EXPORTS += ["Element.h"]
`;

/** The diffstat every synthetic patch has. */
export const SYNTHETIC_DIFFSTAT = { changedFiles: 2, additions: 3, deletions: 2 };

/** json-rev's `files` and `diff` of every synthetic changeset, as hg.mozilla.org has them. */
const { files: FILES, diff: DIFF } = filesAndDiff(PATCH_BODY);

/**
 * A generated repository of `pushes` pushes (ids 1..pushes), each of `changesetsPerPush`
 * changesets whose review systems rotate through SYNTHETIC_KINDS, with the Bugzilla answers
 * that make them so. For benchmarks and tests that need volume rather than realism.
 */
export const syntheticFixtures = (
  options: SyntheticOptions,
): FixtureData & {
  kindOf(node: string): SyntheticKind | undefined;
  nodes(pushId: number): string[];
} => {
  const repoPath = options.repoPath ?? 'integration/autoland';
  const perPush = options.changesetsPerPush ?? 3;
  const perBug = options.changesetsPerBug ?? 2;
  const byNode = new Map<string, { pushId: number; index: number; serial: number }>();
  const nodes = (pushId: number) =>
    Array.from({ length: perPush }, (_, index) => syntheticNode(pushId, index));
  for (let pushId = 1; pushId <= options.pushes; pushId += 1) {
    nodes(pushId).forEach((node, index) =>
      byNode.set(node, { pushId, index, serial: (pushId - 1) * perPush + index }),
    );
  }
  const kindOfSerial = (serial: number): SyntheticKind =>
    SYNTHETIC_KINDS[serial % SYNTHETIC_KINDS.length]!;
  // Bug ids say which kind they are for: 1_000_000 + group * 10 + kind index.
  const bugFor = (serial: number) =>
    1_000_000 +
    Math.floor(serial / (perBug * SYNTHETIC_KINDS.length)) * 10 +
    (serial % SYNTHETIC_KINDS.length);

  const description = (serial: number, bug: number): string => {
    switch (kindOfSerial(serial)) {
      case 'phabricator':
        return `Bug ${bug} - Use the inline content header in Element. r=smaug\n\nDifferential Revision: https://phabricator.services.mozilla.com/D${serial}`;
      case 'bmo':
        return `Bug ${bug} - Export Element.h from dom/base. r=bz`;
      case 'no_bug':
        return 'No bug - Fix a typo in a comment. r=me DONTBUILD';
      case 'review_unneeded':
        return `Backed out changeset ${syntheticNode(serial, 99).slice(0, 12)} (bug ${bug}) for build bustage`;
      case 'unknown':
        return `Bug ${bug} - Land the patch that has no review request.`;
    }
  };

  const pushlog: Pushlog = {
    lastpushid: options.pushes,
    pushes: Object.fromEntries(
      Array.from({ length: options.pushes }, (_, i) => [
        String(i + 1),
        { changesets: nodes(i + 1), date: 1_700_000_000 + i * 60, user: 'sheriff@mozilla.com' },
      ]),
    ),
  };

  const attachment = (content_type: string, is_patch: 0 | 1) => ({
    content_type,
    is_patch,
    is_obsolete: 0,
    id: 1,
    summary: 'patch',
  });

  return {
    kindOf: (node) => {
      const found = byNode.get(node);
      return found === undefined ? undefined : kindOfSerial(found.serial);
    },
    nodes,
    pushlog: (path) => (path === repoPath ? pushlog : undefined),
    changeset: (path, node) => {
      if (path !== repoPath) return undefined;
      const found = byNode.get(node);
      if (found === undefined) return undefined;
      const bug = bugFor(found.serial);
      return {
        node,
        desc: description(found.serial, bug),
        user: 'Jane Doe <jdoe@mozilla.com>',
        parents: [syntheticNode(found.pushId, found.index - 1)],
        files: FILES,
        diff: DIFF,
        date: [1_700_000_000 + found.serial, 0],
        pushid: found.pushId,
        pushdate: [1_700_000_000 + (found.pushId - 1) * 60, 0],
        pushuser: 'sheriff@mozilla.com',
        landingsystem: found.serial % 2 === 0 ? 'lando' : null,
      };
    },
    patch: (path, node) =>
      path === repoPath && byNode.has(node)
        ? `# HG changeset patch\n# User Jane Doe <jdoe@mozilla.com>\n# Node ID ${node}\nA synthetic change\n\n${PATCH_BODY}`
        : undefined,
    bug: (id, endpoint): Answer | undefined => {
      const kind = SYNTHETIC_KINDS[id % 10];
      if (kind === undefined) return undefined;
      if (endpoint === 'attachment') {
        const attachments =
          kind === 'phabricator'
            ? [attachment('text/x-phabricator-request', 0)]
            : kind === 'bmo'
              ? [attachment('text/plain', 1)]
              : [];
        return { status: 200, body: { bugs: { [String(id)]: attachments }, attachments: {} } };
      }
      const changes =
        kind === 'bmo'
          ? [{ field_name: 'flagtypes.name', added: 'review+', removed: 'review?(bz@mozilla.com)' }]
          : [];
      return {
        status: 200,
        body: {
          bugs: [
            {
              id,
              alias: null,
              history: [{ when: '2024-01-01T00:00:00Z', who: 'bz@mozilla.com', changes }],
            },
          ],
        },
      };
    },
  };
};
