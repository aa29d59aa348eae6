/**
 * Failures of the durable store. The store cannot tell a database that is down for a minute
 * from one that is gone; it says what failed and why, and the caller decides (the pipeline
 * treats a failure at run time as transient, the CLI exits on one at start-up).
 */

export class StoreError extends Error {
  override readonly name: string = 'StoreError';
}

/** The store was closed (the process is stopping): trying again cannot help. */
export class StoreClosed extends StoreError {
  override readonly name = 'StoreClosed';
}

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
