import type { Decoded } from '../../codecs/report.js';
import { PipelineError, UndecodableAnswer } from '../../errors.js';
import type { Answer } from './types.js';

/**
 * An answer that failed its codec: transient, since the upstream can mend it (an error page
 * with 200, a body cut short). Too large an answer is another failure (AnswerTooLarge),
 * permanent, found before any decoding.
 */
export const decodedOrFail = <A>(answer: Answer, decoded: Decoded<A>): A => {
  if (!decoded.ok) {
    const { what, problems } = decoded.error;
    throw new UndecodableAnswer(answer.request, answer.status, what, problems, {
      cause: decoded.error,
    });
  }
  return decoded.value;
};

/** Reads the whole answer and decodes it with a `decodeJsonWith` decoder. */
export const decodeAnswer = async <A>(
  answer: Answer,
  decode: (text: string) => Decoded<A>,
): Promise<A> => decodedOrFail(answer, decode(await answer.text()));

/** Any answer but 200 is final here (transient ones were retried): `notFound` names a 404. */
export const requireOk = (answer: Answer, notFound?: () => Error): void => {
  if (answer.status === 404 && notFound !== undefined) throw notFound();
  if (answer.status !== 200) {
    throw new PipelineError(`${answer.request} answered ${answer.status}`, 'permanent');
  }
};
