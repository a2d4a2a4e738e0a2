// authorizeSigning: the signer signs allowed decisions, or human-approved ones, and nothing else.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { actionDigest } from '../../../src/canonical/digest.ts';
import type { Decision, HumanApprovalResponse, HumanVerdict } from '../../../src/domain/types.ts';
import { authorizeSigning, isAuthorisedApprover } from '../../../src/approval/authorize.ts';
import { MAX_APPROVERS } from '../../../src/approval/payload.ts';
import {
  ACTIONS, REQUESTER, T0, approverPrincipal, humanDecision, sampleDecision, sampleResponse,
} from '../../../src/approval/testing/fixtures.ts';

const NOW = T0 + 5 * 60_000;
const alice = approverPrincipal('u-alice');
const bob = approverPrincipal('u-bob', 'discord');
const carol = approverPrincipal('u-carol');
const mallory = approverPrincipal('u-mallory');
const roles = { finance: ['u-carol'] };

function codeOf(d: Decision, responses: HumanApprovalResponse[], now = NOW): string {
  const r = authorizeSigning(d, responses, { now, roles });
  return r.ok ? 'ok' : r.code;
}

describe('outcomes', () => {
  test('allow: signed with no approvers', () => {
    const r = authorizeSigning(sampleDecision(), [], { now: NOW });
    assert.deepEqual(r, { ok: true, basis: 'policy_allow', approvers: [] });
  });

  test('deny: never signed, whatever responses come with it', () => {
    const d = humanDecision({ outcome: 'deny' });
    assert.equal(codeOf(d, [sampleResponse(d, alice)]), 'SNT_SIGN_NOT_PERMITTED');
  });

  test('an unknown outcome is refused', () => {
    assert.equal(codeOf(sampleDecision({ outcome: 'maybe' as Decision['outcome'] }), []), 'SNT_SIGN_NOT_PERMITTED');
  });

  test('the action digest is recomputed: a decision whose digest names another action is refused', () => {
    const d = sampleDecision({ actionDigest: actionDigest(ACTIONS.command) });
    assert.equal(codeOf(d, []), 'SNT_SIGN_DIGEST_MISMATCH');
    const swapped = { ...sampleDecision(), action: { ...ACTIONS.transfer, amountMinor: 1 } };
    assert.equal(codeOf(swapped, []), 'SNT_SIGN_DIGEST_MISMATCH');
  });

  test('require_human without a usable requirement is refused', () => {
    assert.equal(codeOf(humanDecision({ humanApproval: null }), []), 'SNT_SIGN_NOT_PERMITTED');
    assert.equal(codeOf(humanDecision({ required: 0 }), []), 'SNT_SIGN_NOT_PERMITTED');
    assert.equal(codeOf(humanDecision({ approvers: [] }), []), 'SNT_SIGN_NOT_PERMITTED');
  });
});

describe('human approvals', () => {
  test('one authorised approval suffices when one is required; the approver and evidence are recorded', () => {
    const d = humanDecision();
    const response = sampleResponse(d, alice);
    const r = authorizeSigning(d, [response], { now: NOW, roles });
    assert.ok(r.ok);
    assert.equal(r.basis, 'human_approval');
    assert.deepEqual(r.approvers, [{
      userId: 'u-alice', channel: 'slack', channelUserId: alice.channelUserId, responseId: response.responseId,
      respondedAt: response.respondedAt, evidence: { ...response.evidence },
    }]);
  });

  test('no response yet: awaiting', () => {
    assert.equal(codeOf(humanDecision(), []), 'SNT_SIGN_AWAITING_APPROVALS');
  });

  test('role entries match through the roles map only', () => {
    const d = humanDecision({ approvers: ['role:finance'] });
    assert.equal(codeOf(d, [sampleResponse(d, carol)]), 'ok');
    assert.equal(codeOf(d, [sampleResponse(d, alice)]), 'SNT_SIGN_AWAITING_APPROVALS');
    assert.equal(authorizeSigning(d, [sampleResponse(d, carol)], { now: NOW }).ok, false, 'no roles map, no role members');
    assert.equal(isAuthorisedApprover('u-carol', ['role:toString'], {}), false, 'prototype names are not roles');
    assert.equal(isAuthorisedApprover('u-carol', ['role:finance'], roles), true);
  });

  test('unauthorised approvals do not count, and their denials do not end it', () => {
    const d = humanDecision();
    assert.equal(codeOf(d, [sampleResponse(d, mallory)]), 'SNT_SIGN_AWAITING_APPROVALS');
    assert.equal(codeOf(d, [sampleResponse(d, mallory, 'deny'), sampleResponse(d, alice)]), 'ok');
  });

  test('an authorised denial ends it, even after enough approvals', () => {
    const d = humanDecision({ required: 1 });
    assert.equal(codeOf(d, [sampleResponse(d, alice, 'approve', T0 + 1000), sampleResponse(d, bob, 'deny', T0 + 2000)]), 'SNT_SIGN_HUMAN_DENIED');
  });

  test('distinct approvers: the same user approving twice (even from two channels) counts once', () => {
    const d = humanDecision({ required: 2 });
    const aliceOnDiscord = { ...approverPrincipal('u-alice', 'discord') };
    assert.equal(codeOf(d, [sampleResponse(d, alice, 'approve', T0 + 1), sampleResponse(d, alice, 'approve', T0 + 2)]), 'SNT_SIGN_AWAITING_APPROVALS');
    assert.equal(codeOf(d, [sampleResponse(d, alice), sampleResponse(d, aliceOnDiscord)]), 'SNT_SIGN_AWAITING_APPROVALS');
    const r = authorizeSigning(d, [sampleResponse(d, bob, 'approve', T0 + 2), sampleResponse(d, alice, 'approve', T0 + 1)], { now: NOW, roles });
    assert.ok(r.ok);
    assert.deepEqual(r.approvers.map((a) => a.userId), ['u-alice', 'u-bob'], 'ordered by response time');
  });

  test('the requester counts only if allowed, and never for high risk', () => {
    const requesterAsApprover = { ...REQUESTER };
    const allowed = humanDecision({ approvers: ['u-requester', 'u-alice'], requesterMayApprove: true });
    assert.equal(codeOf(allowed, [sampleResponse(allowed, requesterAsApprover)]), 'ok');
    const notAllowed = humanDecision({ approvers: ['u-requester', 'u-alice'], requesterMayApprove: false });
    assert.equal(codeOf(notAllowed, [sampleResponse(notAllowed, requesterAsApprover)]), 'SNT_SIGN_AWAITING_APPROVALS');
    const high = humanDecision({ approvers: ['u-requester', 'u-alice'], requesterMayApprove: true, risk: { tier: 'high', score: 90, factors: [] } });
    assert.equal(codeOf(high, [sampleResponse(high, requesterAsApprover)]), 'SNT_SIGN_AWAITING_APPROVALS');
  });

  test('a requester allowed to approve may confirm their own request without being a listed approver (never at high risk)', () => {
    const confirm = humanDecision({ approvers: ['role:finance'], requesterMayApprove: true });
    assert.equal(codeOf(confirm, [sampleResponse(confirm, REQUESTER)]), 'ok');
    const high = humanDecision({ approvers: ['role:finance'], requesterMayApprove: true, risk: { tier: 'high', score: 90, factors: [] } });
    assert.equal(codeOf(high, [sampleResponse(high, REQUESTER)]), 'SNT_SIGN_AWAITING_APPROVALS');
    const notAllowed = humanDecision({ approvers: ['role:finance'], requesterMayApprove: false });
    assert.equal(codeOf(notAllowed, [sampleResponse(notAllowed, REQUESTER)]), 'SNT_SIGN_AWAITING_APPROVALS');
  });

  test('the deadline: late responses do not count, and nothing is signed after it', () => {
    const d = humanDecision({ deadline: T0 + 60_000 });
    assert.equal(codeOf(d, [sampleResponse(d, alice, 'approve', T0 + 60_001)], T0 + 30_000), 'SNT_SIGN_AWAITING_APPROVALS');
    assert.equal(codeOf(d, [sampleResponse(d, alice, 'approve', T0 + 60_000)], T0 + 60_000), 'ok', 'on the deadline is in time');
    assert.equal(codeOf(d, [sampleResponse(d, alice, 'approve', T0 + 10_000)], T0 + 60_001), 'SNT_SIGN_DEADLINE_PASSED');
    assert.equal(codeOf(d, [], T0 + 120_000), 'SNT_SIGN_DEADLINE_PASSED');
  });

  test('responses for another decision or intent, or with evidence of another identity, do not count', () => {
    const d = humanDecision();
    const other = humanDecision({ decisionId: 'dec-other' });
    assert.equal(codeOf(d, [sampleResponse(other, alice)]), 'SNT_SIGN_AWAITING_APPROVALS');
    assert.equal(codeOf(d, [{ ...sampleResponse(d, alice), intentId: 'int-other' }]), 'SNT_SIGN_AWAITING_APPROVALS');
    const spoofed = sampleResponse(d, alice);
    assert.equal(codeOf(d, [{ ...spoofed, evidence: { ...spoofed.evidence, platformUserId: 'slack-u-mallory' } }]), 'SNT_SIGN_AWAITING_APPROVALS');
    assert.equal(codeOf(d, [{ ...spoofed, evidence: { ...spoofed.evidence, platform: 'web' } }]), 'SNT_SIGN_AWAITING_APPROVALS');
  });

  test('"expired" verdicts neither approve nor deny', () => {
    const d = humanDecision();
    assert.equal(codeOf(d, [sampleResponse(d, alice, 'expired')]), 'SNT_SIGN_AWAITING_APPROVALS');
  });

  test('at most MAX_APPROVERS approvers are recorded', () => {
    const ids = Array.from({ length: MAX_APPROVERS + 4 }, (_, i) => `u-${i}`);
    const d = humanDecision({ approvers: ids, required: 2 });
    const r = authorizeSigning(d, ids.map((id, i) => sampleResponse(d, approverPrincipal(id), 'approve', T0 + i)), { now: NOW });
    assert.ok(r.ok);
    assert.equal(r.approvers.length, MAX_APPROVERS);
  });
});

describe('property: the gate never opens for anything else', () => {
  const people = ['u-requester', 'u-alice', 'u-bob', 'u-carol', 'u-mallory'];
  test('ok only when the rules say so, computed independently', () => {
    fc.assert(fc.property(
      fc.constantFrom<Decision['outcome']>('allow', 'deny', 'require_human'),
      fc.subarray(['u-requester', 'u-alice', 'u-bob', 'role:finance'], { minLength: 1 }),
      fc.integer({ min: 1, max: 3 }),
      fc.boolean(),
      fc.constantFrom<'low' | 'medium' | 'high'>('low', 'medium', 'high'),
      fc.array(fc.record({
        who: fc.constantFrom(...people),
        verdict: fc.constantFrom<HumanVerdict>('approve', 'deny', 'expired'),
        at: fc.integer({ min: 0, max: 200_000 }),
        forged: fc.boolean(),
      }), { maxLength: 8 }),
      fc.integer({ min: 0, max: 200_000 }),
      (outcome, approvers, required, requesterMayApprove, tier, raw, nowOffset) => {
        const deadline = T0 + 100_000;
        const d = humanDecision({ outcome, approvers, required, requesterMayApprove, deadline, risk: { tier, score: 50, factors: [] } });
        const responses = raw.map((r, i) => {
          const principal = r.who === 'u-requester' ? REQUESTER : approverPrincipal(r.who);
          const resp = sampleResponse(d, principal, r.verdict, T0 + r.at, `resp-${i}`);
          return r.forged ? { ...resp, evidence: { ...resp.evidence, platformUserId: 'someone-else' } } : resp;
        });
        const now = T0 + nowOffset;
        const result = authorizeSigning(d, responses, { now, roles });
        // Independent model of the rules.
        const authorised = (u: string) => approvers.includes(u) || (approvers.includes('role:finance') && u === 'u-carol')
          || (u === 'u-requester' && requesterMayApprove && tier !== 'high');
        const valid = raw.filter((r) => !r.forged && T0 + r.at <= deadline && authorised(r.who));
        let expected: string;
        if (outcome === 'allow') expected = 'ok';
        else if (outcome === 'deny') expected = 'SNT_SIGN_NOT_PERMITTED';
        else if (valid.some((r) => r.verdict === 'deny')) expected = 'SNT_SIGN_HUMAN_DENIED';
        else {
          const counted = new Set(valid.filter((r) => r.verdict === 'approve' && (r.who !== 'u-requester' || (requesterMayApprove && tier !== 'high'))).map((r) => r.who));
          expected = now > deadline ? 'SNT_SIGN_DEADLINE_PASSED' : counted.size >= required ? 'ok' : 'SNT_SIGN_AWAITING_APPROVALS';
        }
        assert.equal(result.ok ? 'ok' : result.code, expected);
        if (result.ok && outcome === 'require_human') {
          assert.ok(result.approvers.length >= required);
          assert.equal(new Set(result.approvers.map((a) => a.userId)).size, result.approvers.length);
        }
      },
    ), { numRuns: 1000 });
  });
});
