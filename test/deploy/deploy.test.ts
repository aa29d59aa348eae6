/**
 * deploy/: the Grafana dashboard and the Prometheus alert rules name only metrics the worker
 * really exports (read off /metrics of the built worker, running against the real broker),
 * and every expression parses as PromQL.
 */
import test from 'ava';
import { parser } from '@prometheus-io/lezer-promql';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Admin, createPulseUser, removeTestBroker } from '../support/broker.js';
import { startConsumingWorker } from '../support/cli.js';
import { startFixtures } from '../support/standIns/fixtureServer.js';
import { syntheticFixtures } from '../support/data/syntheticFixtures.js';
import { ROOT } from '../support/root.js';

const DEPLOY = join(ROOT, 'deploy');
/** Series that come from elsewhere: the Pushgateway stamps each group it holds. */
const NOT_THE_WORKERS = new Set(['push_time_seconds']);

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}
interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

const alertRules = (): Rule[] =>
  (
    parseYaml(readFileSync(join(DEPLOY, 'prometheus/alerts.yml'), 'utf8')) as RuleFile
  ).groups.flatMap((group) => group.rules);

/** Every panel's queries, rows' panels included: [where, expression]. */
const dashboardQueries = (): [string, string][] => {
  const dashboard = JSON.parse(
    readFileSync(join(DEPLOY, 'grafana/commit-telemetry.json'), 'utf8'),
  ) as { panels: Panel[] };
  const walk = (panels: Panel[]): [string, string][] =>
    panels.flatMap((panel) => [
      ...(panel.targets ?? []).flatMap((target): [string, string][] =>
        target.expr === undefined ? [] : [[panel.title ?? '?', target.expr]],
      ),
      ...walk(panel.panels ?? []),
    ]);
  return walk(dashboard.panels);
};

/** Grafana's own variables are durations (`$__rate_interval`) or label values (`$instance`). */
const asPromql = (expr: string): string =>
  expr.replace(/\$__\w+/g, '5m').replace(/\$\{?(\w+)\}?/g, 'value-of-$1');

/** The metric names an expression selects, or the text of what did not parse. */
const readExpression = (expr: string): { metrics: string[]; errors: string[] } => {
  const metrics: string[] = [];
  const errors: string[] = [];
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.type.isError)
        errors.push(`at ${node.from}: "${expr.slice(node.from, node.to + 1)}"`);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') {
        metrics.push(expr.slice(node.from, node.to));
      }
    },
  });
  return { metrics, errors };
};

/** The series names /metrics holds: each declared metric, and a histogram's parts. */
const exported = (text: string): Set<string> => {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram')
      for (const part of ['_bucket', '_sum', '_count']) names.add(name + part);
    if (type === 'summary') for (const part of ['_sum', '_count']) names.add(name + part);
  }
  return names;
};

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

test('the expression reader finds selectors and syntax errors', (t) => {
  t.deepEqual(readExpression('time() - push_time_seconds{job="x"} > 120'), {
    metrics: ['push_time_seconds'],
    errors: [],
  });
  t.deepEqual(readExpression(asPromql('rate(a_total{i=~"$instance"}[$__rate_interval])')), {
    metrics: ['a_total'],
    errors: [],
  });
  t.true(readExpression('sum(rate(a[5m]) by (x').errors.length > 0);
});

test('every alert rule and dashboard query parses, and names only metrics the worker exports', async (t) => {
  const rules = alertRules();
  const queries = dashboardQueries();
  t.true(rules.length >= 7, 'the README table has seven alerts');
  t.true(queries.length > 10);
  for (const rule of rules) {
    t.truthy(rule.alert);
    t.truthy(rule.annotations?.summary, rule.alert);
  }
  const expressions: [string, string][] = [
    ...rules.map((rule): [string, string] => [`alert ${rule.alert}`, rule.expr]),
    ...queries.map(([title, expr]): [string, string] => [`panel "${title}"`, asPromql(expr)]),
  ];

  // The real worker, built, sending (so that gap-fill and the upstreams' metrics exist).
  const fx = await startFixtures({ data: syntheticFixtures({ pushes: 5 }) });
  t.teardown(() => fx.close());
  const user = await createPulseUser();
  const admin = await Admin.connect();
  const dir = mkdtempSync(join(tmpdir(), 'cts-deploy-'));
  t.teardown(async () => {
    await removeTestBroker(admin, user);
    rmSync(dir, { recursive: true, force: true });
  });
  const port = await freePort();
  const worker = await startConsumingWorker([], {
    ...user.env(`deploy-${randomBytes(3).toString('hex')}`),
    ...fx.env,
    DATABASE_URL: `sqlite:${join(dir, 'store.sqlite')}`,
    METRICS_PORT: String(port),
  });
  let metricsText: string;
  try {
    metricsText = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  } finally {
    worker.child.kill('SIGTERM');
    await worker.finished;
  }
  const names = exported(metricsText);
  t.true(names.has('commit_telemetry_build_info'), metricsText);

  for (const [where, expr] of expressions) {
    const { metrics, errors } = readExpression(expr);
    t.deepEqual(errors, [], `${where} does not parse: ${expr}`);
    t.true(metrics.length > 0, `${where} selects no metric: ${expr}`);
    for (const metric of metrics) {
      t.true(
        names.has(metric) || NOT_THE_WORKERS.has(metric),
        `${where} names ${metric}, which the worker does not export`,
      );
    }
  }
});
