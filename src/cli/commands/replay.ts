// `sentinel replay` and `sentinel replay counterfactual` (docs/replay.md). Both read topics with the
// group-less range reader: no consumer group is created or moved, nothing is produced.
import { loadConfig, type Config } from '../../config/index.ts';
import { createPool } from '../../db/pg.ts';
import { loadConstitutions } from '../../audit/constitutions.ts';
import { loadRuleSet } from '../../policy/load.ts';
import type { CompiledRuleSet } from '../../policy/types.ts';
import { loadCatalog } from '../../serde/catalog.ts';
import { EventCodec } from '../../serde/codec.ts';
import { HttpSchemaRegistry } from '../../serde/registry.ts';
import { DEFAULT_MAX_TTL_MS } from '../../approval/verify/types.ts';
import { recordLine, jsonLine } from '../../replay/jsonl.ts';
import { renderCounterfactual, renderReplaySummary } from '../../replay/report.ts';
import { definitionOf, loadKeyTimeline, PIPELINE_ORDER, runCounterfactual, runReplay, type ReplayContext } from '../../replay/run.ts';
import type { Command } from './index.ts';
import { keysFromJwksFile, list, openOutput, RANGE_OPTIONS, rangeFrom, str, type LineOutput, type Values } from './output.ts';

/** Exit status when a replay has findings or a counterfactual changes decisions. */
export const EXIT_FINDINGS = 3;

function context(config: Config, values: Values): ReplayContext {
  const registry = new HttpSchemaRegistry(config.registry.url);
  return {
    brokers: config.kafka.brokers,
    clientId: `${config.kafka.clientId}-replay`,
    topicPrefix: str(values, 'prefix') ?? config.kafka.topicPrefix,
    codec: new EventCodec(registry, loadCatalog()),
    progress: values.quiet === true ? null : process.stderr,
  };
}

/** Recorded constitutions (PostgreSQL, unless --no-db) plus --rules files, by digest. */
async function ruleSets(config: Config, values: Values, log: (line: string) => void): Promise<Map<string, CompiledRuleSet>> {
  const sets = new Map<string, CompiledRuleSet>();
  if (values['no-db'] !== true) {
    const pool = createPool(config.postgres, { max: 1, applicationName: 'sentinel-replay' });
    try {
      const { ruleSets: recorded, problems } = await loadConstitutions(pool);
      for (const [digest, set] of recorded) sets.set(digest, set);
      for (const p of problems) log(`[replay] recorded constitution ${p.digest} ignored: ${p.problem}`);
    } finally {
      await pool.end();
    }
  }
  for (const file of list(values, 'rules')) {
    const set = await loadRuleSet(file);
    sets.set(set.digest, set);
  }
  return sets;
}

function outputs(values: Values): { jsonl: LineOutput | null; exported: LineOutput | null; summary: (text: string) => void } {
  const jsonlPath = str(values, 'jsonl');
  const exportPath = str(values, 'export');
  if (jsonlPath === '-' && exportPath === '-') throw new TypeError('--jsonl and --export cannot both be "-"');
  const jsonl = jsonlPath === undefined ? null : openOutput(jsonlPath);
  const exported = exportPath === undefined ? null : openOutput(exportPath);
  const stdoutTaken = jsonl?.toStdout === true || exported?.toStdout === true;
  return { jsonl, exported, summary: (text) => { (stdoutTaken ? process.stderr : process.stdout).write(text); } };
}

const replay: Command = {
  summary: 'replay topics over a range: re-verify approvals, re-evaluate decisions, join flows (exit 3 on findings)',
  options: {
    ...RANGE_OPTIONS,
    topic: { type: 'string', multiple: true },
    rules: { type: 'string', multiple: true },
    'no-db': { type: 'boolean' },
    jsonl: { type: 'string' },
    export: { type: 'string' },
    jwks: { type: 'string' },
    audience: { type: 'string' },
    issuer: { type: 'string', multiple: true },
    'grace-ms': { type: 'string' },
  },
  async run(raw) {
    const values = raw as Values;
    const config = loadConfig('cli');
    const ctx = context(config, values);
    const topics = list(values, 'topic');
    const selected = topics.length > 0 ? topics : [...PIPELINE_ORDER];
    for (const t of selected) definitionOf(t); // fails early on an unknown topic
    const range = rangeFrom(values);
    const started = Date.now();
    const referenceTime = range.to.kind === 'time' ? range.to.at : started;
    const log = (line: string) => { if (values.quiet !== true) process.stderr.write(`${line}\n`); };
    const sets = await ruleSets(config, values, log);
    const jwks = str(values, 'jwks');
    const keys = jwks !== undefined ? await keysFromJwksFile(jwks) : await (async () => {
      const loaded = await loadKeyTimeline(ctx);
      for (const problem of loaded.rejected) log(`[replay] signing key ignored: ${problem}`);
      return loaded.keys;
    })();
    const out = outputs(values);
    try {
      const report = await runReplay(ctx, {
        ...range,
        topics: selected,
        keys,
        referenceTime,
        graceMs: str(values, 'grace-ms') !== undefined ? Number(str(values, 'grace-ms')) : 30_000,
        analyzer: {
          ruleSets: sets,
          audience: str(values, 'audience') ?? config.signing.audience,
          ...(list(values, 'issuer').length > 0 ? { issuers: list(values, 'issuer') } : {}),
          clockSkewMs: config.executor.clockSkewSeconds * 1000,
          maxTtlMs: DEFAULT_MAX_TTL_MS,
        },
        ...(out.exported ? {
          onRecord: (event) => out.exported!.write(recordLine({
            topic: event.position.topic, partition: event.position.partition, offset: event.position.offset, timestamp: event.position.timestamp,
            key: event.key, schemaId: event.schemaId, metadata: event.metadata, data: event.data,
          })),
        } : {}),
      });
      const seconds = (Date.now() - started) / 1000;
      for (const f of report.findings) out.jsonl?.write(jsonLine({ kind: 'finding', ...f }));
      out.jsonl?.write(jsonLine({ kind: 'summary', ...report.stats, findings: report.findings.length, seconds }));
      out.summary(renderReplaySummary(report, { seconds }));
      return report.findings.length > 0 ? EXIT_FINDINGS : 0;
    } finally {
      out.jsonl?.close();
      out.exported?.close();
    }
  },
};

const counterfactual: Command = {
  summary: 'decide a range\'s recorded intents again with a candidate rules file; report what changes, by rule (exit 3 if any)',
  options: {
    ...RANGE_OPTIONS,
    rules: { type: 'string' },
    jsonl: { type: 'string' },
  },
  async run(raw) {
    const values = raw as Values;
    const rulesFile = str(values, 'rules');
    if (rulesFile === undefined) throw new TypeError('--rules <candidate constitution file> is required');
    const config = loadConfig('cli');
    const ctx = context(config, values);
    const candidate = await loadRuleSet(rulesFile);
    const range = rangeFrom(values);
    const jsonlPath = str(values, 'jsonl');
    const jsonl = jsonlPath === undefined ? null : openOutput(jsonlPath);
    try {
      const report = await runCounterfactual(ctx, { ...range, candidate });
      for (const change of report.changes) jsonl?.write(jsonLine({ kind: 'change', ...change }));
      const { changes: _changes, ...summary } = report;
      jsonl?.write(jsonLine({ kind: 'summary', ...summary }));
      (jsonl?.toStdout ? process.stderr : process.stdout).write(renderCounterfactual(report));
      return report.changed > 0 ? EXIT_FINDINGS : 0;
    } finally {
      jsonl?.close();
    }
  },
};

export const replayCommands: Record<string, Command> = {
  replay,
  'replay counterfactual': counterfactual,
};
