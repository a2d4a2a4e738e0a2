// The Avro catalog: shared types inlined, every event schema parses, and records round-trip.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import avro from 'avsc';
import { inlineReferences, loadCatalog } from '../../../src/serde/catalog.ts';
import { EVENT_DEFINITIONS, IntentSubmitted, actionFromAvro, actionToAvro } from '../../../src/contracts/events.ts';
import { sampleDecision, sampleIntent } from '../../support/fixtures.ts';
import { buildMetadata } from '../../../src/contracts/metadata.ts';
import { newTrace } from '../../../src/observability/trace.ts';
import type { Action } from '../../../src/domain/types.ts';

const catalog = loadCatalog();

test('every event definition has a schema in the catalog and every event schema carries the metadata record', () => {
  for (const definition of EVENT_DEFINITIONS) {
    const entry = catalog.get(definition.schemaName);
    assert.ok(entry, `schema ${definition.schemaName}`);
    const fields = (entry.schema as { fields: Array<{ name: string; type: { name?: string } }> }).fields;
    assert.equal(fields[0]!.name, 'metadata');
    assert.equal(fields[0]!.type.name, 'EventMetadata', `${definition.schemaName} inlines EventMetadata`);
  }
  assert.ok(catalog.has('AuditRecorded'));
});

test('inlineReferences defines a shared type once and refers to it by name afterwards', () => {
  const shared = new Map([['ns.P', { type: 'record', name: 'P', namespace: 'ns', fields: [{ name: 'x', type: 'int' }] }]]);
  const out = inlineReferences({ type: 'record', name: 'E', namespace: 'ns', fields: [{ name: 'a', type: 'ns.P' }, { name: 'b', type: ['null', 'ns.P'] }] }, shared as never);
  const fields = (out as { fields: Array<{ type: unknown }> }).fields;
  assert.equal((fields[0]!.type as { name: string }).name, 'P');
  assert.deepEqual(fields[1]!.type, ['null', 'ns.P']);
  assert.doesNotThrow(() => avro.Type.forSchema(out as avro.Schema));
  assert.throws(() => inlineReferences({ type: 'record', name: 'E', fields: [{ name: 'a', type: 'ns.Missing' }] }, shared as never), /unknown Avro type reference/);
});

test('each action type round-trips through its Avro union branch', () => {
  const actions: Action[] = [
    { type: 'transfer', amountMinor: 500000, currency: 'USD', payee: 'Alice', memo: null },
    { type: 'message_send', medium: 'email', recipient: 'bob@example.com', subject: 'report', body: 'see attached' },
    { type: 'command_run', host: 'build-01', command: 'df -h' },
    { type: 'tool_call', tool: 'deploy', argumentsJson: '{"env":"prod"}' },
  ];
  for (const action of actions) assert.deepEqual(actionFromAvro(actionToAvro(action)), action);
  assert.throws(() => actionFromAvro(actionToAvro({ ...actions[0], amountMinor: -5 } as Action)), /positive safe integer/);
  assert.throws(() => actionFromAvro({ 'x.Unknown': {} }), /unknown action branch/);
});

test('an intent and a decision encode to Avro and decode to the same domain objects', () => {
  const intent = sampleIntent();
  const metadata = buildMetadata({ eventId: 'e1', eventType: IntentSubmitted.eventType, schemaVersion: 1, producer: 'test', now: 1, trace: newTrace(), causationId: null, correlationId: intent.intentId });
  const type = catalog.get('IntentSubmitted')!.type;
  const decoded = type.fromBuffer(type.toBuffer(IntentSubmitted.toAvro({ metadata, data: intent })));
  assert.deepEqual(JSON.parse(JSON.stringify(IntentSubmitted.fromAvro(decoded as Record<string, unknown>).data)), JSON.parse(JSON.stringify(intent)));
  const decision = sampleDecision(intent, { outcome: 'require_human', humanApproval: { approvers: ['role:treasury'], requiredApprovals: 1, deadline: 5, requesterMayApprove: false } });
  const decisionType = catalog.get('DecisionMade')!.type;
  const { DecisionMade } = { DecisionMade: EVENT_DEFINITIONS[1] };
  const back = DecisionMade.fromAvro(decisionType.fromBuffer(decisionType.toBuffer(DecisionMade.toAvro({ metadata, data: decision }))) as Record<string, unknown>);
  assert.deepEqual(JSON.parse(JSON.stringify(back.data)), JSON.parse(JSON.stringify(decision)));
});
