import * as t from 'io-ts';

/**
 * `raw` decoded by `codec`, for a test that builds a value by hand: it is checked as the
 * service would check it, so no cast is needed to give it a branded type.
 */
export const decoded = <A, O>(codec: t.Type<A, O, unknown>, raw: unknown): A => {
  const result = codec.decode(raw);
  if (result._tag === 'Left') throw new Error(`the test's ${codec.name} does not decode`);
  return result.right;
};
