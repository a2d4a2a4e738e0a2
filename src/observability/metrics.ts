// Prometheus metrics (prom-client): one registry per service process. Metric names are one table.
import client from 'prom-client';
import type { RunnerMetrics } from '../kafka/runner.ts';

export type Registry = client.Registry;

export function createMetricsRegistry(service: string, instance: string): client.Registry {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service, instance });
  client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  return registry;
}

/** The metric named `name` in `registry` if it is already there (several runners or servers in one process), else a new one. */
function reuse<T extends client.Metric>(registry: client.Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export interface HttpMetrics {
  requests: client.Counter<'method' | 'route' | 'status'>;
  duration: client.Histogram<'method' | 'route'>;
  refusals: client.Counter<'code'>;
}

export function httpMetrics(registry: client.Registry): HttpMetrics {
  return {
    requests: reuse(registry, 'sentinel_http_requests_total', () => new client.Counter({ name: 'sentinel_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [registry] })),
    duration: reuse(registry, 'sentinel_http_request_duration_seconds', () => new client.Histogram({ name: 'sentinel_http_request_duration_seconds', help: 'HTTP request latency', labelNames: ['method', 'route'], buckets: LATENCY_BUCKETS, registers: [registry] })),
    refusals: reuse(registry, 'sentinel_http_refusals_total', () => new client.Counter({ name: 'sentinel_http_refusals_total', help: 'Requests refused, by error code', labelNames: ['code'], registers: [registry] })),
  };
}

/** Consumer metrics: throughput, dead letters, retries and lag per group and partition. */
export function runnerMetrics(registry: client.Registry, groupId: string): RunnerMetrics {
  const consumed = reuse(registry, 'sentinel_events_consumed_total', () => new client.Counter({ name: 'sentinel_events_consumed_total', help: 'Records consumed', labelNames: ['group', 'topic'], registers: [registry] }));
  const produced = reuse(registry, 'sentinel_events_produced_total', () => new client.Counter({ name: 'sentinel_events_produced_total', help: 'Records produced', labelNames: ['group', 'topic'], registers: [registry] }));
  const deadLetters = reuse(registry, 'sentinel_dead_letters_total', () => new client.Counter({ name: 'sentinel_dead_letters_total', help: 'Records sent to a dead-letter topic', labelNames: ['group', 'topic', 'code'], registers: [registry] }));
  const retries = reuse(registry, 'sentinel_consumer_retries_total', () => new client.Counter({ name: 'sentinel_consumer_retries_total', help: 'Batch retries by failure class', labelNames: ['group', 'class'], registers: [registry] }));
  const lag = reuse(registry, 'sentinel_consumer_lag', () => new client.Gauge({ name: 'sentinel_consumer_lag', help: 'Records behind the high watermark after the last batch', labelNames: ['group', 'topic', 'partition'], registers: [registry] }));
  const batch = reuse(registry, 'sentinel_batch_duration_seconds', () => new client.Histogram({ name: 'sentinel_batch_duration_seconds', help: 'Time to process and commit one batch', labelNames: ['group'], buckets: LATENCY_BUCKETS, registers: [registry] }));
  const assigned = reuse(registry, 'sentinel_consumer_assigned_partitions', () => new client.Gauge({ name: 'sentinel_consumer_assigned_partitions', help: 'Partitions this instance owns, per topic', labelNames: ['group', 'topic'], registers: [registry] }));
  const assignedTopics = new Set<string>();
  return {
    consumed: (topic, count) => consumed.inc({ group: groupId, topic }, count),
    produced: (topic, count) => produced.inc({ group: groupId, topic }, count),
    deadLettered: (topic, code) => deadLetters.inc({ group: groupId, topic, code }),
    retried: (failureClass) => retries.inc({ group: groupId, class: failureClass }),
    lag: (topic, partition, value) => lag.set({ group: groupId, topic, partition: String(partition) }, value),
    batchSeconds: (seconds) => batch.observe({ group: groupId }, seconds),
    assigned: (assignment) => {
      // Only this runner's series: several runners may share the registry.
      const now = new Set(assignment.map((a) => a.topic));
      for (const topic of assignedTopics) if (!now.has(topic)) assigned.remove({ group: groupId, topic });
      assignedTopics.clear();
      for (const { topic, partitions } of assignment) {
        assigned.set({ group: groupId, topic }, partitions.length);
        assignedTopics.add(topic);
      }
    },
  };
}

/** Lag per group and partition from the broker (committed offsets vs high watermarks), refreshed on scrape. */
export function brokerLagGauge(registry: client.Registry, read: () => Promise<Array<{ group: string; topic: string; partition: number; lag: number }>>): void {
  new client.Gauge({
    name: 'sentinel_consumer_group_lag',
    help: 'Committed-offset lag per consumer group and partition, read from the broker at scrape time',
    labelNames: ['group', 'topic', 'partition'],
    registers: [registry],
    async collect() {
      try {
        this.reset();
        for (const row of await read()) this.set({ group: row.group, topic: row.topic, partition: String(row.partition) }, row.lag);
      } catch {
        // the broker is unreachable: /ready says so; keep the scrape itself working
      }
    },
  });
}

export { client as prom };
