// A relay consumer (intents → replies) run as a child process by tests that kill it.
// env: TOPIC_PREFIX, GROUP_ID, DELIVERY (transactional | at-least-once), TX_ID,
//      CRASH_BEFORE_COMMIT=1 to SIGKILL itself after writing outputs and before committing.
import { loadConfig } from '../../src/config/index.ts';
import { ChannelReplyRequested, IntentSubmitted } from '../../src/contracts/events.ts';
import { createMessaging } from '../../src/kafka/client.ts';
import { ConsumerRunner } from '../../src/kafka/runner.ts';
import { createLogger } from '../../src/observability/log.ts';
import { loadCatalog } from '../../src/serde/catalog.ts';
import { EventCodec } from '../../src/serde/codec.ts';
import { HttpSchemaRegistry } from '../../src/serde/registry.ts';
import type { Intent } from '../../src/domain/types.ts';

const config = loadConfig('cli');
const prefix = config.kafka.topicPrefix;
const topicName = (logical: string) => prefix + logical;
const messaging = createMessaging({ brokers: config.kafka.brokers, clientId: 'relay', client: config.kafka.client });
const codec = new EventCodec(new HttpSchemaRegistry(config.registry.url), loadCatalog());
codec.useReader(topicName('sentinel.intents'), 'IntentSubmitted');
await codec.useWriter(topicName('sentinel.replies'), 'ChannelReplyRequested');
const groupId = process.env.GROUP_ID!;
const consumer = messaging.consumer({ groupId, topics: [topicName('sentinel.intents')], sessionTimeoutMs: 6000 });
const delivery = process.env.DELIVERY === 'transactional'
  ? { mode: 'transactional' as const, producer: messaging.transactionalProducer(process.env.TX_ID!) }
  : { mode: 'at-least-once' as const, producer: messaging.producer() };
const runner = new ConsumerRunner({
  groupId, subscriptions: [IntentSubmitted], consumer, codec, topicName, delivery, producerName: 'relay',
  logger: createLogger({ service: 'relay', level: 'warn', secrets: [] }),
  handler: async (events) => events.map((e) => {
    const intent = e.data as Intent;
    return { outputs: [{ definition: ChannelReplyRequested, key: intent.intentId, data: {
      replyId: `reply-${intent.intentId}`, conversation: intent.conversation, intentId: intent.intentId,
      recipientUserId: null, kind: 'info' as const, text: intent.text ?? '', prompt: null,
    } }] };
  }),
  beforeCommit: process.env.CRASH_BEFORE_COMMIT === '1'
    ? async ({ outputs }) => { if (outputs > 0) { process.stdout.write(`crashing after ${outputs} outputs\n`); process.kill(process.pid, 'SIGKILL'); } }
    : undefined,
});
process.on('SIGTERM', () => { void runner.stop().then(() => process.exit(0)); });
void runner.start();
await consumer.joined();
process.stdout.write('ready\n');
