import { of, type Observable } from 'rxjs';
import type { Job } from '../src/pipeline/job.js';

/** `dump-telemetry`'s source: the one changeset named on the command line. */
export const changesetJobs = (repository: string, node: string): Observable<Job> =>
  of({
    label: `changeset ${node}`,
    target: { kind: 'changeset', repository, node },
    receivedAt: Date.now(),
  });
