import { loadConfig } from '../../config/index.ts';
import { loadDesiredTopics } from '../../kafka/topics.ts';
import { loadCatalog } from '../../serde/catalog.ts';
import { HttpSchemaRegistry } from '../../serde/registry.ts';
import { checkSchemas, registerSchemas } from '../../serde/subjects.ts';
import type { Command } from './index.ts';

const options = { prefix: { type: 'string' } } as const;

function setup(values: Record<string, string | boolean | undefined>) {
  const config = loadConfig('cli');
  const topics = loadDesiredTopics({ prefix: typeof values.prefix === 'string' ? values.prefix : config.kafka.topicPrefix });
  return { registry: new HttpSchemaRegistry(config.registry.url), catalog: loadCatalog(), topics };
}

export const schemaCommands: Record<string, Command> = {
  'schemas register': {
    summary: 'register every topic\'s Avro schema and set its compatibility level',
    options,
    async run(values) {
      const { registry, catalog, topics } = setup(values);
      for (const r of await registerSchemas(registry, catalog, topics)) {
        process.stdout.write(`${r.status.padEnd(10)} ${r.subject} -> id ${r.id} (${r.schema}, ${r.compatibility})\n`);
      }
      return 0;
    },
  },
  'schemas check': {
    summary: 'ask the registry whether the local schemas are compatible (exit 4 if not)',
    options,
    async run(values) {
      const { registry, catalog, topics } = setup(values);
      let ok = true;
      for (const r of await checkSchemas(registry, catalog, topics)) {
        ok &&= r.compatible;
        process.stdout.write(`${r.compatible ? 'compatible  ' : 'INCOMPATIBLE'} ${r.subject} (${r.schema})${r.compatible ? '' : `: ${r.messages.join('; ')}`}\n`);
      }
      return ok ? 0 : 4;
    },
  },
};
