import type { Readable } from 'node:stream';
import { AnswerTooLarge, PipelineError } from '../../errors.js';

const EXCERPT_BYTES = 200;

// Chunks are taken from 'data' events rather than by async iteration, whose read() joins
// whatever is buffered into a new Buffer: copying much of a 400 MB json-rev once more.
export const eachChunk = (body: Readable, take: (chunk: Buffer) => void): Promise<void> =>
  new Promise((resolve, reject) => {
    // Destroyed before it was read (its deadline passed): its 'close' has come and gone.
    if (body.destroyed) {
      reject(body.errored ?? new Error('cut off'));
      return;
    }
    let done = false;
    const settle = (error?: unknown) => {
      if (done) return;
      done = true;
      body.off('data', onData);
      if (error === undefined) {
        resolve();
      } else {
        body.destroy();
        reject(error);
      }
    };
    const onData = (chunk: Buffer) => {
      try {
        take(chunk);
      } catch (error) {
        // Thrown out of a 'data' listener, it would escape into the socket's callback.
        settle(error);
      }
    };
    body.on('data', onData);
    body.once('end', () => settle());
    body.once('error', (error) => settle(error));
    body.once('close', () => settle(body.readableEnded ? undefined : new Error('cut off')));
  });

/** A stream's failure is the network's, and may pass; ours (a cap, a deadline) stays ours. */
const brokeOff = (request: string, error: unknown): PipelineError =>
  error instanceof PipelineError
    ? error
    : new PipelineError(`${request} broke off while reading the answer`, 'transient', {
        cause: error,
      });

export const readText = async (
  body: Readable,
  request: string,
  maxBytes: number,
): Promise<string> => {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    await eachChunk(body, (chunk) => {
      size += chunk.length;
      if (size > maxBytes) throw new AnswerTooLarge(request, maxBytes);
      chunks.push(chunk);
    });
  } catch (error) {
    throw brokeOff(request, error);
  }
  return Buffer.concat(chunks).toString('utf8');
};

export const readExcerpt = async (body: Readable): Promise<string> => {
  const chunks: Buffer[] = [];
  let size = 0;
  const enough = new Error('enough');
  await eachChunk(body, (chunk) => {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= EXCERPT_BYTES) throw enough;
  }).catch(() => undefined);
  return Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8');
};
