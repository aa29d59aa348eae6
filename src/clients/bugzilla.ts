import { LRUCache } from 'lru-cache';
import {
  AttachmentsAnswer,
  BugzillaError,
  HistoryAnswer,
  type BugRecord,
} from '../codecs/bugzilla.js';
import { decodeJsonWith } from '../codecs/decodeJson.js';
import type { Decoded } from '../codecs/report.js';
import { PipelineError } from '../errors.js';
import { decodedOrFail, type Http } from './http.js';

const decodeAttachments = decodeJsonWith(AttachmentsAnswer, 'Bugzilla attachments answer');
const decodeHistory = decodeJsonWith(HistoryAnswer, 'Bugzilla history answer');
const decodeError = decodeJsonWith(BugzillaError, 'Bugzilla error');

export interface BugzillaOptions {
  /** How long an answer is reused; changesets of one bug usually land together. */
  readonly ttlMs?: number;
  readonly maxBugs?: number;
}

/** Signals that Bugzilla has no bug we may read: confidential, missing, or an error body. */
const NO_BUG = Symbol('no bug');

/**
 * Bugzilla's REST API, for the attachments and history of one bug. Answers are cached per
 * bug for a few minutes, and concurrent lookups of one bug share a single pair of requests.
 */
/** Bugzilla's error code for a REST path it does not serve (`rest_invalid_resource`). */
const REST_RESOURCE_NOT_FOUND = 32614;

export class BugzillaClient {
  private readonly cache: LRUCache<number, { record: BugRecord }>;

  constructor(
    private readonly http: Http,
    private readonly apiUrl: string,
    options: BugzillaOptions = {},
  ) {
    this.cache = new LRUCache({
      max: options.maxBugs ?? 1000,
      ttl: options.ttlMs ?? 5 * 60_000,
      fetchMethod: async (bug) => ({ record: await this.fetchBug(bug) }),
    });
    http.watch(`${apiUrl}/version`, 'BMO_API_URL');
  }

  /** The bug's attachments and history, or null when Bugzilla will not show the bug. */
  async bug(bug: number): Promise<BugRecord> {
    const entry = await this.cache.fetch(bug);
    return entry!.record;
  }

  private async fetchBug(bug: number): Promise<BugRecord> {
    const [attachments, history] = await Promise.all([
      this.get(
        `/bug/${bug}/attachment?exclude_fields=data`,
        decodeAttachments,
        (answer) => answer.bugs[String(bug)] ?? [],
      ),
      this.get(`/bug/${bug}/history`, decodeHistory, (answer) =>
        answer.bugs.flatMap((b) => b.history),
      ),
    ]);
    return attachments === NO_BUG || history === NO_BUG ? null : { attachments, history };
  }

  private get<A, T>(
    path: string,
    decode: (text: string) => Decoded<A>,
    pick: (answer: A) => T,
  ): Promise<T | typeof NO_BUG> {
    const url = `${this.apiUrl}${path}`;
    return this.http.request({ url }, async (answer) => {
      if (answer.status === 401 || answer.status === 404) {
        // Bugzilla's own answer for a bug it has not, or will not show, says so in its body.
        // Any other (an HTML page, a REST path Bugzilla does not serve) is a wrong
        // BMO_API_URL: a no_bug ping then would be sent, recorded, and never corrected.
        const error = decodeError(await answer.text());
        if (error.ok && error.value.code !== REST_RESOURCE_NOT_FOUND) return NO_BUG;
        throw new PipelineError(
          `${answer.request} answered ${answer.status} without Bugzilla's error body: check BMO_API_URL`,
          'transient',
        );
      }
      if (answer.status !== 200) {
        throw new PipelineError(
          `${answer.request} answered ${answer.status}: ${await answer.excerpt()}`,
          'permanent',
        );
      }
      const text = await answer.text();
      const decoded = decode(text);
      if (decoded.ok) return pick(decoded.value);
      // Bugzilla's error body can come with 200; it is not an answer of the wrong shape.
      if (decodeError(text).ok) return NO_BUG;
      return decodedOrFail(answer, decoded);
    });
  }
}
