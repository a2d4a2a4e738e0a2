// Approval prompts per platform, the button encoding and the /approve text fallback.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  encodeApprovalCallback, parseApprovalCallback, parseApprovalCommand,
} from '../../../src/channels/render/callback.ts';
import {
  escapeSlackMrkdwn, escapeTelegramHtml, formatDeadline, renderDiscordPrompt, renderSlackPrompt, renderTelegramPrompt, renderTextPrompt, statusLine,
} from '../../../src/channels/render/prompt.ts';
import { truncate } from '../../../src/channels/render/text.ts';
import type { ApprovalPrompt } from '../../../src/domain/types.ts';
import { parseTelegramHtml } from '../../support/fakes/telegram.ts';
import { validateBlocks } from '../../support/fakes/slack.ts';

const DEADLINE = Date.UTC(2025, 10, 25, 19, 40, 0);

function prompt(overrides: Partial<ApprovalPrompt> = {}): ApprovalPrompt {
  return {
    decisionId: 'dec-01HZX3', intentId: 'int-1',
    requester: { userId: 'alice', channel: 'telegram', channelUserId: '1', displayName: 'Alice Adams' },
    actionSummary: 'Transfer 5,000.00 USD to Alice', riskTier: 'high', reason: 'Amount above the 1,000.00 USD limit',
    deadline: DEADLINE, approvers: ['role:treasury'], requiredApprovals: 1, status: 'pending', decidedBy: null,
    ...overrides,
  };
}

test('truncate never splits a character', () => {
  assert.equal(truncate('abcdef', 4), 'abc…');
  assert.equal(truncate('abc', 4), 'abc');
  assert.equal(truncate('😀😀😀', 2), '😀…');
  assert.throws(() => truncate('x', 0), RangeError);
});

test('the text form carries everything and the /approve and /deny fallback', () => {
  assert.equal(renderTextPrompt(prompt()), [
    'Approval needed (risk: high) for decision dec-01HZX3',
    'Action: Transfer 5,000.00 USD to Alice',
    'Requested by: Alice Adams (alice)',
    'Reason: Amount above the 1,000.00 USD limit',
    'Approvers: role:treasury (1 needed)',
    'Answer by: 2025-11-25 19:40 UTC',
    'Reply /approve dec-01HZX3 or /deny dec-01HZX3',
  ].join('\n'));
  assert.match(renderTextPrompt(prompt({ status: 'approved', decidedBy: 'carol' })), /✅ Approved by carol$/);
  assert.equal(statusLine(prompt({ status: 'expired' })), '⌛ Expired: no answer by 2025-11-25 19:40 UTC');
  assert.equal(statusLine(prompt({ status: 'denied', decidedBy: null })), '⛔ Denied');
  assert.equal(formatDeadline(DEADLINE), '2025-11-25 19:40 UTC');
});

test('Telegram: HTML that Telegram parses, an inline keyboard while pending, none after', () => {
  const hostile = prompt({ actionSummary: 'Transfer 1.00 USD to <b>x</b> & <a href="http://evil">y</a>', reason: '</i><script>' });
  const payload = renderTelegramPrompt(hostile);
  assert.equal(payload.parse_mode, 'HTML');
  const visible = parseTelegramHtml(payload.text);
  assert.match(visible, /Transfer 1\.00 USD to <b>x<\/b> & <a href="http:\/\/evil">y<\/a>/, 'shown literally, not as markup');
  assert.match(visible, /<\/i><script>/);
  assert.deepEqual(payload.reply_markup.inline_keyboard, [[
    { text: '✅ Approve', callback_data: 'apv:dec-01HZX3:approve' },
    { text: '⛔ Deny', callback_data: 'apv:dec-01HZX3:deny' },
  ]]);
  const decided = renderTelegramPrompt(prompt({ status: 'denied', decidedBy: 'bob' }));
  assert.deepEqual(decided.reply_markup.inline_keyboard, []);
  assert.match(parseTelegramHtml(decided.text), /⛔ Denied by bob/);
  assert.equal(escapeTelegramHtml('<&>"'), '&lt;&amp;&gt;&quot;');
});

test('Telegram: an id too long for callback_data falls back to text only', () => {
  const payload = renderTelegramPrompt(prompt({ decisionId: 'd'.repeat(60) }));
  assert.deepEqual(payload.reply_markup.inline_keyboard, []);
  assert.match(parseTelegramHtml(payload.text), new RegExp(`/approve ${'d'.repeat(60)}`));
});

test('Discord: embed with escaped markdown, colour by risk, buttons while pending, no mentions', () => {
  const body = renderDiscordPrompt(prompt({ actionSummary: 'Run `rm -rf /` on **prod** <@123> [x](http://evil)' }));
  assert.deepEqual(body.allowed_mentions, { parse: [] });
  assert.equal(body.embeds[0]!.description, '**Action:** Run \\`rm -rf /\\` on \\*\\*prod\\*\\* \\<@123> \\[x\\]\\(http://evil\\)');
  assert.equal(body.embeds[0]!.color, 0xc62828);
  assert.deepEqual(body.components[0]!.components.map((b) => [b.style, b.custom_id]), [[3, 'apv:dec-01HZX3:approve'], [4, 'apv:dec-01HZX3:deny']]);
  assert.match(body.embeds[0]!.fields.find((f) => f.name === 'Answer by')!.value, /<t:\d+:f> \(<t:\d+:R>\)/);
  const decided = renderDiscordPrompt(prompt({ status: 'approved', decidedBy: 'carol' }));
  assert.deepEqual(decided.components, []);
  assert.equal(decided.embeds[0]!.fields.at(-1)!.value, '✅ Approved by carol');
});

test('Slack: valid Block Kit, escaped mrkdwn, confirm on high risk, buttons gone once decided', () => {
  const payload = renderSlackPrompt(prompt({ actionSummary: 'Transfer 1.00 USD to <!channel> & <http://evil|click>' }));
  validateBlocks(payload.blocks);
  assert.match(JSON.stringify(payload.blocks), /&lt;!channel&gt; &amp; &lt;http:\/\/evil\|click&gt;/);
  const actions = payload.blocks.find((b) => b.type === 'actions') as unknown as { block_id: string; elements: Array<Record<string, unknown>> };
  assert.equal(actions.block_id, 'apv:dec-01HZX3');
  assert.deepEqual(actions.elements.map((e) => [e.action_id, e.value]), [['apv_approve', 'apv:dec-01HZX3:approve'], ['apv_deny', 'apv:dec-01HZX3:deny']]);
  assert.ok(actions.elements[0]!.confirm);
  assert.ok(!(renderSlackPrompt(prompt({ riskTier: 'low' })).blocks.find((b) => b.type === 'actions') as unknown as { elements: Array<Record<string, unknown>> }).elements[0]!.confirm);
  const decided = renderSlackPrompt(prompt({ status: 'expired' }));
  validateBlocks(decided.blocks);
  assert.ok(!decided.blocks.some((b) => b.type === 'actions'));
  assert.match(decided.text, /^⌛ Expired/);
  assert.equal(escapeSlackMrkdwn('<&>'), '&lt;&amp;&gt;');
});

test('property: renderers stay within platform limits for any text', () => {
  const nasty = fc.string({ unit: fc.constantFrom('&', '<', '>', '*', '_', '`', '[', '(', '#', '-', 'a', ' ', '\n', '😀'), maxLength: 6000 });
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 6000 }), nasty), fc.oneof(fc.string({ maxLength: 6000 }), nasty), fc.constantFrom('low', 'medium', 'high'), (summary, reason, riskTier) => {
      const p = prompt({ actionSummary: summary, reason, riskTier: riskTier as ApprovalPrompt['riskTier'] });
      const telegram = renderTelegramPrompt(p);
      assert.ok([...parseTelegramHtml(telegram.text)].length <= 4096);
      validateBlocks(renderSlackPrompt(p).blocks);
      const discord = renderDiscordPrompt(p);
      const embed = discord.embeds[0]!;
      assert.ok(embed.description.length <= 4096);
      for (const f of embed.fields) assert.ok(f.value.trim().length >= 1 && f.value.length <= 1024, JSON.stringify(f));
      const total = embed.title.length + embed.description.length + embed.footer.text.length + embed.fields.reduce((n, f) => n + f.name.length + f.value.length, 0);
      assert.ok(total <= 6000, `embed of ${total} characters`);
      assert.ok(embed.description.trim().length >= 1);
    }),
    { numRuns: 200 },
  );
});

test('button callbacks and text commands parse back to the same answer', () => {
  assert.deepEqual(parseApprovalCallback('apv:dec-1:approve'), { decisionId: 'dec-1', verdict: 'approve' });
  for (const bad of ['apv:dec-1:maybe', 'apv::approve', 'xpv:dec-1:deny', 'apv:dec 1:deny', 42, null, `apv:${'a'.repeat(53)}:deny`]) {
    assert.equal(parseApprovalCallback(bad), null, String(bad));
  }
  assert.throws(() => encodeApprovalCallback('has space', 'approve'), RangeError);
  assert.deepEqual(parseApprovalCommand('/approve dec-1'), { kind: 'answer', decisionId: 'dec-1', verdict: 'approve' });
  assert.deepEqual(parseApprovalCommand('  /DENY   dec-1  '), { kind: 'answer', decisionId: 'dec-1', verdict: 'deny' });
  assert.deepEqual(parseApprovalCommand('/approve@sentinel_bot dec-1', { botUsername: 'Sentinel_Bot' }), { kind: 'answer', decisionId: 'dec-1', verdict: 'approve' });
  assert.equal(parseApprovalCommand('/approve@other_bot dec-1', { botUsername: 'sentinel_bot' }), null);
  assert.deepEqual(parseApprovalCommand('/approve'), { kind: 'usage', verdict: 'approve' });
  assert.deepEqual(parseApprovalCommand('/deny dec-1 and dec-2'), { kind: 'usage', verdict: 'deny' });
  assert.equal(parseApprovalCommand('/approved dec-1'), null);
  assert.equal(parseApprovalCommand('please /approve dec-1'), null);
  fc.assert(
    fc.property(fc.stringMatching(/^[A-Za-z0-9._-]{1,52}$/), fc.constantFrom('approve', 'deny'), (id, verdict) => {
      const v = verdict as 'approve' | 'deny';
      assert.deepEqual(parseApprovalCallback(encodeApprovalCallback(id, v)), { decisionId: id, verdict: v });
      assert.ok(Buffer.byteLength(encodeApprovalCallback(id, v)) <= 64, 'fits Telegram callback_data');
      assert.deepEqual(parseApprovalCommand(`/${v} ${id}`), { kind: 'answer', decisionId: id, verdict: v });
    }),
  );
});
