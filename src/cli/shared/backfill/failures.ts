import { maskUrlCredentials } from '../../../redact.js';
import { byText } from '../../../order.js';

export interface FailureGroup {
  readonly reason: string;
  count: number;
  /** The first few jobs that failed this way, e.g. `push 7 62a578a28fe9`. */
  readonly examples: string[];
}

const EXAMPLES_PER_REASON = 3;

/**
 * What a failure message says once the parts that differ from one changeset to the next are
 * taken out, so that a thousand 404s read as one reason: changeset ids, UUIDs, long numbers
 * (push and bug ids), and query strings. Credentials go too, as anywhere text is printed.
 */
export const failureReason = (message: string): string =>
  maskUrlCredentials(message)
    .replace(/(\/\/[^\s"'<>()]*?)[?#][^\s"'<>()]*/g, '$1')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>')
    .replace(/\b[0-9a-f]{12,40}\b/gi, '<node>')
    .replace(/\b\d{5,}\b/g, '<n>');

/** A backfill's failures, each kept as a line and counted under its reason. */
export class Failures {
  /** One line per failed changeset (or job), e.g. `push 7 62a578a28fe9: <message>`. */
  readonly lines: string[] = [];
  private readonly byReason = new Map<string, FailureGroup>();

  add(label: string, node: string | undefined, message: string): void {
    const where = node === undefined ? label : `${label} ${node}`;
    this.lines.push(`${where}: ${message}`);
    const reason = failureReason(message);
    const group = this.byReason.get(reason) ?? { reason, count: 0, examples: [] };
    group.count += 1;
    if (group.examples.length < EXAMPLES_PER_REASON) group.examples.push(where);
    this.byReason.set(reason, group);
  }

  /** The most frequent reason first. */
  groups(): FailureGroup[] {
    return [...this.byReason.values()].sort(
      (a, b) => b.count - a.count || byText(a.reason, b.reason),
    );
  }
}

/** The groups as a person reads them: a count and reason, then the examples indented. */
export const failureGroupLines = (groups: readonly FailureGroup[]): string[] =>
  groups.flatMap((group) => [
    `  ${group.count} × ${group.reason}`,
    ...group.examples.map((example) => `      ${example}`),
    ...(group.count > group.examples.length
      ? [`      … and ${group.count - group.examples.length} more`]
      : []),
  ]);
