/**
 * What the store suite needs of an engine under test: databases it may create and break, and
 * a way to look inside them behind the store's back. Everything it creates, teardown removes.
 */
import { randomBytes } from 'node:crypto';
import type { DatabaseTarget, Engine } from '../../../src/state/engines/databaseUrl.js';

export interface Harness {
  readonly engine: Engine;
  /** One database shared by the tests of a file; each test keeps to its own nodes and repositories. */
  readonly shared: DatabaseTarget;
  /** A database of its own, empty, for tests of migrations and failures. */
  fresh(): Promise<DatabaseTarget>;
  /** Runs SQL on the database directly; answers the rows of the last statement, if any. */
  query(target: DatabaseTarget, sql: string): Promise<Record<string, unknown>[]>;
  /** Makes these writes to `table` fail, as if the database were away, until `undo()`. */
  refuse(
    target: DatabaseTarget,
    table: string,
    writes: readonly ('insert' | 'update' | 'delete')[],
  ): Promise<() => Promise<void>>;
  /** Makes the database vanish under an open store. */
  destroy(target: DatabaseTarget): Promise<void>;
  /** A database that cannot be opened, the words its failure must contain, and a secret it must not. */
  readonly unreachable: { target: DatabaseTarget; reason: RegExp; secret?: string };
  teardown(): Promise<void>;
}

export const randomId = (bytes = 6): string => randomBytes(bytes).toString('hex');

/** A changeset id as hg.mozilla.org gives them: 40 hex digits. */
export const randomNode = (): string => randomId(20);

/** A repository of one test alone, so that tests sharing a database do not see each other. */
export const randomRepository = (): string => `repo-${randomId()}`;

/** A clock the test moves by hand. */
export class ManualClock {
  constructor(public time = Date.UTC(2026, 0, 15, 12)) {}
  readonly now = (): number => this.time;
  advance(ms: number): void {
    this.time += ms;
  }
}
