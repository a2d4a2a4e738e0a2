// `sentinel audit verify` and `sentinel audit export` (docs/audit.md): read the chain from
// PostgreSQL; verify every link and checkpoint (keys from sentinel.signing-keys, or --jwks), or
// write it as JSON Lines.
import { ChainVerifier } from '../../audit/chain.ts';
import { AuditStore } from '../../audit/store.ts';
import { loadConfig, type Config } from '../../config/index.ts';
import { createPool } from '../../db/pg.ts';
import { auditLine, jsonLine } from '../../replay/jsonl.ts';
import { renderChainReport } from '../../replay/report.ts';
import { loadKeyTimeline } from '../../replay/run.ts';
import { loadCatalog } from '../../serde/catalog.ts';
import { EventCodec } from '../../serde/codec.ts';
import { HttpSchemaRegistry } from '../../serde/registry.ts';
import type { Command } from './index.ts';
import { keysFromJwksFile, openOutput, str, type Values } from './output.ts';
import { EXIT_FINDINGS } from './replay.ts';

function chainOf(config: Config, values: Values): string {
  return str(values, 'chain') ?? `${str(values, 'prefix') ?? config.kafka.topicPrefix}main`;
}

const verify: Command = {
  summary: 'verify the audit chain in PostgreSQL: every hash and signed checkpoint; report the first broken link (exit 3)',
  options: { chain: { type: 'string' }, prefix: { type: 'string' }, jwks: { type: 'string' }, jsonl: { type: 'string' }, quiet: { type: 'boolean' } },
  async run(raw) {
    const values = raw as Values;
    const config = loadConfig('cli');
    const chainId = chainOf(config, values);
    const jwks = str(values, 'jwks');
    const keys = jwks !== undefined ? await keysFromJwksFile(jwks) : (await loadKeyTimeline({
      brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-audit`, topicPrefix: str(values, 'prefix') ?? config.kafka.topicPrefix,
      codec: new EventCodec(new HttpSchemaRegistry(config.registry.url), loadCatalog()), progress: values.quiet === true ? null : process.stderr,
    })).keys;
    const pool = createPool(config.postgres, { max: 1, applicationName: 'sentinel-audit-verify' });
    const jsonlPath = str(values, 'jsonl');
    const jsonl = jsonlPath === undefined ? null : openOutput(jsonlPath);
    try {
      const store = new AuditStore(pool, chainId);
      const verifier = new ChainVerifier(chainId, keys);
      for await (const link of store.links()) verifier.push(link);
      const report = verifier.finish(await store.head());
      for (const problem of report.problems) jsonl?.write(jsonLine({ kind: 'chain_problem', chainId, ...problem }));
      const { problems: _problems, ...summary } = report;
      jsonl?.write(jsonLine({ kind: 'chain_summary', ...summary }));
      (jsonl?.toStdout ? process.stderr : process.stdout).write(renderChainReport(report));
      return report.ok ? 0 : EXIT_FINDINGS;
    } finally {
      jsonl?.close();
      await pool.end();
    }
  },
};

const exportCommand: Command = {
  summary: 'write the audit chain as JSON Lines (--out file, default stdout)',
  options: { chain: { type: 'string' }, prefix: { type: 'string' }, out: { type: 'string' }, 'from-seq': { type: 'string' }, 'to-seq': { type: 'string' } },
  async run(raw) {
    const values = raw as Values;
    const config = loadConfig('cli');
    const pool = createPool(config.postgres, { max: 1, applicationName: 'sentinel-audit-export' });
    const out = openOutput(str(values, 'out') ?? '-');
    let count = 0;
    try {
      const store = new AuditStore(pool, chainOf(config, values));
      const from = str(values, 'from-seq');
      const to = str(values, 'to-seq');
      for await (const link of store.links({ ...(from ? { fromSequence: Number(from) } : {}), ...(to ? { toSequence: Number(to) } : {}) })) {
        out.write(auditLine(link));
        count++;
      }
    } finally {
      out.close();
      await pool.end();
    }
    if (!out.toStdout) process.stdout.write(`audit export: ${count} link(s) written\n`);
    return 0;
  },
};

export const auditCommands: Record<string, Command> = {
  'audit verify': verify,
  'audit export': exportCommand,
};
