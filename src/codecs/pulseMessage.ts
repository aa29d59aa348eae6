import * as t from 'io-ts';
import { PushIdField } from './pushId.js';

/** Only the part of a Pulse hgpush message that says what kind of message it is. */
export const HgPushEnvelope = t.type({ payload: t.type({ type: t.string }) }, 'HgPushEnvelope');

export const PushlogPushRef = t.type(
  {
    pushid: PushIdField,
    push_json_url: t.string,
  },
  'PushlogPushRef',
);
export type PushlogPushRef = t.TypeOf<typeof PushlogPushRef>;

/** A `changegroup.1` message: a push landed in `repo_url`. Other types are skipped. */
export const ChangegroupMessage = t.type(
  {
    payload: t.type({
      type: t.literal('changegroup.1'),
      data: t.type({
        repo_url: t.string,
        pushlog_pushes: t.array(PushlogPushRef),
      }),
    }),
  },
  'ChangegroupMessage',
);
export type ChangegroupMessage = t.TypeOf<typeof ChangegroupMessage>;
