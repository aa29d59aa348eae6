import * as t from 'io-ts';
import { Bit } from './scalars.js';

export const Attachment = t.type(
  {
    content_type: t.string,
    is_patch: Bit,
    is_obsolete: Bit,
  },
  'Attachment',
);
export type Attachment = t.TypeOf<typeof Attachment>;

/** `GET /bug/<id>/attachment?exclude_fields=data` */
export const AttachmentsAnswer = t.type(
  { bugs: t.record(t.string, t.array(Attachment)) },
  'AttachmentsAnswer',
);
export type AttachmentsAnswer = t.TypeOf<typeof AttachmentsAnswer>;

export const HistoryChange = t.type(
  { field_name: t.string, added: t.string, removed: t.string },
  'HistoryChange',
);
export type HistoryChange = t.TypeOf<typeof HistoryChange>;

export const HistoryEntry = t.type(
  { when: t.string, who: t.string, changes: t.array(HistoryChange) },
  'HistoryEntry',
);
export type HistoryEntry = t.TypeOf<typeof HistoryEntry>;

/** `GET /bug/<id>/history` */
export const HistoryAnswer = t.type(
  { bugs: t.array(t.type({ id: t.number, history: t.array(HistoryEntry) })) },
  'HistoryAnswer',
);
export type HistoryAnswer = t.TypeOf<typeof HistoryAnswer>;

/** Bugzilla's error body; it can come with 401, 404, or even 200. */
export const BugzillaError = t.intersection(
  [t.type({ error: t.literal(true) }), t.partial({ message: t.string, code: t.number })],
  'BugzillaError',
);
export type BugzillaError = t.TypeOf<typeof BugzillaError>;

/** What Bugzilla said about a bug; `null` when it has no such bug we may read (401, 404, error). */
export const BugRecord = t.union(
  [t.type({ attachments: t.array(Attachment), history: t.array(HistoryEntry) }), t.null],
  'BugRecord',
);
export type BugRecord = t.TypeOf<typeof BugRecord>;
