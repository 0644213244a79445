/**
 * The operator assets in deploy/ are checked by Prometheus' own tooling (promtool check config,
 * check rules, and unit tests of every alert) and against the code: every metric, label and
 * label value the alerts and the Grafana dashboard use exists in src/metrics.ts, so renaming a
 * metric without updating deploy/ fails here instead of silently emptying a dashboard.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { GatewayMetrics, invocationOutcomes } from '../../src/metrics.js';
import { repoRoot } from '../helpers/gateway-process.js';

const run = promisify(execFile);
const PROMTOOL = '/usr/bin/promtool';
const prometheusDir = join(repoRoot, 'deploy/prometheus');
const INVOCATIONS = 'mme_gateway_invocation_duration_seconds';

interface Panel {
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr: string; datasource?: { uid: string } }>;
  panels?: Panel[];
}
interface Dashboard {
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: unknown }> };
}
interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleTests {
  tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
}

/** Metric name → its label names, from the gateway's real registry. */
async function exportedMetrics(): Promise<Map<string, Set<string>>> {
  const metrics = new GatewayMetrics(200);
  const exported = new Map<string, Set<string>>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    const labels = new Set<string>(String(metric.type) === 'histogram' ? ['le'] : []);
    // prom-client keeps the declared label names on the metric object (not in the JSON form).
    const declared = (metrics.registry.getSingleMetric(metric.name) as unknown as { labelNames?: string[] }).labelNames ?? [];
    for (const label of declared) labels.add(label);
    exported.set(metric.name, labels);
  }
  return exported;
}

interface SeriesRef {
  metric: string;
  matchers: Array<{ label: string; op: string; value: string }>;
}

/** Every `metric{matchers}` of the gateway in a PromQL expression (histogram suffixes stripped). */
function referencedSeries(expr: string): SeriesRef[] {
  return [...expr.matchAll(/\b((?:mme_gateway|nodejs|process)_[a-z_]+)(\{([^}]*)\})?/g)].map((match) => ({
    metric: match[1]!.replace(/_(bucket|sum|count)$/, ''),
    matchers: [...(match[3] ?? '').matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)].map((m) => ({ label: m[1]!, op: m[2]!, value: m[3]! })),
  }));
}

/** Label names in `by (...)`, `without (...)`, `on (...)`, `ignoring (...)` clauses. */
function groupingLabels(expr: string): string[] {
  return [...expr.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)].flatMap((m) =>
    m[1]!.split(',').map((label) => label.trim()).filter(Boolean),
  );
}

function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(join(repoRoot, 'deploy/grafana/mme-gateway.json'), 'utf8')) as Dashboard;
}

/** Every panel, including those nested in collapsed rows. */
function allPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

function dashboardExprs(dashboard = loadDashboard()): string[] {
  const fromPanels = allPanels(dashboard).flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
  const fromVariables = dashboard.templating.list.flatMap((variable) => {
    const query = variable.query as string | { query?: string } | undefined;
    const text = typeof query === 'string' ? query : query?.query;
    return variable.type === 'query' && text ? [text] : [];
  });
  return [...fromPanels, ...fromVariables];
}

function loadRules(): Rule[] {
  const rules = parseYaml(readFileSync(join(prometheusDir, 'alerts.yml'), 'utf8')) as { groups: Array<{ rules: Rule[] }> };
  return rules.groups.flatMap((group) => group.rules);
}

/** Values a matcher can match, when it is a literal or a plain `a|b|c` alternation. */
function matcherValues(value: string): string[] | undefined {
  return /^[\w|]+$/.test(value) ? value.split('|') : undefined;
}

describe('Prometheus and Grafana assets', () => {
  it('pass promtool check config, check rules and the alert unit tests (exit 0)', async () => {
    for (const args of [['check', 'config', 'prometheus.yml'], ['check', 'rules', 'alerts.yml'], ['test', 'rules', 'alerts.test.yml']]) {
      // execFile rejects on a non-zero exit, with promtool's output in the error.
      const { stdout } = await run(PROMTOOL, args, { cwd: prometheusDir });
      assert.match(stdout, /SUCCESS/, `promtool ${args.join(' ')}`);
    }
  });

  it('scrape the gateway as the operator contract says', () => {
    const config = parseYaml(readFileSync(join(prometheusDir, 'prometheus.yml'), 'utf8')) as {
      rule_files: string[];
      scrape_configs: Array<{ job_name: string; metrics_path: string; scrape_interval: string }>;
    };
    const job = config.scrape_configs.find((c) => c.job_name === 'mme-gateway');
    assert.ok(job);
    assert.equal(job.metrics_path, '/metrics');
    assert.equal(job.scrape_interval, '15s');
    assert.ok(config.rule_files.includes('alerts.yml'));
  });

  it('use only metrics, labels and label values the gateway exports', async () => {
    const exported = await exportedMetrics();
    const exprs = [...loadRules().map((rule) => rule.expr), ...dashboardExprs()];
    assert.ok(exprs.length >= 15);
    const knownValues: Record<string, readonly string[]> = { outcome: invocationOutcomes, start: ['cold', 'warm'] };
    for (const expr of exprs) {
      const series = referencedSeries(expr);
      const labelsInExpr = new Set<string>();
      for (const { metric, matchers } of series) {
        assert.ok(exported.has(metric), `${metric} (in ${expr}) is not exported`);
        const labels = exported.get(metric)!;
        for (const label of labels) labelsInExpr.add(label);
        for (const { label, value } of matchers) {
          assert.ok(labels.has(label), `${metric} has no label ${label} (in ${expr})`);
          const allowed = metric === INVOCATIONS ? knownValues[label] : undefined;
          const values = matcherValues(value);
          if (allowed && values) for (const v of values) assert.ok(allowed.includes(v), `${label}="${v}" is never exported (in ${expr})`);
        }
      }
      for (const label of groupingLabels(expr)) assert.ok(labelsInExpr.has(label), `grouping label ${label} is on no metric of ${expr}`);
      const variable = /label_values\(\s*(\w+)\s*,\s*(\w+)\s*\)/.exec(expr);
      if (variable) {
        const metric = variable[1]!.replace(/_(bucket|sum|count)$/, '');
        assert.ok(exported.get(metric)?.has(variable[2]!), `label_values(${variable[1]}, ${variable[2]}) names no exported label`);
      }
    }
  });

  it('alert on the breaker gauge with its real encoding of "open"', async () => {
    const metrics = new GatewayMetrics(200, { collectProcessMetrics: false });
    metrics.setBreakerState('model', 'prod', 'churn', 'open');
    const [sample] = (await metrics.breakerState.get()).values;
    const breakerAlert = loadRules().find((rule) => rule.expr.includes('mme_gateway_breaker_state'));
    assert.ok(breakerAlert?.alert);
    assert.match(breakerAlert.expr, new RegExp(`mme_gateway_breaker_state\\)?\\s*==\\s*${sample!.value}\\b`));
  });

  it('give every alert a for, a severity, a summary and a runbook, and unit-test it firing and silent', () => {
    const tests = parseYaml(readFileSync(join(prometheusDir, 'alerts.test.yml'), 'utf8')) as RuleTests;
    const cases = tests.tests.flatMap((test) => test.alert_rule_test ?? []);
    const alerts = loadRules().filter((rule) => rule.alert);
    assert.ok(alerts.length >= 4);
    for (const topic of ['start="cold"', 'start="warm"', 'mme_gateway_breaker_state', 'client_error']) {
      assert.ok(alerts.some((rule) => rule.expr.includes(topic) || loadRules().some((r) => r.record && rule.expr.includes(r.record) && r.expr.includes(topic))), `no alert on ${topic}`);
    }
    for (const rule of alerts) {
      const name = rule.alert!;
      assert.match(rule.for ?? '', /^\d+[smh]$/, `${name}: for`);
      assert.ok(['page', 'warning', 'ticket'].includes(rule.labels?.['severity'] ?? ''), `${name}: severity`);
      assert.ok(rule.annotations?.['summary'], `${name}: summary`);
      assert.match(rule.annotations?.['description'] ?? '', /Runbook:/, `${name}: runbook hint`);
      const own = cases.filter((c) => c.alertname === name);
      assert.ok(own.some((c) => c.exp_alerts.length > 0), `${name}: no test where it fires`);
      assert.ok(own.some((c) => c.exp_alerts.length === 0), `${name}: no test where it stays silent`);
    }
  });

  it('is a Grafana dashboard on a datasource variable with a model variable', () => {
    const dashboard = loadDashboard();
    assert.ok(dashboard.schemaVersion >= 36);
    const datasource = dashboard.templating.list.find((v) => v.name === 'datasource');
    assert.equal(datasource?.type, 'datasource');
    assert.equal(datasource?.query, 'prometheus');
    const model = dashboard.templating.list.find((v) => v.name === 'model');
    assert.equal(model?.type, 'query');
    assert.match(JSON.stringify(model.query), /label_values\(mme_gateway_\w+, model\)/);
    for (const panel of allPanels(dashboard).filter((p) => p.type !== 'row')) {
      assert.equal(panel.datasource?.uid, '${datasource}', `${panel.title}: datasource`);
      assert.ok((panel.targets ?? []).length > 0, `${panel.title}: no query`);
    }
    const used = new Set(dashboardExprs(dashboard).flatMap((expr) => referencedSeries(expr).map((s) => s.metric)));
    for (const metric of [
      INVOCATIONS,
      'mme_gateway_upstream_requests_total',
      'mme_gateway_model_not_ready_total',
      'mme_gateway_retries_total',
      'mme_gateway_cold_queue_depth',
      'mme_gateway_breaker_state',
      'mme_gateway_inflight_requests',
    ]) {
      assert.ok(used.has(metric), `no panel shows ${metric}`);
    }
    assert.ok(dashboardExprs(dashboard).some((e) => /sum by \(outcome\) \(rate\(mme_gateway_invocation_duration_seconds_count/.test(e)), 'request rate by outcome');
  });

  it('put warm and cold p50/p99 latency panels side by side', () => {
    const panels = allPanels(loadDashboard());
    const panelFor = (start: string) =>
      panels.find((panel) => panel.targets?.some((t) => t.expr.includes(`${INVOCATIONS}_bucket{start="${start}"`)));
    const warm = panelFor('warm');
    const cold = panelFor('cold');
    assert.ok(warm && cold, 'warm and cold latency panels');
    for (const panel of [warm, cold]) {
      const exprs = panel.targets!.map((t) => t.expr);
      assert.ok(exprs.some((e) => e.startsWith('histogram_quantile(0.5,')), `${panel.title}: p50`);
      assert.ok(exprs.some((e) => e.startsWith('histogram_quantile(0.99,')), `${panel.title}: p99`);
    }
    assert.equal(warm.gridPos.y, cold.gridPos.y, 'same row');
    assert.notEqual(warm.gridPos.x, cold.gridPos.x);
    assert.ok(warm.gridPos.x + warm.gridPos.w <= cold.gridPos.x || cold.gridPos.x + cold.gridPos.w <= warm.gridPos.x, 'not overlapping');
  });
});
