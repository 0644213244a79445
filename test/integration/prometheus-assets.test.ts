/**
 * The operator assets in deploy/ are checked by Prometheus' own tooling (promtool check config,
 * check rules, and unit tests of every alert) and against the code: every metric and label
 * the alerts and the Grafana dashboard use exists in src/metrics.ts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { GatewayMetrics } from '../../src/metrics.js';
import { repoRoot } from '../helpers/gateway-process.js';

const run = promisify(execFile);
const PROMTOOL = '/usr/bin/promtool';
const prometheusDir = join(repoRoot, 'deploy/prometheus');

/** Metric name → its label names, from the gateway's real registry. */
async function exportedMetrics(): Promise<Map<string, Set<string>>> {
  const metrics = new GatewayMetrics(200);
  const exported = new Map<string, Set<string>>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    const labels = new Set<string>(['le']);
    const declared = (metrics.registry.getSingleMetric(metric.name) as unknown as { labelNames?: string[] }).labelNames ?? [];
    for (const label of declared) labels.add(label);
    exported.set(metric.name, labels);
  }
  return exported;
}

/** Every `metric{matchers}` in a PromQL expression, with the label names its matchers use. */
function referencedSeries(expr: string): Array<{ metric: string; labels: string[] }> {
  return [...expr.matchAll(/\b(mme_gateway_[a-z_]+)(\{([^}]*)\})?/g)].map((match) => ({
    metric: match[1]!.replace(/_(bucket|sum|count)$/, ''),
    labels: [...(match[3] ?? '').matchAll(/(\w+)\s*(=~|!~|!=|=)/g)].map((m) => m[1]!),
  }));
}

function dashboardExprs(): string[] {
  const dashboard = JSON.parse(readFileSync(join(repoRoot, 'deploy/grafana/mme-gateway.json'), 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
  return dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
}

function ruleExprs(): string[] {
  const rules = parseYaml(readFileSync(join(prometheusDir, 'alerts.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ expr: string }> }> };
  return rules.groups.flatMap((group) => group.rules.map((rule) => rule.expr));
}

describe('Prometheus and Grafana assets', () => {
  it('pass promtool check config, check rules and the alert unit tests', async () => {
    for (const args of [['check', 'config', 'prometheus.yml'], ['check', 'rules', 'alerts.yml'], ['test', 'rules', 'alerts.test.yml']]) {
      const { stdout } = await run(PROMTOOL, args, { cwd: prometheusDir });
      assert.match(stdout, /SUCCESS/, `promtool ${args.join(' ')}`);
    }
  });

  it('use only metrics and labels the gateway exports', async () => {
    const exported = await exportedMetrics();
    const exprs = [...ruleExprs(), ...dashboardExprs()];
    assert.ok(exprs.length >= 15);
    for (const expr of exprs) {
      for (const { metric, labels } of referencedSeries(expr)) {
        assert.ok(exported.has(metric), `${metric} (in ${expr}) is not exported`);
        for (const label of labels) assert.ok(exported.get(metric)!.has(label), `${metric} has no label ${label}`);
      }
    }
  });

  it('put warm and cold latency panels side by side', () => {
    const dashboard = JSON.parse(readFileSync(join(repoRoot, 'deploy/grafana/mme-gateway.json'), 'utf8')) as {
      panels: Array<{ title: string; gridPos: { x: number; y: number }; targets?: Array<{ expr: string }> }>;
    };
    const panelFor = (start: string) =>
      dashboard.panels.find((panel) => panel.targets?.some((t) => t.expr.includes(`mme_gateway_invocation_duration_seconds_bucket{start="${start}"`)));
    const warm = panelFor('warm');
    const cold = panelFor('cold');
    assert.ok(warm && cold);
    assert.equal(warm.gridPos.y, cold.gridPos.y, 'same row');
    assert.notEqual(warm.gridPos.x, cold.gridPos.x);
  });
});
