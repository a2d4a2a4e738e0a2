// Schema contracts against a real Apicurio Registry (Confluent-compatible API).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApprovalSigned, conversationKey, IntentSubmitted } from '../../../src/contracts/events.ts';
import { SentinelError } from '../../../src/errors/index.ts';
import { EventPublisher } from '../../../src/kafka/publisher.ts';
import { loadDesiredTopics } from '../../../src/kafka/topics.ts';
import { newTrace } from '../../../src/observability/trace.ts';
import { EventCodec } from '../../../src/serde/codec.ts';
import { HttpSchemaRegistry, valueSubject } from '../../../src/serde/registry.ts';
import { checkSchemas, registerSchemas } from '../../../src/serde/subjects.ts';
import { requireServices } from '../../support/infra.ts';
import { createTestBus, testCatalog, uniqueName } from '../../support/kafka.ts';
import { sampleIntent } from '../../support/fixtures.ts';
import { RegistryProcess } from '../../support/registry-process.ts';

function withoutField(schemaText: string, field: string): string {
  const schema = JSON.parse(schemaText) as { fields: Array<{ name: string }> };
  schema.fields = schema.fields.filter((f) => f.name !== field);
  return JSON.stringify(schema);
}

function withField(schemaText: string, field: { name: string; type: unknown; default?: unknown }): string {
  const schema = JSON.parse(schemaText) as { fields: unknown[] };
  schema.fields.push(field);
  return JSON.stringify(schema);
}

test('the registry refuses an incompatible change and accepts a compatible one, per the declared level', async () => {
  const config = await requireServices('registry');
  const registry = new HttpSchemaRegistry(config.registry.url);
  const topics = loadDesiredTopics({ prefix: `${uniqueName('compat')}.` });
  await registerSchemas(registry, testCatalog(), topics);
  const approvals = topics.find((t) => t.logical === 'sentinel.approvals')!;
  const intents = topics.find((t) => t.logical === 'sentinel.intents')!;
  assert.equal(await registry.getCompatibility(valueSubject(approvals.name)), 'FULL_TRANSITIVE');
  assert.equal(await registry.getCompatibility(valueSubject(intents.name)), 'BACKWARD');

  const approvalSchema = testCatalog().get('ApprovalSigned')!.text;
  // Adding a required field (no default) breaks FULL_TRANSITIVE: old readers, new writers and vice versa.
  const breaking = withField(approvalSchema, { name: 'tenant', type: 'string' });
  assert.equal((await registry.isCompatible(valueSubject(approvals.name), breaking)).compatible, false);
  await assert.rejects(registry.register(valueSubject(approvals.name), breaking), (error: unknown) =>
    error instanceof SentinelError && error.code === 'SNT_REGISTRY_INCOMPATIBLE');
  // Under BACKWARD, a new reader must read old records: a new required field has no value to take.
  const intentBreaking = withField(testCatalog().get('IntentSubmitted')!.text, { name: 'tenant', type: 'string' });
  await assert.rejects(registry.register(valueSubject(intents.name), intentBreaking), /incompatible/i);
  // An optional field with a default is a compatible evolution, even under FULL_TRANSITIVE.
  const compatible = withField(approvalSchema, { name: 'note', type: ['null', 'string'], default: null });
  assert.equal((await registry.isCompatible(valueSubject(approvals.name), compatible)).compatible, true);
  const report = await checkSchemas(registry, testCatalog(), topics);
  assert.ok(report.every((r) => r.compatible), 'the committed schemas are compatible with what is registered');
  // Dropping a field without a default breaks FULL_TRANSITIVE (old readers need it).
  assert.equal((await registry.isCompatible(valueSubject(approvals.name), withoutField(approvalSchema, 'envelope'))).compatible, false);
});

test('topics.yaml applied twice changes nothing the second time, and a grown partition count is applied', async (t) => {
  const config = await requireServices('kafka', 'registry');
  const bus = await createTestBus(t, config); // first apply happens here
  const { applyTopics, planTopics, describeActual } = await import('../../../src/kafka/topics.ts');
  assert.deepEqual(await applyTopics(bus.admin, bus.topics), [], 'second apply: no changes');
  const grown = bus.topics.map((topic) => (topic.logical === 'sentinel.intents' ? { ...topic, partitions: 8 } : topic));
  const plan = await applyTopics(bus.admin, grown);
  assert.deepEqual(plan.map((c) => c.kind), ['add-partitions']);
  assert.deepEqual(planTopics(grown, await describeActual(bus.admin, grown)), []);
  const shrunk = grown.map((topic) => (topic.logical === 'sentinel.intents' ? { ...topic, partitions: 2 } : topic));
  const drift = await applyTopics(bus.admin, shrunk);
  assert.equal(drift.length, 1);
  assert.equal(drift[0]!.kind, 'drift', 'partitions are never shrunk; the difference is reported');
});

test('schema ids survive a registry restart: records written before it decode after it', { timeout: 240_000 }, async (t) => {
  const config = await requireServices('kafka', 'registry', 'postgres');
  const own = await RegistryProcess.create(config.postgres, `sentinel_registry_${uniqueName('r').replaceAll('-', '_')}`);
  t.after(async () => { await own.stop(); await own.dropDatabase(); });
  await own.start();
  const bus = await createTestBus(t, { ...config, registry: { url: config.registry.url } });
  const registry = new HttpSchemaRegistry(own.url);
  const results = await registerSchemas(registry, testCatalog(), bus.topics);
  const intents = bus.topicName('sentinel.intents');
  const writerCodec = new EventCodec(registry, testCatalog());
  const id = await writerCodec.useWriter(intents, 'IntentSubmitted');
  assert.equal(id, results.find((r) => r.subject === valueSubject(intents))!.id);
  const intent = sampleIntent();
  const publisher = new EventPublisher({ producer: bus.producer(), codec: writerCodec, topicName: bus.topicName, producerName: 'test' });
  await publisher.publish(IntentSubmitted, intent, { key: conversationKey(intent.conversation), trace: newTrace() });
  const idsBefore = await Promise.all(['sentinel.intents', 'sentinel.approvals'].map((l) => registry.lookup(valueSubject(bus.topicName(l)), testCatalog().get(l === 'sentinel.intents' ? 'IntentSubmitted' : 'ApprovalSigned')!.text)));

  await own.stop();
  await own.start();

  // A fresh reader (a data team's replay after the restart) decodes the old record by its id.
  const readerCodec = new EventCodec(new HttpSchemaRegistry(own.url), testCatalog());
  readerCodec.useReader(intents, 'IntentSubmitted');
  const [record] = await bus.readAll(intents, 1);
  assert.equal(record!.value!.readInt32BE(1), id);
  const decoded = await readerCodec.decode<Record<string, unknown>>(intents, record!.value!);
  assert.deepEqual(IntentSubmitted.fromAvro(decoded.value).data, intent);
  const idsAfter = await Promise.all(['sentinel.intents', 'sentinel.approvals'].map((l) => registry.lookup(valueSubject(bus.topicName(l)), testCatalog().get(l === 'sentinel.intents' ? 'IntentSubmitted' : 'ApprovalSigned')!.text)));
  assert.deepEqual(idsAfter, idsBefore, 'the same schemas have the same ids after the restart');
  assert.equal(await registry.getCompatibility(valueSubject(bus.topicName(ApprovalSigned.topic))), 'FULL_TRANSITIVE', 'compatibility levels persisted');
});
