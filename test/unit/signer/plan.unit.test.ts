// The signer's brain (consumers/signer/plan.ts): what one decision or one human answer changes and
// what must be said, with time and role membership passed in.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEADLINE_TIMER, afterSigning, judgeResponse, planDecision, planResponse, type DecisionState, type Plan } from '../../../consumers/signer/plan.ts';
import { expiryResponse } from '../../../consumers/signer/expiry.ts';
import { SIGNER_ISSUER } from '../../../consumers/signer/handler.ts';
import { EXPECTED_ISSUER } from '../../../consumers/executor/service.ts';
import { approverPrincipal, humanDecision, sampleDecision, sampleResponse, T0, REQUESTER } from '../../../src/approval/testing/fixtures.ts';
import type { Decision, HumanApprovalResponse } from '../../../src/domain/types.ts';

const roles = { finance: ['u-carol', 'u-dave'] };
const options = { now: T0 + 120_000, roles };
const empty = (decisionId: string): DecisionState => ({ decisionId, known: null, responses: [] });
const alice = approverPrincipal('u-alice');
const carol = approverPrincipal('u-carol');
const erin = approverPrincipal('u-erin');

/** Applies inputs in order, as the handler does (signing always succeeds here). */
function run(inputs: Array<Decision | HumanApprovalResponse>, now = options.now): { state: DecisionState; plans: Plan[] } {
  let state = empty(inputs[0]!.decisionId);
  const plans: Plan[] = [];
  for (const input of inputs) {
    let plan = 'outcome' in input ? planDecision(state, input, { now, roles }) : planResponse(state, input, { now, roles });
    if (plan.sign) plan = afterSigning(plan, { ok: true });
    plans.push(plan);
    state = plan.next;
  }
  return { state, plans };
}

test('allow is signed at once; deny is closed without a word (policy told the user); a known decision is never planned twice', () => {
  const allow = run([sampleDecision()]);
  assert.ok(allow.plans[0]!.sign);
  assert.equal(allow.state.known!.status, 'signed');
  assert.deepEqual(allow.plans[0]!.replies, []);
  const again = planDecision(allow.state, sampleDecision(), options);
  assert.deepEqual([again.sign, again.reemitApproval, again.decisionChanged], [null, true, false], 'a replay re-emits the stored approval');
  const deny = run([sampleDecision({ outcome: 'deny' })]);
  assert.deepEqual([deny.plans[0]!.sign, deny.state.known!.status, deny.state.known!.statusCode, deny.plans[0]!.replies.length], [null, 'not_signable', 'SNT_SIGN_NOT_PERMITTED', 0]);
  assert.equal(planDecision(deny.state, sampleDecision({ outcome: 'deny' }), options).reemitApproval, false);
});

test('an allow decision whose digest does not match its action is not signed, and the requester is told why', () => {
  const { state, plans } = run([sampleDecision({ actionDigest: `sha256:${'1'.repeat(64)}` })]);
  assert.equal(plans[0]!.sign, null);
  assert.deepEqual([state.known!.status, state.known!.statusCode], ['not_signable', 'SNT_SIGN_DIGEST_MISMATCH']);
  assert.match(plans[0]!.replies[0]!.text, /^Not approved: transfer 500\.00 USD to alice@example\.com \(rent\)\. .*\(SNT_SIGN_DIGEST_MISMATCH\)$/);
});

test('require_human: an authorised approval signs it; approvers get "approved by", the requester a notice', () => {
  const d = humanDecision({ approvers: ['role:finance'] });
  const { state, plans } = run([d, sampleResponse(d, carol)]);
  assert.equal(plans[0]!.sign, null);
  assert.equal(plans[0]!.replies.length, 0, 'policy already sent the prompts');
  assert.deepEqual(plans[1]!.sign!.responses.map((r) => r.approver.userId), ['u-carol']);
  assert.equal(state.known!.status, 'signed');
  const update = plans[1]!.replies.find((r) => r.kind === 'approval_update')!;
  assert.deepEqual([update.recipientUserId, update.prompt!.status, update.prompt!.decidedBy], ['role:finance', 'approved', 'u-carol']);
  assert.match(plans[1]!.replies.find((r) => r.kind === 'info')!.text, /^Approved by u-carol: /);
});

test('refused answers change nothing and tell the approver why, with a code', () => {
  const d = humanDecision({ approvers: ['role:finance', 'u-alice'], deadline: T0 + 3_600_000 });
  const cases: Array<[HumanApprovalResponse, string]> = [
    [sampleResponse(d, erin), 'SNT_SIGN_NOT_APPROVER'],
    [sampleResponse(d, approverPrincipal(REQUESTER.userId)), 'SNT_SIGN_SELF_APPROVAL'],
    [sampleResponse(d, carol, 'approve', T0 + 3_600_001), 'SNT_SIGN_DEADLINE_PASSED'],
    [{ ...sampleResponse(d, carol), evidence: { ...sampleResponse(d, carol).evidence, platformUserId: 'someone-else' } }, 'SNT_SIGN_RESPONSE_INVALID'],
    [{ ...sampleResponse(d, carol), intentId: 'int-other' }, 'SNT_SIGN_RESPONSE_INVALID'],
    [sampleResponse(d, DEADLINE_TIMER, 'expired'), 'SNT_SIGN_RESPONSE_INVALID'],
  ];
  for (const [response, code] of cases) {
    const { state, plans } = run([d, response]);
    const plan = plans[1]!;
    assert.deepEqual([plan.sign, plan.decisionChanged, state.known!.status], [null, false, 'pending'], code);
    assert.deepEqual(plan.refusals.map((r) => r.code), [code]);
    assert.equal(state.responses[0]!.status, 'refused');
    if (response.verdict !== 'expired') {
      assert.equal(plan.replies.length, 1);
      assert.equal(plan.replies[0]!.recipientUserId, response.approver.userId);
      assert.match(plan.replies[0]!.text, new RegExp(`\\(${code}\\)\\.$`));
    } else {
      assert.equal(plan.replies.length, 0, 'the deadline timer is not told anything');
    }
  }
});

test('self-approval: allowed when the request says so and the risk is not high; never at high risk', () => {
  const requester = approverPrincipal(REQUESTER.userId);
  const allowed = humanDecision({ approvers: [REQUESTER.userId], requesterMayApprove: true });
  assert.equal(run([allowed, sampleResponse(allowed, requester)]).state.known!.status, 'signed');
  const high = humanDecision({ approvers: [REQUESTER.userId], requesterMayApprove: true, risk: { tier: 'high', score: 90, factors: [] } });
  const refused = run([high, sampleResponse(high, requester)]);
  assert.equal(refused.plans[1]!.refusals[0]!.code, 'SNT_SIGN_SELF_APPROVAL');
  assert.match(refused.plans[1]!.replies[0]!.text, /a high-risk request cannot be approved by its requester/);
});

test('deny from an authorised approver, or expiry after the deadline, closes the request; later answers are "already decided"', () => {
  const d = humanDecision({ approvers: ['role:finance'] });
  const denied = run([d, sampleResponse(d, carol, 'deny'), sampleResponse(d, approverPrincipal('u-dave'))]);
  assert.deepEqual([denied.state.known!.status, denied.state.known!.statusCode], ['denied', 'SNT_SIGN_HUMAN_DENIED']);
  assert.match(denied.plans[1]!.replies.find((r) => r.kind === 'outcome')!.text, /^Refused: .*Denied by u-carol\.$/);
  assert.equal(denied.plans[1]!.replies.find((r) => r.kind === 'approval_update')!.prompt!.status, 'denied');
  assert.equal(denied.plans[2]!.refusals[0]!.code, 'SNT_SIGN_ALREADY_DECIDED');

  const deadline = d.humanApproval!.deadline;
  const expiry = expiryResponse({ decisionId: d.decisionId, intentId: d.intentId, deadline }, deadline + 1);
  const expired = run([d, expiry], deadline + 1);
  assert.deepEqual([expired.state.known!.status, expired.state.known!.statusCode], ['expired', 'SNT_SIGN_DEADLINE_PASSED']);
  assert.match(expired.plans[1]!.replies.find((r) => r.kind === 'outcome')!.text, /^Refused: .*No approval before the deadline/);
  assert.equal(expired.plans[1]!.replies.find((r) => r.kind === 'approval_update')!.prompt!.status, 'expired');
  assert.deepEqual(planResponse(expired.state, expiry, options), { ...planResponse(expired.state, expiry, options), refusals: [], replies: [], sign: null }, 'a repeated expiry is a duplicate');
});

test('answers that arrive before their decision are kept, then judged in the order they were given', () => {
  const d = humanDecision({ approvers: ['role:finance'], required: 2 });
  const early = [sampleResponse(d, approverPrincipal('u-dave'), 'approve', T0 + 20_000), sampleResponse(d, erin, 'approve', T0 + 10_000), sampleResponse(d, carol, 'approve', T0 + 30_000)];
  const { state, plans } = run([early[0]!, early[1]!, early[2]!, d]);
  assert.deepEqual(plans.slice(0, 3).map((p) => p.responsesChanged[0]!.status), ['orphan', 'orphan', 'orphan']);
  const arrival = plans[3]!;
  assert.deepEqual(arrival.sign!.responses.map((r) => r.approver.userId).sort(), ['u-carol', 'u-dave']);
  assert.deepEqual(arrival.refusals.map((r) => r.code), ['SNT_SIGN_NOT_APPROVER']);
  assert.equal(state.known!.status, 'signed');
  assert.ok(arrival.replies.some((r) => r.recipientUserId === 'u-erin'));
  assert.ok(arrival.replies.some((r) => r.kind === 'approval_update' && r.prompt!.status === 'pending'), 'dave approved first: 1 of 2');
});

test('duplicates: the same answer twice, the same approver twice, and answers after signing change nothing', () => {
  const d = humanDecision({ approvers: ['role:finance'], required: 2 });
  const first = sampleResponse(d, carol);
  const { state } = run([d, first]);
  assert.deepEqual(planResponse(state, first, options).responsesChanged, [], 'same response id: a duplicate');
  const again = planResponse(state, sampleResponse(d, carol, 'approve', T0 + 70_000), options);
  assert.equal(again.refusals[0]!.code, 'SNT_SIGN_ALREADY_DECIDED');
  assert.match(again.replies[0]!.text, /you already answered/);
  assert.equal(judgeResponse(state.known!, [first], sampleResponse(d, alice), options).ok, false, 'alice is not in the finance role');
});

test('the signer writes the issuer the executor pins', () => {
  assert.equal(SIGNER_ISSUER, EXPECTED_ISSUER);
});
