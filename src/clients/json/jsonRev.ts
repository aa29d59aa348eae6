import { Changeset } from '../../codecs/changeset.js';
import { DecodeError, decodeWith } from '../../codecs/report.js';
import { AnswerTooLarge, PipelineError } from '../../errors.js';
import { decodedOrFail, type Answer } from '../http.js';
import { JsonFieldPicker, JsonSyntaxError, KeptTooLarge } from './picker.js';

const WHAT = 'json-rev answer';

/** The codec's own fields; the rest of json-rev (`files`, `diff`, ...) is skipped unheld. */
export const CHANGESET_FIELDS: ReadonlySet<string> = new Set(
  Changeset.types.flatMap((type) => Object.keys(type.props)),
);

const decodeChangeset = decodeWith(Changeset, WHAT);

/**
 * Reads a json-rev answer as it streams in. Its `diff` can be hundreds of megabytes, so only
 * the fields the Changeset codec reads are held, and those at most `answer.maxBytes`.
 */
export const readChangeset = async (answer: Answer): Promise<Changeset> => {
  const picker = new JsonFieldPicker(CHANGESET_FIELDS, answer.maxBytes);
  let fields: Record<string, unknown>;
  try {
    await answer.each((chunk) => picker.push(chunk));
    fields = picker.end();
  } catch (error) {
    if (error instanceof JsonSyntaxError) {
      return decodedOrFail(answer, {
        ok: false,
        error: new DecodeError(WHAT, [`(root): not JSON: ${error.message}`]),
      });
    }
    if (error instanceof KeptTooLarge) {
      throw new AnswerTooLarge(
        answer.request,
        answer.maxBytes,
        `json-rev's kept fields (${[...CHANGESET_FIELDS].join(', ')})`,
      );
    }
    if (error instanceof PipelineError) throw error;
    throw new PipelineError(`${answer.request} broke off while streaming json-rev`, 'transient', {
      cause: error,
    });
  }
  return decodedOrFail(answer, decodeChangeset(fields));
};
