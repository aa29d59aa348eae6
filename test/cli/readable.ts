/**
 * A built command's stderr, piped, as a person reads the same lines on a terminal: each JSON
 * fatal line (level error, with the command's name) as `command: message`. Any other line is
 * kept as it is. Tests that assert the wording of a fatal error read it through this.
 */
export const readable = (stderr: string): string =>
  stderr
    .split('\n')
    .map((line) => {
      if (!line.startsWith('{')) return line;
      const parsed = JSON.parse(line) as Record<string, unknown>;
      return parsed.level === 'error' && typeof parsed.command === 'string'
        ? `${parsed.command}: ${String(parsed.msg)}`
        : line;
    })
    .join('\n');
