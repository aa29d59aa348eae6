import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { log } from '../../../src/log.js';
import type { Job } from '../../../src/pipeline/job.js';
import { readPulseMessage } from './message.js';

/**
 * Replays a recorded Pulse stream (NDJSON, one message body a line) for tests and the demo:
 * each push message becomes a job exactly as a delivery from the queue would; the others are
 * logged as the worker would skip or park them. Lines are read only as the pipeline asks for
 * jobs, so a long recording is never held whole.
 */
export async function* replayJobs(
  path: string,
  allowedHosts: readonly string[],
): AsyncGenerator<Job> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let count = 0;
  for await (const body of lines) {
    if (body.trim() === '') continue;
    count += 1;
    const label = `replayed message ${count}`;
    const reading = readPulseMessage(body, allowedHosts);
    if (reading.kind === 'push') {
      yield { label, target: reading.target, receivedAt: Date.now() };
    } else if (reading.kind === 'skip') {
      log.info(`${label}: skip`, { job: label, reason: reading.reason });
    } else {
      log.warn(`${label}: would be parked`, { job: label, reason: reading.reason });
    }
  }
}
