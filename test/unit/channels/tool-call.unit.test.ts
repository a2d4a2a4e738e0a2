// Agent tool calls: validated against schemas/json/action.schema.json into typed actions; unknown
// tools become canonical tool_call actions for policy to judge.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { actionFromToolCall, validateAction } from '../../../src/channels/extract/tool-call.ts';
import { canonicalize } from '../../../src/canonical/jcs.ts';
import { isSentinelError } from '../../../src/errors/index.ts';

function paths(result: ReturnType<typeof actionFromToolCall>): unknown {
  assert.equal(result.ok, false);
  const error = (result as { error: unknown }).error;
  assert.ok(isSentinelError(error, 'SNT_VALIDATION_FAILED'));
  return error.details.paths;
}

test('known tools become typed actions; nullable fields may be left out', () => {
  assert.deepEqual(actionFromToolCall({ tool: 'transfer', arguments: { amountMinor: 500000, currency: 'USD', payee: 'Alice' } }),
    { ok: true, action: { type: 'transfer', amountMinor: 500000, currency: 'USD', payee: 'Alice', memo: null } });
  assert.deepEqual(actionFromToolCall({ tool: 'message_send', arguments: { medium: 'sms', recipient: '+15551234567', body: 'hi' } }),
    { ok: true, action: { type: 'message_send', medium: 'sms', recipient: '+15551234567', subject: null, body: 'hi' } });
  assert.deepEqual(actionFromToolCall({ tool: 'command_run', arguments: { host: 'build-01', command: 'df -h' } }),
    { ok: true, action: { type: 'command_run', host: 'build-01', command: 'df -h' } });
});

test('invalid arguments fail with the paths of every offending field', () => {
  assert.deepEqual(paths(actionFromToolCall({ tool: 'transfer', arguments: { amountMinor: 12.5, currency: 'usd', payee: '', extra: 1 } })),
    ['/arguments/extra', '/arguments/amountMinor', '/arguments/currency', '/arguments/payee']);
  assert.deepEqual(paths(actionFromToolCall({ tool: 'transfer', arguments: { currency: 'USD', payee: 'x' } })), ['/arguments/amountMinor']);
  assert.deepEqual(paths(actionFromToolCall({ tool: 'message_send', arguments: { medium: 'email', recipient: 'bob', body: 'x' } })), ['/arguments/recipient']);
  assert.deepEqual(paths(actionFromToolCall({ tool: 'message_send', arguments: { medium: 'sms', recipient: '+15551234567', subject: 'no', body: 'x' } })), ['/arguments/subject']);
  assert.deepEqual(paths(actionFromToolCall({ tool: 'command_run', arguments: { host: 'bad host', command: 'ls\nrm -rf /' } })), ['/arguments/host', '/arguments/command']);
  assert.deepEqual(paths(actionFromToolCall({ tool: 'transfer', arguments: { type: 'command_run', amountMinor: 1, currency: 'USD', payee: 'x' } })), ['/arguments/type']);
  assert.deepEqual(paths(actionFromToolCall({ tool: 'transfer', arguments: { amountMinor: 1, currency: 'USD', payee: 'x'.repeat(129) } })), ['/arguments/payee']);
  assert.deepEqual(paths(actionFromToolCall({ tool: 'transfer', arguments: [] })), ['/arguments']);
  assert.deepEqual(paths(actionFromToolCall({ tool: 'rm -rf', arguments: {} })), ['/tool']);
  assert.deepEqual(paths(actionFromToolCall({ tool: 42, arguments: {} })), ['/tool']);
});

test('unknown tools become tool_call actions with canonical arguments', () => {
  assert.deepEqual(actionFromToolCall({ tool: 'github.merge_pr', arguments: { repo: 'x/y', number: 7, b: [1, { z: 1, a: 2 }] } }), {
    ok: true, action: { type: 'tool_call', tool: 'github.merge_pr', argumentsJson: '{"b":[1,{"a":2,"z":1}],"number":7,"repo":"x/y"}' },
  });
  assert.deepEqual(actionFromToolCall({ tool: 'noop', arguments: undefined }), { ok: true, action: { type: 'tool_call', tool: 'noop', argumentsJson: '{}' } });
  assert.deepEqual(paths(actionFromToolCall({ tool: 'big', arguments: { blob: 'x'.repeat(20_000) } })), ['/arguments']);
  assert.deepEqual(paths(actionFromToolCall({ tool: 'odd', arguments: { n: 2 ** 60 } })), ['/arguments/n']);
});

test('validateAction checks a complete action', () => {
  assert.equal(validateAction({ type: 'command_run', host: 'a', command: 'b' }).ok, true);
  assert.equal(validateAction({ type: 'command_run', host: 'a', command: 'b', sudo: true }).ok, false);
  assert.equal(validateAction({ type: 'launch_missiles' }).ok, false);
});

test('property: any JSON arguments to an unknown tool round-trip through canonical JSON', () => {
  fc.assert(
    fc.property(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }), (args) => {
      const value = JSON.parse(JSON.stringify(args)) as Record<string, unknown>;
      const result = actionFromToolCall({ tool: 'custom_tool', arguments: value });
      if (!result.ok) return; // e.g. too large or not canonicalisable: refused, never thrown
      assert.equal(result.action.type, 'tool_call');
      assert.equal((result.action as { argumentsJson: string }).argumentsJson, canonicalize(value));
    }),
    { numRuns: 300 },
  );
});
