import type { Ping } from '../codecs/ping.js';
import { PipelineError } from '../errors.js';
import { documentId } from '../rules/ping.js';
import type { Http } from './http.js';

export interface TelemetryTarget {
  readonly baseUrl: string;
  readonly namespace: string;
  readonly doctype: string;
  readonly docversion: string;
}

/** Mozilla's telemetry ingestion: one PUT per ping, its document id derived from the landing. */
export class TelemetryClient {
  constructor(
    private readonly http: Http,
    private readonly target: TelemetryTarget,
  ) {
    // Any answer but a 429 or 5xx means it is up: the submit endpoint may well refuse a GET.
    http.watch(target.baseUrl, 'TMO_BASE_URL (and TMO_PING_NAMESPACE, _DOCTYPE, _DOCVERSION)');
  }

  urlFor(ping: Ping): string {
    const { baseUrl, namespace, doctype, docversion } = this.target;
    const id = documentId(ping.repository, ping.changesetID);
    return `${baseUrl}/${namespace}/${doctype}/${docversion}/${id}`;
  }

  /** Resolves once ingestion accepted the ping; 4xx is permanent, 5xx is retried by Http. */
  async submit(ping: Ping): Promise<void> {
    const url = this.urlFor(ping);
    return this.http.request({ url, method: 'PUT', data: ping }, async (answer) => {
      if (answer.status >= 200 && answer.status < 300) {
        // Read to its end (under the cap) so that the connection serves the next ping.
        await answer.text();
        return;
      }
      throw new PipelineError(
        `telemetry refused the ping for ${ping.changesetID} (${answer.request} answered ${answer.status}: ${await answer.excerpt()})`,
        'permanent',
      );
    });
  }
}
