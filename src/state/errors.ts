/**
 * Failures of the durable store. StoreError and StoreClosed live in src/errors.ts, beside the
 * pipeline's, because the pipeline tells them apart without depending on a store.
 */
import { StoreError } from '../errors.js';

export { StoreClosed, StoreError } from '../errors.js';

/**
 * Opened for reading only, the database does not exist (`missing`, a SQLite file), holds no
 * store (`empty`) or one of an older schema (`older`): a reader creates and migrates nothing,
 * so it cannot go on.
 */
export class StoreNotReady extends StoreError {
  override readonly name = 'StoreNotReady';
  constructor(
    readonly state: 'missing' | 'empty' | 'older',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * A database error's own words. Node reports a refused connection to a host with several
 * addresses (localhost: ::1 and 127.0.0.1) as an AggregateError with an empty message; its
 * parts say what happened.
 */
export const reasonOf = (error: unknown): string => {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return [...new Set(error.errors.map(reasonOf))].join('; ');
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    if (error.message !== '') return error.message;
    return typeof code === 'string' ? `${error.name} ${code}` : error.name;
  }
  return String(error);
};
