import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarizeAction } from '../../../src/domain/summary.ts';
import { decisionReplies } from '../../../src/replies/compose.ts';
import { sampleDecision, sampleIntent } from '../../support/fixtures.ts';

test('summaries show amounts exactly in each currency\'s minor units, and what a message says', () => {
  assert.equal(summarizeAction({ type: 'transfer', amountMinor: 500000, currency: 'USD', payee: 'Alice', memo: null }), 'transfer 5,000.00 USD to Alice');
  assert.equal(summarizeAction({ type: 'transfer', amountMinor: 1234, currency: 'KWD', payee: 'B', memo: 'rent' }), 'transfer 1.234 KWD to B (rent)');
  assert.equal(summarizeAction({ type: 'transfer', amountMinor: 1200, currency: 'JPY', payee: 'C', memo: null }), 'transfer 1,200 JPY to C');
  assert.equal(summarizeAction({ type: 'message_send', medium: 'email', recipient: 'bob@example.com', subject: 'Q3', body: 'numbers\nattached' }), 'send email to bob@example.com "Q3": "numbers attached"');
  assert.match(summarizeAction({ type: 'message_send', medium: 'sms', recipient: '+1', subject: null, body: 'x'.repeat(500) }), /x…"$/);
  assert.equal(summarizeAction({ type: 'command_run', host: 'build-01', command: 'df -h' }), 'run `df -h` on build-01');
});

test('replies: deny tells the conversation; require_human prompts each approver and tells the requester; ids are stable', () => {
  const intent = sampleIntent();
  assert.deepEqual(decisionReplies(sampleDecision(intent)), []);
  const denied = decisionReplies(sampleDecision(intent, { outcome: 'deny', reason: 'too much' }));
  assert.equal(denied.length, 1);
  assert.match(denied[0]!.text, /^Refused: transfer 50\.00 USD to Bob\. too much$/);
  const human = sampleDecision(intent, { outcome: 'require_human', humanApproval: { approvers: ['role:finance-approver', 'carol'], requiredApprovals: 1, deadline: Date.UTC(2026, 0, 1), requesterMayApprove: false } });
  const replies = decisionReplies(human);
  assert.deepEqual(replies.map((r) => [r.kind, r.recipientUserId]), [['info', null], ['approval_prompt', 'role:finance-approver'], ['approval_prompt', 'carol']]);
  assert.equal(replies[1]!.prompt!.status, 'pending');
  assert.deepEqual(decisionReplies(human).map((r) => r.replyId), replies.map((r) => r.replyId), 'same decision, same reply ids');
});
