import { log } from '../log.js';

/**
 * `work`, or after `ms` a logged give-up: a step of stopping (closing a connection, a store)
 * must not keep the process from exiting.
 */
export const within = (ms: number, what: string, work: Promise<unknown>): Promise<unknown> => {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise((resolve) => {
    timer = setTimeout(() => {
      log.error(`${what} did not finish in ${ms / 1000} s; going on without it`);
      resolve(undefined);
    }, ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
};
