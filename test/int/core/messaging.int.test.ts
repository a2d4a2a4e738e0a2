// The messaging core against the real broker and registry.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { ChannelReplyRequested, conversationKey, IntentSubmitted } from '../../../src/contracts/events.ts';
import { DLQ_HEADERS, EVENT_HEADERS } from '../../../src/kafka/headers.ts';
import { EventPublisher } from '../../../src/kafka/publisher.ts';
import { ConsumerRunner, type HandlerResult } from '../../../src/kafka/runner.ts';
import { encodeFrame } from '../../../src/serde/wire.ts';
import { newTrace, parseTraceparent } from '../../../src/observability/trace.ts';
import { createLogger } from '../../../src/observability/log.ts';
import { SentinelError } from '../../../src/errors/index.ts';
import { requireServices } from '../../support/infra.ts';
import { createTestBus, uniqueName } from '../../support/kafka.ts';
import { sampleIntent, sampleReply } from '../../support/fixtures.ts';
import { waitFor } from '../../support/wait.ts';

const silent = createLogger({ service: 'test', level: 'silent', secrets: [] });

test('a record produced through the core is consumed with its schema id, fields and all four trace headers', async (t) => {
  const config = await requireServices('kafka', 'registry');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const publisher = new EventPublisher({ producer: bus.producer(), codec, topicName: bus.topicName, producerName: 'test' });
  const intent = sampleIntent();
  const trace = newTrace();
  const { eventId, topic } = await publisher.publish(IntentSubmitted, intent, { key: conversationKey(intent.conversation), trace });

  const [record] = await bus.readAll(topic, 1);
  assert.ok(record && record.value);
  assert.equal(record.key?.toString(), 'web:' + intent.conversation.conversationId);
  assert.equal(record.value.readInt32BE(1), codec.writerSchemaId(topic), 'schema id in the frame is the registered id');
  const decoded = await codec.decode<Record<string, unknown>>(topic, record.value);
  const { metadata, data } = IntentSubmitted.fromAvro(decoded.value);
  assert.deepEqual(data, intent);
  assert.equal(metadata.eventId, eventId);
  assert.equal(metadata.traceId, trace.traceId);
  assert.equal(record.headers['x-trace-id'], trace.traceId);
  assert.equal(record.headers['x-span-id'], trace.spanId);
  assert.equal(parseTraceparent(record.headers.traceparent)?.traceId, trace.traceId);
  assert.equal(record.headers[EVENT_HEADERS.eventId], eventId);
  assert.equal(record.headers[EVENT_HEADERS.eventType], 'sentinel.intent.submitted');
});

test('a consumer continues the trace: outputs carry the same trace id, a new span and the parent span', async (t) => {
  const config = await requireServices('kafka', 'registry');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const publisher = new EventPublisher({ producer: bus.producer(), codec, topicName: bus.topicName, producerName: 'test' });
  const intent = sampleIntent();
  const trace = newTrace();
  await publisher.publish(IntentSubmitted, intent, { key: 'k', trace });
  const groupId = uniqueName('relay');
  const runner = new ConsumerRunner({
    groupId, subscriptions: [IntentSubmitted], consumer: bus.consumer({ groupId, topics: [bus.topicName('sentinel.intents')] }),
    codec, topicName: bus.topicName, producerName: 'relay', logger: silent,
    delivery: { mode: 'transactional', producer: bus.transactionalProducer(uniqueName('tx')) },
    handler: async (events) => events.map((e) => ({ outputs: [{ definition: ChannelReplyRequested, data: sampleReply(e.data as typeof intent, 'ok'), key: 'k' }] })),
  });
  void runner.start();
  t.after(() => runner.stop());
  const [reply] = await bus.readAll(bus.topicName('sentinel.replies'), 1);
  assert.ok(reply);
  assert.equal(reply.headers['x-trace-id'], trace.traceId);
  assert.equal(reply.headers['x-parent-span-id'], trace.spanId);
  assert.notEqual(reply.headers['x-span-id'], trace.spanId);
  assert.equal(parseTraceparent(reply.headers.traceparent)?.spanId, reply.headers['x-span-id']);
  const { metadata } = ChannelReplyRequested.fromAvro((await codec.decode<Record<string, unknown>>(reply.topic, reply.value!)).value);
  assert.equal(metadata.traceId, trace.traceId);
  assert.equal(metadata.parentSpanId, trace.spanId);
  assert.equal(metadata.causationId, reply.headers[EVENT_HEADERS.causationId]);
});

test('poison records go to the dead-letter topic with their original bytes and cause, and the consumer goes on', async (t) => {
  const config = await requireServices('kafka', 'registry');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const producer = bus.producer();
  const publisher = new EventPublisher({ producer, codec, topicName: bus.topicName, producerName: 'test' });
  const intents = bus.topicName('sentinel.intents');

  const randomGarbage = randomBytes(64);
  randomGarbage[0] = 7; // not the magic byte
  const otherSubjectId = codec.writerSchemaId(bus.topicName('sentinel.decisions'))!;
  const wrongSchemaId = encodeFrame(otherSubjectId, codec.encode(intents, IntentSubmitted.toAvro({
    metadata: { eventId: 'x', eventType: 'x', occurredAt: 0, producer: 'x', schemaVersion: 1, traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), parentSpanId: null, causationId: null, correlationId: 'x' },
    data: sampleIntent(),
  })).subarray(5));
  const unknownSchemaId = encodeFrame(999_999, Buffer.from([1, 2, 3]));
  const badChannel = publisher.encode(IntentSubmitted, { ...sampleIntent(), conversation: { channel: 'fax' as 'web', conversationId: 'c' } }, { key: 'k', trace: newTrace() });
  const before = sampleIntent({ text: 'before' });
  const after = sampleIntent({ text: 'after' });

  await publisher.publish(IntentSubmitted, before, { key: 'k', trace: newTrace() });
  await producer.send([
    { topic: intents, key: 'k', value: randomGarbage, headers: { 'x-trace-id': 'c'.repeat(32) } },
    { topic: intents, key: 'k', value: wrongSchemaId, headers: {} },
    { topic: intents, key: 'k', value: unknownSchemaId, headers: {} },
    badChannel,
  ]);
  await publisher.publish(IntentSubmitted, after, { key: 'k', trace: newTrace() });

  const handled: string[] = [];
  const groupId = uniqueName('poison');
  const runner = new ConsumerRunner({
    groupId, subscriptions: [IntentSubmitted], consumer: bus.consumer({ groupId, topics: [intents] }),
    codec, topicName: bus.topicName, producerName: 'test', logger: silent,
    delivery: { mode: 'at-least-once', producer },
    handler: async (events) => events.map((e): HandlerResult => {
      handled.push((e.data as typeof before).text!);
      return { outputs: [] };
    }),
  });
  void runner.start();
  t.after(() => runner.stop());

  const dead = await bus.readAll(bus.topicName('sentinel.intents.dlq'), 4);
  await waitFor(() => handled.length === 2, { what: 'both good records handled' });
  assert.deepEqual(handled, ['before', 'after']);
  const byCode = new Map(dead.map((d) => [d.headers[DLQ_HEADERS.errorCode], d]));
  assert.deepEqual([...byCode.keys()].sort(), ['SNT_SERDE_BAD_MAGIC', 'SNT_SERDE_UNKNOWN_SCHEMA', 'SNT_SERDE_UNKNOWN_SCHEMA', 'SNT_VALIDATION_FAILED'].filter((v, i, a) => a.indexOf(v) === i).sort());
  assert.equal(dead.filter((d) => d.headers[DLQ_HEADERS.errorCode] === 'SNT_SERDE_UNKNOWN_SCHEMA').length, 2);
  const garbage = byCode.get('SNT_SERDE_BAD_MAGIC')!;
  assert.deepEqual(garbage.value, randomGarbage, 'original bytes kept');
  assert.equal(garbage.headers['x-trace-id'], 'c'.repeat(32), 'original headers kept');
  assert.equal(garbage.headers[DLQ_HEADERS.sourceTopic], intents);
  assert.equal(garbage.headers[DLQ_HEADERS.stage], 'decode');
  assert.equal(garbage.headers[DLQ_HEADERS.consumerGroup], groupId);
  assert.match(garbage.headers[DLQ_HEADERS.sourceOffset]!, /^\d+$/);
  const invalid = byCode.get('SNT_VALIDATION_FAILED')!;
  assert.equal(invalid.headers[DLQ_HEADERS.stage], 'validate');
  assert.match(invalid.headers[DLQ_HEADERS.errorMessage]!, /unknown channel "fax"/);
  assert.deepEqual(invalid.value, badChannel.value);
});

test('a handler that throws a non-retriable error dead-letters only the record that fails', async (t) => {
  const config = await requireServices('kafka', 'registry');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const producer = bus.producer();
  const publisher = new EventPublisher({ producer, codec, topicName: bus.topicName, producerName: 'test' });
  const texts = ['one', 'boom', 'three'];
  for (const text of texts) await publisher.publish(IntentSubmitted, sampleIntent({ text }), { key: 'same-key', trace: newTrace() });
  const handled: string[] = [];
  const groupId = uniqueName('isolate');
  const runner = new ConsumerRunner({
    groupId, subscriptions: [IntentSubmitted], consumer: bus.consumer({ groupId, topics: [bus.topicName('sentinel.intents')] }),
    codec, topicName: bus.topicName, producerName: 'test', logger: silent, backoff: { initialMs: 10, maxMs: 20 },
    delivery: { mode: 'at-least-once', producer },
    handler: async (events) => {
      if (events.some((e) => (e.data as { text: string }).text === 'boom')) throw new SentinelError('SNT_INTERNAL', 'cannot handle boom');
      return events.map((e) => { handled.push((e.data as { text: string }).text); return { outputs: [] }; });
    },
  });
  void runner.start();
  t.after(() => runner.stop());
  const [dead] = await bus.readAll(bus.topicName('sentinel.intents.dlq'), 1);
  await waitFor(() => handled.length === 2, { what: 'two good records' });
  assert.deepEqual(handled.sort(), ['one', 'three']);
  assert.equal(dead!.headers[DLQ_HEADERS.errorCode], 'SNT_INTERNAL');
  assert.equal(dead!.headers[DLQ_HEADERS.stage], 'handle');
});

test('a batch whose outputs exceed what the broker takes in one request is written in chunks, in one transaction', async (t) => {
  const config = await requireServices('kafka', 'registry');
  const bus = await createTestBus(t, config);
  const codec = await bus.codec();
  const producer = bus.producer();
  const publisher = new EventPublisher({ producer, codec, topicName: bus.topicName, producerName: 'test' });
  const count = 1200;
  await Promise.all(Array.from({ length: count }, () => publisher.publish(IntentSubmitted, sampleIntent(), { key: 'one-partition', trace: newTrace() })));
  const groupId = uniqueName('big');
  const runner = new ConsumerRunner({
    groupId, subscriptions: [IntentSubmitted], consumer: bus.consumer({ groupId, topics: [bus.topicName('sentinel.intents')] }),
    codec, topicName: bus.topicName, producerName: 'test', logger: silent,
    delivery: { mode: 'transactional', producer: bus.transactionalProducer(uniqueName('tx')) },
    // ~3 KiB of output per intent: a batch of 1,200 is ~3.6 MiB, over the broker's 1 MiB per request.
    handler: async (events) => events.map((e) => ({ outputs: [{ definition: ChannelReplyRequested, data: sampleReply(e.data as ReturnType<typeof sampleIntent>, 'x'.repeat(3000)), key: 'one-partition' }] })),
  });
  void runner.start();
  t.after(() => runner.stop());
  const replies = await bus.readAll(bus.topicName('sentinel.replies'), count, { timeoutMs: 60_000, settleMs: 500 });
  assert.equal(replies.length, count);
  const dead = await bus.readAll(bus.topicName('sentinel.intents.dlq'), 0, { settleMs: 300 });
  assert.equal(dead.length, 0);
});
