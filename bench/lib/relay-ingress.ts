// The no-op ingress of the relay chain (the e2e benchmark's baseline): a bare node:http server that,
// for each POST, reads and parses the JSON body, builds an IntentSubmitted record for the tool call
// and produces it with the project's producer, publisher and registry codec (the same client and
// producer settings as the channels service's runtime), and answers 202 with the intent id once the
// broker has it. No API key, rate limit, validation, extraction or database. Run as a child process.
// env: TOPIC_PREFIX, KAFKA_*, SCHEMA_REGISTRY_URL. Prints its port once listening.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { IntentSubmitted, intentKey } from '../../src/contracts/events.ts';
import { loadConfig } from '../../src/config/index.ts';
import type { Intent } from '../../src/domain/types.ts';
import { createMessaging } from '../../src/kafka/client.ts';
import { deterministicUuid } from '../../src/kafka/ids.ts';
import { EventPublisher } from '../../src/kafka/publisher.ts';
import { createLogger } from '../../src/observability/log.ts';
import { newTrace } from '../../src/observability/trace.ts';
import { loadCatalog } from '../../src/serde/catalog.ts';
import { EventCodec } from '../../src/serde/codec.ts';
import { HttpSchemaRegistry } from '../../src/serde/registry.ts';

interface Body { userId: string; toolCall: { tool: string; arguments: { host: string; command: string } } }

const config = loadConfig('cli');
const topicName = (logical: string) => config.kafka.topicPrefix + logical;
const logger = createLogger({ service: 'relay-ingress', level: 'warn', secrets: [] });
const messaging = createMessaging({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-relay-ingress`, client: config.kafka.client, logger });
const codec = new EventCodec(new HttpSchemaRegistry(config.registry.url), loadCatalog());
await codec.useWriter(topicName(IntentSubmitted.topic), IntentSubmitted.schemaName);
const producer = messaging.producer();
const publisher = new EventPublisher({ producer, codec, topicName, producerName: 'relay-ingress' });

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    void (async () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as Body;
      const intentId = randomUUID();
      const intent: Intent = {
        intentId,
        conversation: { channel: 'http', conversationId: body.userId },
        requester: { userId: body.userId, channel: 'http', channelUserId: body.userId, displayName: null },
        source: 'agent', text: null,
        action: { type: 'command_run', host: body.toolCall.arguments.host, command: body.toolCall.arguments.command },
        extraction: { extractor: 'tool-call', confidence: 1 },
        submittedAt: Date.now(),
      };
      await publisher.publish(IntentSubmitted, intent, { key: intentKey(intent), trace: newTrace(), eventId: deterministicUuid('event', intentId) });
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'accepted', intentId }));
    })().catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: String(error) }));
    });
  });
});
server.keepAliveTimeout = 60_000;
process.on('SIGTERM', () => {
  server.close();
  void producer.close().finally(() => process.exit(0));
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as { port: number }).port}\n`));
