import { decodeJsonWith } from '../../../src/codecs/decodeJson.js';
import { ChangegroupMessage, HgPushEnvelope } from '../../../src/codecs/pulseMessage.js';
import { allowedHgUrl } from '../../../src/clients/allowList.js';
import { describeError } from '../../../src/errors.js';
import type { ParkReason, PushTarget } from '../../../src/pipeline/job.js';
import { repositoryUrl } from '../../../src/codecs/scalars.js';

/** What a Pulse message body asks of us. */
export type MessageReading =
  /** A push to process. */
  | { readonly kind: 'push'; readonly target: PushTarget }
  /** Nothing to do: acknowledged and logged. */
  | { readonly kind: 'skip'; readonly reason: string }
  /** Cannot be processed as it is: parked for an operator, never dropped. */
  | { readonly kind: 'reject'; readonly reason: string; readonly parkReason?: ParkReason };

/**
 * An hgpush message is a few KB; a megabyte is far past any real one and far below what the
 * broker lets through. The body is read whole, so it is refused before it is parsed.
 */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
const LIMITS = { maxBytes: MAX_MESSAGE_BYTES, strictUtf8: true };

const readEnvelope = decodeJsonWith(HgPushEnvelope, 'hgpush message', LIMITS);
// The envelope was read already: its size, text and depth passed.
const readChangegroup = decodeJsonWith(ChangegroupMessage, 'changegroup.1 message');

/**
 * Reads an hgpush message body. Only `changegroup.1` messages naming exactly one push are
 * work; other types (`newrepo.1`, `obsolete.1`, types added later) are skipped. The message's
 * `push_json_url` is not used: the pipeline builds its own bounded pushlog request from
 * `repo_url` and `pushid`, and `repo_url` must be on an allowed host.
 */
export const readPulseMessage = (
  body: Buffer | string,
  allowedHosts: readonly string[],
  /** GITHUB_WEB_URL: an hgpush message naming a repository there is refused. */
  githubWebUrl?: string,
): MessageReading => {
  const envelope = readEnvelope(body);
  if (!envelope.ok) return { kind: 'reject', reason: envelope.error.message };
  const type = envelope.value.payload.type;
  if (type !== 'changegroup.1') return { kind: 'skip', reason: `message type ${type}` };

  const message = readChangegroup(body);
  if (!message.ok) return { kind: 'reject', reason: message.error.message };
  const { repo_url: repoUrl, pushlog_pushes: pushes } = message.value.payload.data;
  const [push, ...others] = pushes;
  if (push === undefined) return { kind: 'skip', reason: 'message names no push' };
  if (others.length > 0) {
    return { kind: 'skip', reason: `message names ${pushes.length} pushes` };
  }
  try {
    allowedHgUrl(repoUrl, allowedHosts, githubWebUrl);
  } catch (error) {
    const reason = `repo_url: ${describeError(error)}`;
    return { kind: 'reject', reason, parkReason: 'host_not_allowed' };
  }
  const repository = repositoryUrl(repoUrl);
  return { kind: 'push', target: { kind: 'push', repository, pushId: push.pushid } };
};
