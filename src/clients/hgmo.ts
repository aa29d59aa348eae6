import type { Readable } from 'node:stream';
import { Changeset } from '../codecs/changeset.js';
import type { Diffstat } from '../codecs/ping.js';
import { PushlogPage } from '../codecs/pushlog.js';
import { decodeWith } from '../codecs/report.js';
import { NodePrefix } from '../codecs/scalars.js';
import { NoSuchChangeset, PipelineError } from '../errors.js';
import { diffstatOf } from '../rules/diffstat.js';
import { allowedUrl } from './allowList.js';
import { decodeAnswer, parseJson, requireOk, type Http } from './http.js';

const decodePage = decodeWith(PushlogPage, 'json-pushes answer');
const decodeChangeset = decodeWith(Changeset, 'json-rev answer');

/**
 * hg.mozilla.org: pushlog pages, changesets and their patches, for allowed hosts only. Every
 * method is async, so a refused URL is a rejection like any other failure, never a throw.
 */
export class HgClient {
  constructor(
    private readonly http: Http,
    private readonly allowedHosts: readonly string[],
  ) {}

  /** Pushes with `startId < id <= endId`; both bounds are always sent. */
  async pushlogPage(repository: string, startId: number, endId: number): Promise<PushlogPage> {
    const url = this.repoUrl(repository, 'json-pushes');
    url.search = new URLSearchParams({
      version: '2',
      startID: String(startId),
      endID: String(endId),
    }).toString();
    return this.pushlogPageAt(url.href);
  }

  /** A pushlog page at a URL given by input, such as a Pulse message's `push_json_url`. */
  async pushlogPageAt(pushJsonUrl: string): Promise<PushlogPage> {
    const url = allowedUrl(pushJsonUrl, this.allowedHosts).href;
    return this.http.request({ url, responseType: 'text' }, async (response) => {
      requireOk(response, `GET ${url}`);
      return decodeAnswer(parseJson(response, `GET ${url}`), decodePage);
    });
  }

  /** One changeset; `node` may be a 12+ character prefix, the answer has the full node. */
  async changeset(repository: string, node: string): Promise<Changeset> {
    const url = this.revUrl(repository, 'json-rev', node);
    return this.http.request({ url, responseType: 'text' }, async (response) => {
      requireOk(response, `GET ${url}`, () => new NoSuchChangeset(node, repository));
      return decodeAnswer(parseJson(response, `GET ${url}`), decodeChangeset);
    });
  }

  /** The diffstat of the changeset's patch, counted as it streams in, never held whole. */
  async diffstat(repository: string, node: string): Promise<Diffstat> {
    const url = this.revUrl(repository, 'raw-rev', node);
    return this.http.request({ url, responseType: 'stream' }, async (response) => {
      requireOk(response, `GET ${url}`, () => new NoSuchChangeset(node, repository));
      try {
        return await diffstatOf(response.data as Readable);
      } catch (error) {
        throw new PipelineError(`GET ${url} broke off while streaming the patch`, 'transient', {
          cause: error,
        });
      }
    });
  }

  private repoUrl(repository: string, ...path: string[]): URL {
    const base = allowedUrl(repository, this.allowedHosts);
    base.pathname = [base.pathname.replace(/\/+$/, ''), ...path].join('/');
    return base;
  }

  private revUrl(repository: string, endpoint: string, node: string): string {
    if (!NodePrefix.is(node)) {
      throw new PipelineError(
        `changeset id ${JSON.stringify(node)} is not 12 to 40 hex characters`,
        'permanent',
      );
    }
    return this.repoUrl(repository, endpoint, node.toLowerCase()).href;
  }
}
