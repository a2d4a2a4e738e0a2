import { loadConfig } from '../../config/index.ts';
import { createAdmin, createKafka } from '../../kafka/kafkajs.ts';
import { applyTopics, describeActual, loadDesiredTopics, planTopics, type TopicChange } from '../../kafka/topics.ts';
import type { Command } from './index.ts';

const options = {
  prefix: { type: 'string' },
  replication: { type: 'string' },
  file: { type: 'string' },
} as const;

function describe(change: TopicChange): string {
  switch (change.kind) {
    case 'create': return `create  ${change.topic.name} (${change.topic.partitions} partitions, rf ${change.topic.replication})`;
    case 'add-partitions': return `grow    ${change.topic} partitions ${change.from} -> ${change.to}`;
    case 'alter-config': return `config  ${change.topic} ${Object.entries(change.changed).map(([k, v]) => `${k}: ${v.from ?? '(default)'} -> ${v.to}`).join(', ')}`;
    case 'drift': return `DRIFT   ${change.topic}: ${change.detail}`;
  }
}

async function withAdmin<T>(values: Record<string, string | boolean | undefined>, work: (admin: ReturnType<typeof createAdmin>, desired: ReturnType<typeof loadDesiredTopics>) => Promise<T>): Promise<T> {
  const config = loadConfig('cli');
  const desired = loadDesiredTopics({
    prefix: typeof values.prefix === 'string' ? values.prefix : config.kafka.topicPrefix,
    replication: typeof values.replication === 'string' ? Number(values.replication) : undefined,
    file: typeof values.file === 'string' ? values.file : undefined,
  });
  const admin = createAdmin(createKafka({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-cli` }));
  try {
    return await work(admin, desired);
  } finally {
    await admin.close();
  }
}

export const topicCommands: Record<string, Command> = {
  'topics apply': {
    summary: 'create missing topics, grow partitions, align configs; report drift',
    options,
    run: (values) => withAdmin(values, async (admin, desired) => {
      const plan = await applyTopics(admin, desired);
      for (const change of plan) process.stdout.write(`${describe(change)}\n`);
      process.stdout.write(plan.length === 0 ? `topics: ${desired.length} topics as declared, nothing to change\n` : `topics: ${plan.filter((c) => c.kind !== 'drift').length} change(s) applied\n`);
      return plan.some((c) => c.kind === 'drift') ? 3 : 0;
    }),
  },
  'topics plan': {
    summary: 'show what "topics apply" would change (exit 3 when anything differs)',
    options,
    run: (values) => withAdmin(values, async (admin, desired) => {
      const plan = planTopics(desired, await describeActual(admin, desired));
      for (const change of plan) process.stdout.write(`${describe(change)}\n`);
      if (plan.length === 0) process.stdout.write('topics: the broker matches topics.yaml\n');
      return plan.length === 0 ? 0 : 3;
    }),
  },
};
