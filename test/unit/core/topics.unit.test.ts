import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { desiredTopics, parseTopicsFile, planTopics, TOPICS_FILE } from '../../../src/kafka/topics.ts';
import { loadCatalog } from '../../../src/serde/catalog.ts';
import { EVENT_DEFINITIONS } from '../../../src/contracts/events.ts';

const file = parseTopicsFile(readFileSync(TOPICS_FILE, 'utf8'));

test('topics.yaml declares every pipeline topic, each with a registered schema and a dead-letter topic', () => {
  const names = file.topics.map((t) => t.name);
  for (const definition of EVENT_DEFINITIONS) assert.ok(names.includes(definition.topic), definition.topic);
  const catalog = loadCatalog();
  for (const topic of file.topics) assert.ok(catalog.has(topic.schema), `${topic.name}: schema ${topic.schema}`);
  assert.equal(file.topics.find((t) => t.name === 'sentinel.signing-keys')!.config['cleanup.policy'], 'compact');
  assert.equal(file.topics.find((t) => t.name === 'sentinel.approvals')!.compatibility, 'FULL_TRANSITIVE');
  const desired = desiredTopics(file, { prefix: 'p.' });
  assert.equal(desired.length, file.topics.length * 2);
  assert.ok(desired.every((d) => d.name.startsWith('p.')));
});

test('the plan creates what is missing, grows partitions, aligns configs, and reports what it must not change', () => {
  const desired = desiredTopics(file).slice(0, 2);
  const [main, dlq] = desired;
  assert.deepEqual(planTopics(desired, []).map((c) => c.kind), ['create', 'create']);
  const exact = desired.map((d) => ({ name: d.name, partitions: d.partitions, replication: d.replication, config: { ...d.config } }));
  assert.deepEqual(planTopics(desired, exact), []);
  const drifted = [
    { ...exact[0]!, partitions: main!.partitions - 1, config: { ...exact[0]!.config, 'retention.ms': '1' } },
    { ...exact[1]!, partitions: dlq!.partitions + 3, replication: 3 },
  ];
  const plan = planTopics(desired, drifted);
  assert.deepEqual(plan.map((c) => c.kind).sort(), ['add-partitions', 'alter-config', 'drift', 'drift']);
});

test('an invalid topics file is refused with the path of the problem', () => {
  assert.throws(() => parseTopicsFile('defaults: {replication: 1}\ndeadLetterDefaults: {partitions: 1}\ntopics: [{name: X}]\n'), /topics\.yaml \/topics\/0/);
  const doubled = readFileSync(TOPICS_FILE, 'utf8').replace('deadLetter: sentinel.intents.dlq', 'deadLetter: sentinel.other.dlq');
  assert.throws(() => parseTopicsFile(doubled), /must be sentinel\.intents\.dlq/);
});
