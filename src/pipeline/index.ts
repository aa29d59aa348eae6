import type { Observable } from 'rxjs';
import type { BugzillaClient } from '../clients/bugzilla.js';
import type { HgClient } from '../clients/hgmo.js';
import type { Sink } from '../sinks/sink.js';
import { classify } from './classify.js';
import { decode } from './decode.js';
import { encodePing } from './encodePing.js';
import { fetchChangesets } from './fetchChangesets.js';
import type { Job, JobOutcome } from './job.js';
import { send } from './send.js';
import { settle } from './settle.js';

export interface PipelineDeps {
  readonly hg: HgClient;
  readonly bugzilla: BugzillaClient;
  readonly sink: Sink;
}

/**
 * The one pipeline every source feeds:
 * decode -> fetch changesets -> classify -> encode ping -> send -> settle.
 * Each job is settled once all its changesets were sent or failed; one outcome per job.
 */
export const pipeline =
  (deps: PipelineDeps) =>
  (jobs: Observable<Job>): Observable<JobOutcome> =>
    jobs.pipe(
      decode(),
      fetchChangesets(deps),
      classify(deps),
      encodePing(deps),
      send(deps),
      settle(),
    );
