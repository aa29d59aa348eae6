/**
 * app.json (Heroku's manifest) lists every setting the settings codecs read, with a
 * description, and marks as required exactly those without a default: the two can never
 * drift apart.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import * as t from 'io-ts';
import * as settings from '../src/codecs/settings.js';
import { join } from 'node:path';
import { ROOT } from './support/root.js';

interface AppJson {
  readonly env: Record<string, { description: string; required?: boolean; value?: string }>;
  readonly formation: Record<string, unknown>;
  readonly addons: readonly (string | { plan: string })[];
}

const app = JSON.parse(readFileSync(join(ROOT, 'app.json'), 'utf8')) as AppJson;

/** The variable names a codec reads, through exact, intersection, type and partial codecs. */
const namesOf = (codec: t.Mixed): string[] => {
  if (codec instanceof t.InterfaceType || codec instanceof t.PartialType) {
    return Object.keys(codec.props as Record<string, unknown>);
  }
  if (codec instanceof t.IntersectionType) return (codec.types as t.Mixed[]).flatMap(namesOf);
  if (codec instanceof t.ExactType || codec instanceof t.RefinementType) {
    return namesOf(codec.type as t.Mixed);
  }
  return [];
};

const groups = Object.entries(settings).filter(
  ([name, value]) => name.endsWith('Settings') && value instanceof t.Type,
) as [string, t.Mixed][];
const everySetting = [...new Set(groups.flatMap(([, codec]) => namesOf(codec)))].sort();

/** Heroku sets PORT itself; the manifest may not declare it. */
const SET_BY_HEROKU = ['PORT'];

test('the codecs declare settings at all (the walk above understands them)', (tt) => {
  tt.true(everySetting.includes('PULSE_USERNAME'));
  tt.true(everySetting.includes('DATABASE_URL'));
});

test('app.json describes every setting, and nothing else', (tt) => {
  tt.deepEqual(
    Object.keys(app.env).sort(),
    everySetting.filter((name) => !SET_BY_HEROKU.includes(name)),
  );
  for (const [name, entry] of Object.entries(app.env)) {
    tt.true(entry.description.length > 10, `${name} has a description`);
  }
});

test('required in app.json exactly when the codec has no default', (tt) => {
  const requiredByCodec = new Set<string>();
  for (const [, codec] of groups) {
    const decoded = codec.decode({});
    if (decoded._tag === 'Left') {
      for (const error of decoded.left) {
        const key = error.context.find((entry) => everySetting.includes(entry.key))?.key;
        if (key !== undefined) requiredByCodec.add(key);
      }
    }
  }
  const requiredByApp = Object.entries(app.env)
    .filter(([, entry]) => entry.required === true)
    .map(([name]) => name);
  tt.deepEqual(requiredByApp.sort(), [...requiredByCodec].sort());
});

test('app.json runs the worker and brings PostgreSQL (a dyno forgets its disk)', (tt) => {
  tt.truthy(app.formation.queueworker);
  tt.true(
    app.addons.some((addon) =>
      (typeof addon === 'string' ? addon : addon.plan).startsWith('heroku-postgresql'),
    ),
  );
});
