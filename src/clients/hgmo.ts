import type { Changeset } from '../codecs/changeset.js';
import { decodeJsonWith } from '../codecs/decodeJson.js';
import type { Diffstat } from '../codecs/ping.js';
import { PushlogPage } from '../codecs/pushlog.js';
import { NodePrefix, repositoryUrl } from '../codecs/scalars.js';
import { NoSuchChangeset, PipelineError } from '../errors.js';
import { DiffstatCounter } from '../rules/diffstat.js';
import { allowedUrl } from './allowList.js';
import { decodeAnswer, requireOk, type Http, type ProbeTarget } from './http.js';
import { readChangeset } from './json/jsonRev.js';

const decodePage = decodeJsonWith(PushlogPage, 'json-pushes answer');

/**
 * hg.mozilla.org: pushlog pages, changesets and their patches, for allowed hosts only. Every
 * method is async, so a refused URL is a rejection like any other failure, never a throw.
 * Built, it is the probe of every allowed host, should one go down: an empty page of the
 * pushlog of a repository it asked that host about (probeTarget).
 */
export class HgClient {
  /** Per host: the repository its probe reads, and whether that one's pushlog has answered. */
  private readonly probes = new Map<string, { repository: string; answered: boolean }>();

  constructor(
    private readonly http: Http,
    private readonly allowedHosts: readonly string[],
  ) {
    for (const host of allowedHosts) http.watchHost(host, () => this.probeTarget(host));
  }

  /**
   * Pushes with `startId < id <= endId`. Both bounds are always sent: without them,
   * json-pushes answers another range than the one meant (its latest pushes, or every push
   * after startID).
   */
  async pushlogPage(repository: string, startId: number, endId: number): Promise<PushlogPage> {
    const url = this.repoUrl(repository, 'json-pushes');
    this.asked(repository, false);
    url.search = new URLSearchParams({
      version: '2',
      startID: String(startId),
      endID: String(endId),
    }).toString();
    const page = await this.http.request({ url: url.href }, async (answer) => {
      requireOk(answer);
      return decodeAnswer(answer, decodePage);
    });
    this.asked(repository, true);
    return page;
  }

  /** One changeset; `node` may be a 12+ character prefix, the answer has the full node. */
  async changeset(repository: string, node: string): Promise<Changeset> {
    const url = this.revUrl(repository, 'json-rev', node);
    this.asked(repository, false);
    return this.http.request({ url, streamed: true }, async (answer) => {
      requireOk(answer, () => new NoSuchChangeset(node, repository));
      return readChangeset(answer);
    });
  }

  /** The diffstat of the changeset's patch, counted as it streams in, never held whole. */
  async diffstat(repository: string, node: string): Promise<Diffstat> {
    const url = this.revUrl(repository, 'raw-rev', node);
    this.asked(repository, false);
    return this.http.request({ url, streamed: true }, async (answer) => {
      requireOk(answer, () => new NoSuchChangeset(node, repository));
      const counter = new DiffstatCounter();
      try {
        await answer.each((chunk) => counter.push(chunk));
        return counter.result();
      } catch (error) {
        if (error instanceof PipelineError) throw error;
        throw new PipelineError(
          `${answer.request} broke off while streaming the patch`,
          'transient',
          { cause: error },
        );
      }
    });
  }

  private repoUrl(repository: string, ...path: string[]): URL {
    const base = allowedUrl(repository, this.allowedHosts);
    base.pathname = [repositoryUrl(base.pathname), ...path].join('/');
    return base;
  }

  /**
   * Picks the repository the host's probe reads: the first one asked about until one whose
   * pushlog answered (`answered`) takes its place for good.
   */
  private asked(repository: string, answered: boolean): void {
    const { host } = allowedUrl(repository, this.allowedHosts);
    const known = this.probes.get(host);
    if (known !== undefined && (known.answered || !answered)) return;
    this.probes.set(host, { repository, answered });
  }

  /** The host's probe: an empty page of its repository's pushlog; none before one was asked. */
  private probeTarget(host: string): ProbeTarget | undefined {
    const known = this.probes.get(host);
    if (known === undefined) return undefined;
    const url = allowedUrl(known.repository, this.allowedHosts);
    url.pathname = `${repositoryUrl(url.pathname)}/json-pushes`;
    url.search = 'version=2&startID=0&endID=0';
    return { url: url.href, setting: `the repository URL (${known.repository}) and ALLOWED_HOSTS` };
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
