import { config as loadDotenv } from 'dotenv';
import type * as t from 'io-ts';
import { decodeWith, type Decoded } from './codecs/report.js';

// A `.env` file beside the process fills in what the environment leaves unset; quietly,
// because stdout carries pings only.
loadDotenv({ quiet: true });

/**
 * Reads one group of settings from the environment. The caller names the group it needs,
 * so a command never fails over a setting it does not use.
 */
export const readSettings = <C extends t.Mixed>(
  codec: C,
  env: NodeJS.ProcessEnv = process.env,
): Decoded<t.TypeOf<C>> => decodeWith(codec, 'settings')(env);
