import { config as loadDotenv } from 'dotenv';
import type * as t from 'io-ts';
import { decodeWith, type Decoded } from './codecs/report.js';

// A `.env` file beside the process fills in what the environment leaves unset; quietly,
// because stdout carries pings only.
const before = new Set(Object.keys(process.env));
const dotenv = loadDotenv({ quiet: true });

/** The variables the `.env` file set (the environment had them not), for error messages. */
export const setByDotenv: ReadonlySet<string> = new Set(
  Object.keys(dotenv.parsed ?? {}).filter((name) => !before.has(name)),
);

/**
 * Reads one group of settings from the environment. The caller names the group it needs,
 * so a command never fails over a setting it does not use.
 */
export const readSettings = <C extends t.Mixed>(
  codec: C,
  env: NodeJS.ProcessEnv = process.env,
): Decoded<t.TypeOf<C>> => decodeWith(codec, 'settings')(env);
