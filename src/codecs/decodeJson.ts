import type * as t from 'io-ts';
import { DecodeError, decodeWith, type Decoded } from './report.js';

/**
 * Parses JSON text and decodes it with `codec`. Text that is not JSON fails like a value of
 * the wrong shape: a DecodeError naming `what`, never a throw.
 */
export const decodeJsonWith = <C extends t.Mixed>(codec: C, what: string) => {
  const decode = decodeWith(codec, what);
  return (text: string | Buffer): Decoded<t.TypeOf<C>> => {
    let json: unknown;
    try {
      json = JSON.parse(text.toString());
    } catch {
      return { ok: false, error: new DecodeError(what, ['(root): not JSON']) };
    }
    return decode(json);
  };
};
