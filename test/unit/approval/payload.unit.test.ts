// The version-1 payload: strict JSON parsing, the exact schema, canonical bytes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalize } from '../../../src/canonical/jcs.ts';
import {
  MAX_PAYLOAD_BYTES, type ApprovalPayload, decodeApprovalPayload, encodeApprovalPayload, validateApprovalPayload,
} from '../../../src/approval/payload.ts';
import { parseStrictJson } from '../../../src/approval/strict-json.ts';
import { approvalIdFor, draftApproval } from '../../../src/approval/draft.ts';
import { authorizeSigning } from '../../../src/approval/authorize.ts';
import { T0, approverPrincipal, humanDecision, sampleDecision, sampleResponse, testNonce } from '../../../src/approval/testing/fixtures.ts';

function payload(): ApprovalPayload {
  const d = humanDecision();
  const auth = authorizeSigning(d, [sampleResponse(d, approverPrincipal('u-alice'))], { now: T0 + 120_000 });
  assert.ok(auth.ok);
  return draftApproval(d, auth.approvers, { now: T0 + 120_000, approvalId: approvalIdFor(d.decisionId), nonce: testNonce('p'), audience: 'aureus-executor', issuer: 'aureus-bridge' });
}

const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');

describe('strict JSON', () => {
  test('parses RFC 8259 values like JSON.parse does', () => {
    const text = '{"a":[1,-2.5e3,true,false,null,"x\\u00e9\\n\\ud83d\\ude00"],"b":{}, "c" : [ ] }';
    const parsed = parseStrictJson(utf8(text));
    assert.ok(parsed.ok);
    assert.deepEqual(JSON.parse(JSON.stringify(parsed.value)), JSON.parse(text));
  });

  test('objects have a null prototype, so "__proto__" is an ordinary member', () => {
    const parsed = parseStrictJson(utf8('{"__proto__":{"admin":true}}'));
    assert.ok(parsed.ok);
    const value = parsed.value as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(value), null);
    assert.deepEqual(Object.keys(value), ['__proto__']);
  });

  for (const [name, text, reason] of [
    ['duplicate members', '{"a":1,"a":2}', /duplicate member "a"/],
    ['duplicates spelled with escapes', '{"a":1,"\\u0061":2}', /duplicate member/],
    ['a lone high surrogate escape', '"\\ud800"', /lone surrogate/],
    ['a lone low surrogate escape', '"\\udc00x"', /lone surrogate/],
    ['trailing data', '{} {}', /trailing/],
    ['a trailing comma', '[1,]', /unexpected token/],
    ['single quotes', "{'a':1}", /member name/],
    ['leading zeros', '[01]', /expected , or \]/],
    ['1E400 (not a double)', '[1E400]', /double range/],
    ['NaN', '[NaN]', /unexpected token/],
    ['raw control characters in strings', '"a\tb"', /control character/],
    ['a bad escape', '"\\x41"', /bad escape/],
    ['nesting beyond 32 levels', `${'['.repeat(40)}${']'.repeat(40)}`, /too deep/],
    ['an empty document', '', /unexpected token/],
  ] as const) {
    test(`refuses ${name}`, () => {
      const parsed = parseStrictJson(utf8(text));
      assert.equal(parsed.ok, false);
      if (!parsed.ok) assert.match(parsed.reason, reason);
    });
  }

  test('refuses invalid UTF-8 and a byte-order mark', () => {
    assert.equal(parseStrictJson(Buffer.from([0x22, 0xc3, 0x28, 0x22])).ok, false);
    assert.equal(parseStrictJson(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22])).ok, false); // CESU-8 surrogate
    assert.equal(parseStrictJson(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8('{}')])).ok, false);
  });
});

describe('payload schema and encoding', () => {
  test('a drafted payload encodes to canonical JSON and decodes back to the same value', () => {
    const p = payload();
    const bytes = encodeApprovalPayload(p);
    assert.equal(bytes.toString('utf8'), canonicalize(p));
    const decoded = decodeApprovalPayload(bytes);
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.payload, p);
  });

  test('non-canonical bytes of a valid payload are "noncanonical", not "malformed"', () => {
    const p = payload();
    for (const text of [JSON.stringify(p), JSON.stringify(p, null, 2), `${canonicalize(p)} `, canonicalize(p).replace('"issuedAt":', '"issuedAt": ')]) {
      const decoded = decodeApprovalPayload(utf8(text));
      assert.equal(decoded.ok, false);
      if (!decoded.ok) assert.equal(decoded.problem, 'noncanonical', text.slice(0, 40));
    }
    const escaped = canonicalize(p).replace('"low"', '"\\u006cow"').replace('"medium"', '"\\u006dedium"');
    const decoded = decodeApprovalPayload(utf8(escaped));
    assert.ok(!decoded.ok && decoded.problem === 'noncanonical');
    const floatTime = canonicalize(p).replace(`"issuedAt":${p.issuedAt}`, `"issuedAt":${p.issuedAt}.0`);
    const decodedFloat = decodeApprovalPayload(utf8(floatTime));
    assert.ok(!decodedFloat.ok && decodedFloat.problem === 'noncanonical');
  });

  const mutations: Array<[string, (p: Record<string, unknown>) => unknown]> = [
    ['an unknown member', (p) => ({ ...p, extra: 1 })],
    ['a missing member', (p) => { const { nonce: _nonce, ...rest } = p; return rest; }],
    ['an empty id', (p) => ({ ...p, approvalId: '' })],
    ['an over-long id', (p) => ({ ...p, intentId: 'x'.repeat(201) })],
    ['a control character in an id', (p) => ({ ...p, decisionId: 'dec\u0000' })],
    ['an unknown action type', (p) => ({ ...p, actionType: 'wire' })],
    ['an upper-case digest', (p) => ({ ...p, actionDigest: (p.actionDigest as string).toUpperCase() })],
    ['a digest without its tag', (p) => ({ ...p, policyDigest: (p.policyDigest as string).slice(7) })],
    ['an unknown basis', (p) => ({ ...p, basis: 'override' })],
    ['an unknown risk tier', (p) => ({ ...p, riskTier: 'critical' })],
    ['a fractional time', (p) => ({ ...p, issuedAt: 1.5 })],
    ['a negative time', (p) => ({ ...p, expiresAt: -1 })],
    ['a time as a string', (p) => ({ ...p, notBefore: '1767225600000' })],
    ['a short nonce', (p) => ({ ...p, nonce: 'abc' })],
    ['a nonce outside base64url', (p) => ({ ...p, nonce: 'a'.repeat(21) + '+' })],
    ['notBefore before issuedAt', (p) => ({ ...p, notBefore: (p.issuedAt as number) - 1 })],
    ['expiresAt not after notBefore', (p) => ({ ...p, expiresAt: p.notBefore })],
    ['human approval without approvers', (p) => ({ ...p, approvers: [] })],
    ['policy allow with approvers', (p) => ({ ...p, basis: 'policy_allow' })],
    ['the same approver twice', (p) => ({ ...p, approvers: [...(p.approvers as unknown[]), ...(p.approvers as unknown[])] })],
    ['an approver without evidence', (p) => ({ ...p, approvers: (p.approvers as Array<Record<string, unknown>>).map(({ evidence: _e, ...a }) => a) })],
    ['an unknown channel', (p) => ({ ...p, requester: { ...(p.requester as object), channel: 'irc' } })],
    ['a rule id that is not a string', (p) => ({ ...p, ruleIds: [1] })],
    ['65 rule ids', (p) => ({ ...p, ruleIds: Array.from({ length: 65 }, (_, i) => `R${i}`) })],
    ['not an object', () => ['approval']],
  ];
  for (const [name, change] of mutations) {
    test(`malformed: ${name}`, () => {
      const value = change(JSON.parse(JSON.stringify(payload())) as Record<string, unknown>);
      assert.equal(validateApprovalPayload(value).ok, false);
      const decoded = decodeApprovalPayload(utf8(canonicalize(value)));
      assert.equal(decoded.ok, false);
      if (!decoded.ok) assert.equal(decoded.problem, 'malformed');
    });
  }

  test('payloads over MAX_PAYLOAD_BYTES are refused before parsing', () => {
    const decoded = decodeApprovalPayload(Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x20));
    assert.ok(!decoded.ok && /over 4000/.test(decoded.reason));
  });

  test('integers beyond 2^53 are malformed, not silently rounded', () => {
    const text = canonicalize(payload()).replace(/"issuedAt":\d+/, '"issuedAt":9007199254740993');
    const decoded = decodeApprovalPayload(utf8(text));
    assert.ok(!decoded.ok && decoded.problem === 'malformed');
  });

  test('an allow decision drafts a payload with no approvers and basis policy_allow', () => {
    const d = sampleDecision();
    const p = draftApproval(d, [], { now: T0, approvalId: 'apr-1', nonce: testNonce('x'), audience: 'a', issuer: 'i' });
    assert.equal(p.basis, 'policy_allow');
    assert.deepEqual(p.approvers, []);
    assert.equal(validateApprovalPayload(p).ok, true);
  });
});
