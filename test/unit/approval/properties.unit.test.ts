// Properties of sign/verify over generated approvals, and the mutation generator that the Kafka-level
// executor test reuses: every mutation must get exactly the verdict it predicts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { actionDigest } from '../../../src/canonical/digest.ts';
import { canonicalize } from '../../../src/canonical/jcs.ts';
import type { Action, Decision } from '../../../src/domain/types.ts';
import { approvalIdFor, draftApproval } from '../../../src/approval/draft.ts';
import { ED25519_L } from '../../../src/approval/ed25519.ts';
import { createKeyRegistry, newKeyRecord } from '../../../src/approval/keys/index.ts';
import { APPROVAL_PAYLOAD_TYPE, type ApprovalPayload, hasControlCharacter } from '../../../src/approval/payload.ts';
import { signApproval, signEnvelope } from '../../../src/approval/sign.ts';
import { T0, approverPrincipal, humanDecision, sampleDecision, sampleResponse, testSigner } from '../../../src/approval/testing/fixtures.ts';
import { MUTATION_KINDS, createMutationScenario, generateMutations, verifyInputFor } from '../../../src/approval/testing/mutate.ts';
import { authorizeSigning } from '../../../src/approval/authorize.ts';
import { type VerifyInput, verifyApproval, verifyApprovalJson } from '../../../src/approval/verify/index.ts';

const signer = testSigner('properties');
const registry = createKeyRegistry([newKeyRecord({ publicKey: signer.publicKey, origin: 'local', now: T0 - 86_400_000 })]);

const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).filter((s) => !hasControlCharacter(s) && s.length <= 200);
const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ type: fc.constant('transfer' as const), amountMinor: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), currency: fc.constantFrom('USD', 'EUR'), payee: text, memo: fc.option(text, { nil: null }) }),
  fc.record({ type: fc.constant('message_send' as const), medium: fc.constantFrom('email', 'sms', 'chat'), recipient: text, subject: fc.option(text, { nil: null }), body: fc.string({ maxLength: 200 }) }),
  fc.record({ type: fc.constant('command_run' as const), host: text, command: text }),
  fc.record({ type: fc.constant('tool_call' as const), tool: text, argumentsJson: fc.json({ maxDepth: 2 }) }),
);

interface Case { decision: Decision; payload: ApprovalPayload }

const approvalCase: fc.Arbitrary<Case> = fc.record({
  action, intentId: text, decisionId: text, human: fc.boolean(), approvers: fc.uniqueArray(text, { minLength: 1, maxLength: 3 }),
  rules: fc.array(text, { maxLength: 5 }), issuedOffset: fc.integer({ min: 0, max: 60_000 }), ttl: fc.integer({ min: 1, max: 15 * 60_000 }),
  nonce: fc.uint8Array({ minLength: 16, maxLength: 32 }),
}).map((c) => {
  const ids = { intentId: c.intentId, decisionId: c.decisionId, action: c.action, actionDigest: actionDigest(c.action), firedRules: c.rules };
  const decision = c.human ? humanDecision({ ...ids, approvers: c.approvers, required: c.approvers.length }) : sampleDecision(ids);
  const responses = c.human ? c.approvers.map((u, i) => sampleResponse(decision, approverPrincipal(u), 'approve', T0 + i)) : [];
  const now = T0 + 100_000 + c.issuedOffset;
  const auth = authorizeSigning(decision, responses, { now });
  if (!auth.ok) throw new Error(auth.code);
  const payload = draftApproval(decision, auth.approvers, {
    now, approvalId: approvalIdFor(decision.decisionId), nonce: Buffer.from(c.nonce).toString('base64url'), ttlMs: c.ttl, audience: 'aureus-executor', issuer: 'aureus-bridge',
  });
  return { decision, payload };
});

function inputFor(c: Case, overrides: Partial<VerifyInput> = {}): VerifyInput {
  return {
    registry, now: c.payload.issuedAt, audience: 'aureus-executor', issuers: ['aureus-bridge'], action: c.decision.action,
    event: { intentId: c.decision.intentId, decisionId: c.decision.decisionId, approvalId: c.payload.approvalId }, ...overrides,
  };
}

describe('properties of sign and verify', () => {
  test('verify(sign(x)) is ok for every valid approval, at any time inside its window', async () => {
    await fc.assert(fc.asyncProperty(approvalCase, fc.double({ min: 0, max: 1, noNaN: true }), async (c, at) => {
      const env = await signApproval(c.payload, signer);
      const now = Math.floor(c.payload.notBefore + at * (c.payload.expiresAt - c.payload.notBefore - 1));
      const v = verifyApproval(inputFor(c, { now }), env);
      assert.ok(v.ok, v.ok ? '' : `${v.code}: ${v.reason}`);
      assert.deepEqual(v.payload, c.payload);
    }), { numRuns: 300 });
  });

  test('flipping any single bit of the payload or the signature is refused at the signature check', async () => {
    await fc.assert(fc.asyncProperty(approvalCase, fc.boolean(), fc.nat(), async (c, inPayload, n) => {
      const env = await signApproval(c.payload, signer);
      const sig = Buffer.from(env.signatures[0]!.sig);
      const payload = Buffer.from(env.payload);
      const target = inPayload ? payload : sig;
      const bit = n % (target.length * 8);
      target[bit >> 3] = (target[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      const v = verifyApproval(inputFor(c), { ...env, payload, signatures: [{ keyid: signer.keyId, sig }] });
      assert.ok(!v.ok);
      assert.equal(v.check, 'signature');
      const sInt = BigInt(`0x${Buffer.from(sig.subarray(32)).reverse().toString('hex')}`);
      if (!inPayload && sInt >= ED25519_L) assert.equal(v.code, 'SNT_APPROVAL_SIGNATURE_NONCANONICAL');
      else if (inPayload) assert.equal(v.code, 'SNT_APPROVAL_SIGNATURE_INVALID');
      else assert.ok(v.code === 'SNT_APPROVAL_SIGNATURE_INVALID' || v.code === 'SNT_APPROVAL_SIGNATURE_NONCANONICAL');
    }), { numRuns: 500 });
  });

  const FIELDS = [
    'approvalId', 'intentId', 'decisionId', 'actionType', 'actionDigest', 'basis', 'requester', 'approvers', 'riskTier',
    'ruleIds', 'policyVersion', 'policyDigest', 'issuedAt', 'notBefore', 'expiresAt', 'nonce', 'audience', 'issuer',
  ] as const;

  function edit(p: ApprovalPayload, field: (typeof FIELDS)[number]): Record<string, unknown> {
    const v = JSON.parse(JSON.stringify(p)) as Record<string, unknown>;
    switch (field) {
      case 'actionType': v.actionType = p.actionType === 'transfer' ? 'command_run' : 'transfer'; break;
      case 'actionDigest': case 'policyDigest': v[field] = `sha256:${'ab'.repeat(32)}`; break;
      case 'basis': v.basis = p.basis === 'policy_allow' ? 'human_approval' : 'policy_allow'; break;
      case 'requester': v.requester = { ...p.requester, userId: `${p.requester.userId}x` }; break;
      case 'approvers':
        v.approvers = p.approvers.length > 0
          ? p.approvers.map((a) => ({ ...a, userId: `${a.userId}x` }))
          : [{ userId: 'u-forged', channel: 'slack', channelUserId: 'slack-u-forged' }];
        break;
      case 'riskTier': v.riskTier = p.riskTier === 'high' ? 'low' : 'high'; break;
      case 'ruleIds': v.ruleIds = [...p.ruleIds, 'R-EXTRA']; break;
      case 'issuedAt': v.issuedAt = p.issuedAt - 1; break;
      case 'notBefore': v.notBefore = p.notBefore + 1; break;
      case 'expiresAt': v.expiresAt = p.expiresAt + 20 * 60_000; break;
      case 'nonce': v.nonce = `${p.nonce.slice(0, -1)}${p.nonce.endsWith('A') ? 'B' : 'A'}`; break;
      default: v[field] = `${String(v[field])}x`;
    }
    return v;
  }

  test('editing any payload member without re-signing is refused (SNT_APPROVAL_SIGNATURE_INVALID)', async () => {
    await fc.assert(fc.asyncProperty(approvalCase, fc.constantFrom(...FIELDS), async (c, field) => {
      const env = await signApproval(c.payload, signer);
      const v = verifyApproval(inputFor(c), { ...env, payload: Buffer.from(canonicalize(edit(c.payload, field))) });
      assert.ok(!v.ok);
      assert.equal(v.code, 'SNT_APPROVAL_SIGNATURE_INVALID');
    }), { numRuns: 300 });
  });

  test('editing a member and re-signing with the trusted key: bound members are refused with their own code', async () => {
    const expected: Partial<Record<(typeof FIELDS)[number], string>> = {
      approvalId: 'SNT_APPROVAL_BINDING_MISMATCH', intentId: 'SNT_APPROVAL_BINDING_MISMATCH', decisionId: 'SNT_APPROVAL_BINDING_MISMATCH',
      actionType: 'SNT_APPROVAL_DIGEST_MISMATCH', actionDigest: 'SNT_APPROVAL_DIGEST_MISMATCH', audience: 'SNT_APPROVAL_AUDIENCE',
      issuer: 'SNT_APPROVAL_ISSUER', expiresAt: 'SNT_APPROVAL_TTL_TOO_LONG',
    };
    await fc.assert(fc.asyncProperty(approvalCase, fc.constantFrom(...FIELDS), async (c, field) => {
      const edited = edit(c.payload, field);
      const env = await signEnvelope(APPROVAL_PAYLOAD_TYPE, Buffer.from(canonicalize(edited)), signer);
      const v = verifyApproval(inputFor(c, { now: c.payload.notBefore + 1 }), env);
      const basisBreaksSchema = field === 'basis' || (field === 'approvers' && c.payload.approvers.length === 0);
      const code = expected[field];
      if (code !== undefined) {
        assert.ok(!v.ok, `${field} edit must be refused`);
        assert.equal(v.code, code);
      } else if (basisBreaksSchema) {
        // basis and approvers must agree (policy_allow <=> no approvers)
        assert.ok(!v.ok && v.code === 'SNT_APPROVAL_MALFORMED');
      } else if (field === 'notBefore' || field === 'issuedAt') {
        assert.ok(v.ok || v.code === 'SNT_APPROVAL_MALFORMED' || v.code === 'SNT_APPROVAL_NOT_YET_VALID');
      } else {
        // Informational members (requester, approvers, risk, rules, policy, nonce): the trusted signer may say anything.
        assert.ok(v.ok, v.ok ? '' : `${field}: ${v.code}`);
      }
    }), { numRuns: 400 });
  });
});

describe('robustness: verification never throws', () => {
  test('arbitrary JSON as an envelope gets a verdict', () => {
    fc.assert(fc.property(fc.oneof(fc.anything(), fc.record({ payloadType: fc.string(), payload: fc.string(), signatures: fc.array(fc.record({ keyid: fc.string(), sig: fc.string() })) })), (value) => {
      const v = verifyApprovalJsonSafe(value);
      assert.equal(v.ok, false);
    }), { numRuns: 500 });
  });

  test('arbitrary bytes, validly signed by a trusted key, get a payload verdict', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.json().map((j) => Buffer.from(j))), async (bytes) => {
      const env = await signEnvelope(APPROVAL_PAYLOAD_TYPE, Buffer.from(bytes), signer);
      const v = verifyApproval({ registry, now: T0, audience: 'aureus-executor', action: sampleDecision().action, event: { intentId: 'i', decisionId: 'd' } }, env);
      assert.ok(!v.ok && (v.check === 'payload' || v.check === 'envelope'));
    }), { numRuns: 300 });
  });
});

function verifyApprovalJsonSafe(value: unknown) {
  return verifyApprovalJson({ registry, now: T0, audience: 'aureus-executor', action: sampleDecision().action, event: { intentId: 'i', decisionId: 'd' } }, value);
}

describe('mutation generator', () => {
  const scenario = createMutationScenario({ now: T0 });

  test('10,000 generated approvals each get exactly their predicted verdict, every kind represented', () => {
    const seen = new Map<string, number>();
    const wrong: string[] = [];
    for (const m of generateMutations(scenario, { seed: 20260101, count: 10_000 })) {
      seen.set(m.kind, (seen.get(m.kind) ?? 0) + 1);
      const v = verifyApproval(verifyInputFor(scenario, m), m.event.envelope);
      const ok = m.expected.ok ? v.ok : !v.ok && v.code === m.expected.code && v.check === m.expected.check;
      if (!ok && wrong.length < 5) wrong.push(`${m.kind} (${m.description}): expected ${JSON.stringify(m.expected)}, got ${v.ok ? 'ok' : `${v.code}@${v.check}`}`);
    }
    assert.deepEqual(wrong, []);
    assert.deepEqual(MUTATION_KINDS.filter((k) => !seen.has(k)), []);
  });

  test('is reproducible from its seed and differs across seeds', () => {
    const run = (seed: number) => [...generateMutations(scenario, { seed, count: 30 })].map((m) => `${m.kind}:${m.event.envelope.signatures[0]?.sig.toString('hex') ?? ''}:${m.event.envelope.payload.toString('hex')}`);
    assert.deepEqual(run(7), run(7));
    assert.notDeepEqual(run(7), run(8));
  });

  test('property: any seed, any kind', () => {
    fc.assert(fc.property(fc.integer(), fc.constantFrom(...MUTATION_KINDS), (seed, kind) => {
      for (const m of generateMutations(scenario, { seed, count: 3, kinds: [kind] })) {
        const v = verifyApproval(verifyInputFor(scenario, m), m.event.envelope);
        if (m.expected.ok) assert.ok(v.ok);
        else assert.deepEqual(v.ok ? 'ok' : { code: v.code, check: v.check }, { code: m.expected.code, check: m.expected.check });
      }
    }), { numRuns: 300 });
  });

  test('replays are marked as needing the base to run first, and the base itself is valid', () => {
    const [m] = [...generateMutations(scenario, { seed: 1, count: 1, kinds: ['replay'] })];
    assert.ok(m?.requiresPriorUse);
    const fresh = verifyApproval({ ...verifyInputFor(scenario, m), seen: () => false }, m.base.event.envelope);
    assert.ok(fresh.ok);
  });
});
