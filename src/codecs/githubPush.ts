import * as t from 'io-ts';
import { Node } from './scalars.js';

/**
 * A taskcluster-github push message (exchange `exchange/taskcluster-github/v1/push`), read
 * for what the worker uses and nothing more: `body` is GitHub's push webhook payload, passed
 * through unchanged. `commits` and `pusher` are there but not read (the commits may be
 * truncated; the landed ones come from the compare API). The envelope's `organization` and
 * `repository` are sanitized by taskcluster (`.` becomes `%`), so they are never used.
 */

/** A 40-hex sha, as `before` and `after` carry; all zeros names no commit. */
export const ZERO_SHA = '0'.repeat(40);

/** The repository's URL, as taskcluster copies it into `details` (may end in `.git`). */
const Details = t.partial({ 'event.head.repo.url': t.string }, 'GitHubPushDetails');

export const GitHubPushBody = t.intersection(
  [
    t.type({
      /** `refs/heads/<branch>`; a tag push names `refs/tags/...`. */
      ref: t.string,
      before: Node,
      after: Node,
    }),
    t.partial({
      created: t.boolean,
      deleted: t.boolean,
      forced: t.boolean,
      repository: t.partial({ full_name: t.string }),
    }),
  ],
  'GitHubPushBody',
);
export type GitHubPushBody = t.TypeOf<typeof GitHubPushBody>;

export const GitHubPushMessage = t.intersection(
  [
    t.type({ body: GitHubPushBody }),
    t.partial({
      details: t.union([Details, t.null]),
      installationId: t.union([t.number, t.null]),
      eventId: t.union([t.string, t.null]),
      tasks_for: t.string,
      branch: t.string,
    }),
  ],
  'GitHubPushMessage',
);
export type GitHubPushMessage = t.TypeOf<typeof GitHubPushMessage>;
