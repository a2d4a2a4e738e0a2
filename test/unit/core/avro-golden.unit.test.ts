// Golden Avro bodies for fixed events (test/vectors/avro/*.json): pins our encoding, and gives
// subscribers in other languages bytes to check their decoders against. Regenerate deliberately
// with UPDATE_GOLDEN=1 when a schema version changes.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadCatalog } from '../../../src/serde/catalog.ts';
import { ApprovalSigned, DecisionMade, IntentSubmitted, type EventDefinition } from '../../../src/contracts/events.ts';
import type { EventMetadata } from '../../../src/contracts/metadata.ts';
import { sampleDecision, sampleIntent } from '../../support/fixtures.ts';

const catalog = loadCatalog();
const metadata: EventMetadata = {
  eventId: '00000000-0000-8000-8000-000000000001', eventType: 'fixed', occurredAt: 1_790_000_000_000, producer: 'golden',
  schemaVersion: 1, traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', parentSpanId: null, causationId: null,
  correlationId: '11111111-1111-4111-8111-111111111111',
};
const intent = sampleIntent({ intentId: '11111111-1111-4111-8111-111111111111' });
const cases: Array<{ name: string; definition: EventDefinition<any>; data: unknown }> = [
  { name: 'IntentSubmitted', definition: IntentSubmitted, data: intent },
  { name: 'DecisionMade', definition: DecisionMade, data: sampleDecision(intent) },
  { name: 'ApprovalSigned', definition: ApprovalSigned, data: {
    approvalId: 'apv-1', intentId: intent.intentId, decisionId: `dec-${intent.intentId}`, conversation: intent.conversation, action: intent.action,
    envelope: { payloadType: 'application/vnd.aureus.approval+json; version=1', payload: Buffer.from('{"v":1}'), signatures: [{ keyid: 'k1', sig: Buffer.alloc(64, 7) }] },
  } },
];

for (const c of cases) {
  test(`${c.name}: the Avro body of a fixed event matches its golden bytes`, () => {
    const file = new URL(`../../vectors/avro/${c.name}.json`, import.meta.url);
    const type = catalog.get(c.name)!.type;
    const avroValue = c.definition.toAvro({ metadata: { ...metadata, eventType: c.definition.eventType }, data: c.data });
    const hex = type.toBuffer(avroValue).toString('hex');
    if (process.env.UPDATE_GOLDEN === '1') {
      writeFileSync(file, `${JSON.stringify({ schema: c.name, schemaVersion: c.definition.schemaVersion, bodyHex: hex, json: JSON.parse(JSON.stringify(c.data)) }, null, 2)}\n`);
    }
    assert.ok(existsSync(file), `golden vector ${file.pathname} is missing (UPDATE_GOLDEN=1 writes it)`);
    const golden = JSON.parse(readFileSync(file, 'utf8')) as { bodyHex: string };
    assert.equal(hex, golden.bodyHex);
    const back = c.definition.fromAvro(type.fromBuffer(Buffer.from(golden.bodyHex, 'hex')) as Record<string, unknown>);
    assert.deepEqual(JSON.parse(JSON.stringify(back.data)), JSON.parse(JSON.stringify(c.data)));
  });
}
