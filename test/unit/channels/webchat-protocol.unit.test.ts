// The web chat frame parser: every bad frame becomes an error frame with a code (and field paths).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { validateWebchatServerFrame } from '../../../src/channels/schemas.ts';
import { parseClientFrame, webPromptBody } from '../../../src/channels/webchat/protocol.ts';

test('valid frames parse to themselves', () => {
  for (const frame of [
    { type: 'hello', protocol: 1, userId: 'alice' },
    { type: 'hello', protocol: 1, userId: 'carol', token: 't0k3n' },
    { type: 'message', id: 'm-1', text: 'transfer $5 to bob' },
    { type: 'answer', id: 'a_1', decisionId: 'dec-1', verdict: 'deny' },
    { type: 'ping' },
  ]) {
    assert.deepEqual(parseClientFrame(JSON.stringify(frame), false, 8192), { ok: true, frame });
  }
});

test('bad frames: binary, oversized, not JSON, not matching the schema', () => {
  const code = (data: string | Buffer, binary = false, max = 8192) => {
    const r = parseClientFrame(data, binary, max);
    return r.ok ? 'ok' : r.error.code;
  };
  assert.equal(code(Buffer.from('{}'), true), 'SNT_UNSUPPORTED_MEDIA_TYPE');
  assert.equal(code('{"type":"ping"}', false, 10), 'SNT_PAYLOAD_TOO_LARGE');
  assert.equal(code('{"type":"ping"'), 'SNT_MALFORMED_JSON');
  assert.equal(code('null'), 'SNT_VALIDATION_FAILED');
  const r = parseClientFrame(JSON.stringify({ type: 'hello', protocol: 2, userId: 'a b' }), false, 8192);
  assert.deepEqual(r.ok ? null : [r.error.code, r.error.paths], ['SNT_VALIDATION_FAILED', ['/protocol', '/userId']]);
  const e = parseClientFrame(JSON.stringify({ type: 'message', id: 'keep-me', text: '' }), false, 8192);
  assert.deepEqual(e.ok ? null : [e.error.id, e.error.paths], ['keep-me', ['/text']]);
});

test('property: arbitrary input never throws and always yields a schema-valid error frame or a frame', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.json(), fc.jsonValue().map((v) => JSON.stringify(v))), (data) => {
      const r = parseClientFrame(data, false, 8192);
      if (!r.ok) assert.ok(validateWebchatServerFrame(r.error), JSON.stringify(r.error));
    }),
    { numRuns: 1000 },
  );
});

test('prompt bodies carry the deadline as ISO time', () => {
  const body = webPromptBody({
    decisionId: 'd', intentId: 'i', requester: { userId: 'alice', channel: 'web', channelUserId: 'alice', displayName: null },
    actionSummary: 's', riskTier: 'low', reason: 'r', deadline: Date.UTC(2025, 0, 2, 3, 4, 5), approvers: [], requiredApprovals: 1,
    status: 'pending', decidedBy: null,
  });
  assert.equal(body.deadline, '2025-01-02T03:04:05.000Z');
  assert.ok(validateWebchatServerFrame({ type: 'prompt', messageId: 'm', prompt: body }));
});
