// Approval prompts rendered for each platform, as the exact API payloads the adapters send:
// Telegram sendMessage/editMessageText fields (HTML + inline keyboard), Discord message bodies
// (embed + button components), Slack chat.postMessage/chat.update fields (Block Kit), and plain text
// with the /approve and /deny fallback. Pure: the deadline is shown as an absolute time (and as
// the platform's own relative-time markup where it has one), never computed from "now".
//
// Everything a requester typed (payee, message body, reason) is escaped for the platform's markup
// and mentions are disabled, so a crafted request cannot dress itself up on an approver's screen.
import type { ApprovalPrompt, RiskTier } from '../../domain/types.ts';
import { encodeApprovalCallback, isButtonableDecisionId } from './callback.ts';
import { truncate } from './text.ts';

const RISK_LABEL: Readonly<Record<RiskTier, string>> = { low: '🟢 Low', medium: '🟠 Medium', high: '🔴 High' };
const RISK_COLOR: Readonly<Record<RiskTier, number>> = { low: 0x2e7d32, medium: 0xef6c00, high: 0xc62828 };
const STATUS_COLOR = { approved: 0x2e7d32, denied: 0x616161, expired: 0x616161 } as const;

/** "2025-11-25 19:40 UTC": absolute, unambiguous, independent of the reader's clock. */
export function formatDeadline(deadline: number): string {
  const iso = new Date(deadline).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/**
 * Escapes `text` and shortens it so the escaped form fits in `max` characters (escaping can grow
 * text, e.g. "&" -> "&amp;", so truncating first is not enough). Never cuts an escape in half.
 */
export function fitEscaped(text: string, max: number, escape: (s: string) => string): string {
  const whole = escape(text);
  if (whole.length <= max) return whole;
  const chars = [...text];
  let n = Math.min(chars.length, max);
  for (;;) {
    const candidate = escape(`${chars.slice(0, Math.max(0, n - 1)).join('')}…`);
    if (candidate.length <= max || n <= 1) return candidate;
    n -= Math.max(1, Math.ceil((candidate.length - max) / 5));
  }
}

/** Platforms refuse empty fields: say so visibly instead. */
function orDash(text: string): string {
  return text.trim() === '' ? '—' : text;
}

function requesterName(prompt: ApprovalPrompt): string {
  const { displayName, userId } = prompt.requester;
  return displayName !== null && displayName !== userId ? `${displayName} (${userId})` : userId;
}

function approversText(prompt: ApprovalPrompt): string {
  const list = prompt.approvers.length > 0 ? prompt.approvers.join(', ') : 'any approver';
  return `${list} (${prompt.requiredApprovals} needed)`;
}

/** The outcome line of a decided prompt, or null while it is pending. */
export function statusLine(prompt: ApprovalPrompt): string | null {
  const by = prompt.decidedBy === null ? '' : ` by ${prompt.decidedBy}`;
  switch (prompt.status) {
    case 'pending': return null;
    case 'approved': return `✅ Approved${by}`;
    case 'denied': return `⛔ Denied${by}`;
    case 'expired': return `⌛ Expired: no answer by ${formatDeadline(prompt.deadline)}`;
  }
}

function fallbackLine(prompt: ApprovalPrompt): string {
  return `Reply /approve ${prompt.decisionId} or /deny ${prompt.decisionId}`;
}

// ------------------------------------------------------------------------------------------------
// Plain text (any channel; also the SMS-like fallback when buttons cannot be used)

export function renderTextPrompt(prompt: ApprovalPrompt): string {
  const lines = [
    `Approval needed (risk: ${prompt.riskTier}) for decision ${prompt.decisionId}`,
    `Action: ${orDash(prompt.actionSummary)}`,
    `Requested by: ${requesterName(prompt)}`,
    `Reason: ${orDash(prompt.reason)}`,
    `Approvers: ${approversText(prompt)}`,
    `Answer by: ${formatDeadline(prompt.deadline)}`,
    statusLine(prompt) ?? fallbackLine(prompt),
  ];
  return lines.join('\n');
}

// ------------------------------------------------------------------------------------------------
// Telegram (parse_mode HTML, inline keyboard)

export function escapeTelegramHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

export interface TelegramInlineButton { text: string; callback_data: string }
export interface TelegramPromptPayload {
  text: string;
  parse_mode: 'HTML';
  link_preview_options: { is_disabled: true };
  reply_markup: { inline_keyboard: TelegramInlineButton[][] };
}

/** Telegram counts the visible text (after HTML parsing) against its 4096-character limit. */

export function renderTelegramPrompt(prompt: ApprovalPrompt): TelegramPromptPayload {
  const e = escapeTelegramHtml;
  const status = statusLine(prompt);
  const buttons = prompt.status === 'pending' && isButtonableDecisionId(prompt.decisionId);
  const lines = [
    `<b>Approval needed</b> · ${RISK_LABEL[prompt.riskTier]} risk`,
    `<b>Action:</b> ${fitEscaped(orDash(prompt.actionSummary), 1000, e)}`,
    `<b>Requested by:</b> ${fitEscaped(requesterName(prompt), 200, e)}`,
    `<b>Reason:</b> ${fitEscaped(orDash(prompt.reason), 1000, e)}`,
    `<b>Approvers:</b> ${fitEscaped(approversText(prompt), 300, e)}`,
    `<b>Answer by:</b> ${formatDeadline(prompt.deadline)}`,
    `<b>Decision:</b> <code>${fitEscaped(prompt.decisionId, 200, e)}</code>`,
    status !== null ? `<b>${e(status)}</b>` : `<i>Or reply</i> <code>/approve ${e(prompt.decisionId)}</code> <i>or</i> <code>/deny ${e(prompt.decisionId)}</code>`,
  ];
  return {
    // Each part is bounded, so the visible text stays well under 4096 characters.
    text: lines.join('\n'),
    parse_mode: 'HTML',
    link_preview_options: { is_disabled: true },
    reply_markup: {
      inline_keyboard: buttons
        ? [[
            { text: '✅ Approve', callback_data: encodeApprovalCallback(prompt.decisionId, 'approve') },
            { text: '⛔ Deny', callback_data: encodeApprovalCallback(prompt.decisionId, 'deny') },
          ]]
        : [],
    },
  };
}

// ------------------------------------------------------------------------------------------------
// Discord (message body for POST/PATCH /channels/{id}/messages)

/** Escapes Discord markdown (and "<" of mentions and timestamps); "#", ">" and "-" only where they start a line. */
export function escapeDiscordMarkdown(text: string): string {
  return text.replace(/([\\*_~`|[\]()<])/g, '\\$1').replace(/^([#>-])/gm, '\\$1');
}

export interface DiscordButton { type: 2; style: 3 | 4; label: string; custom_id: string }
export interface DiscordMessageBody {
  content: string;
  embeds: Array<{
    title: string;
    description: string;
    color: number;
    fields: Array<{ name: string; value: string; inline?: boolean }>;
    footer: { text: string };
  }>;
  components: Array<{ type: 1; components: DiscordButton[] }>;
  allowed_mentions: { parse: [] };
}

export function renderDiscordPrompt(prompt: ApprovalPrompt): DiscordMessageBody {
  const e = escapeDiscordMarkdown;
  const status = statusLine(prompt);
  const buttons = prompt.status === 'pending' && isButtonableDecisionId(prompt.decisionId);
  const seconds = Math.floor(prompt.deadline / 1000);
  const fields: DiscordMessageBody['embeds'][number]['fields'] = [
    { name: 'Risk', value: RISK_LABEL[prompt.riskTier], inline: true },
    { name: 'Requested by', value: fitEscaped(requesterName(prompt), 200, e), inline: true },
    { name: 'Answer by', value: `<t:${seconds}:f> (<t:${seconds}:R>)\n${formatDeadline(prompt.deadline)}`, inline: true },
    { name: 'Reason', value: fitEscaped(orDash(prompt.reason), 900, e) },
    { name: 'Approvers', value: fitEscaped(approversText(prompt), 900, e) },
  ];
  if (status !== null) fields.push({ name: 'Status', value: status });
  return {
    content: status === null ? 'Approval needed' : `Approval ${prompt.status}`,
    embeds: [{
      title: 'Approval needed',
      description: `**Action:** ${fitEscaped(orDash(prompt.actionSummary), 2500, e)}`,
      color: prompt.status === 'pending' ? RISK_COLOR[prompt.riskTier] : STATUS_COLOR[prompt.status],
      fields,
      footer: { text: truncate(`Decision ${prompt.decisionId} · ${fallbackLine(prompt)}`, 300) },
    }],
    components: buttons
      ? [{
          type: 1,
          components: [
            { type: 2, style: 3, label: 'Approve', custom_id: encodeApprovalCallback(prompt.decisionId, 'approve') },
            { type: 2, style: 4, label: 'Deny', custom_id: encodeApprovalCallback(prompt.decisionId, 'deny') },
          ],
        }]
      : [],
    allowed_mentions: { parse: [] },
  };
}

// ------------------------------------------------------------------------------------------------
// Slack (Block Kit for chat.postMessage / chat.update)

export function escapeSlackMrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** Block Kit is an open JSON format; these are the shapes the prompt uses. */
export type SlackBlock = Record<string, unknown> & { type: string };
export interface SlackPromptPayload {
  /** Notification / screen-reader fallback. */
  text: string;
  blocks: SlackBlock[];
}

export const SLACK_APPROVE_ACTION_ID = 'apv_approve';
export const SLACK_DENY_ACTION_ID = 'apv_deny';

export function renderSlackPrompt(prompt: ApprovalPrompt): SlackPromptPayload {
  const e = escapeSlackMrkdwn;
  const status = statusLine(prompt);
  const buttons = prompt.status === 'pending' && isButtonableDecisionId(prompt.decisionId);
  const seconds = Math.floor(prompt.deadline / 1000);
  const deadline = `<!date^${seconds}^{date_short_pretty} at {time}|${formatDeadline(prompt.deadline)}>`;
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: status === null ? 'Approval needed' : `Approval ${prompt.status}`, emoji: true } },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: `*Action:* ${fitEscaped(orDash(prompt.actionSummary), 2800, e)}` },
      fields: [
        { type: 'mrkdwn', text: `*Risk:*\n${RISK_LABEL[prompt.riskTier]}` },
        { type: 'mrkdwn', text: `*Requested by:*\n${fitEscaped(requesterName(prompt), 200, e)}` },
        { type: 'mrkdwn', text: `*Answer by:*\n${deadline}` },
        { type: 'mrkdwn', text: `*Approvers:*\n${fitEscaped(approversText(prompt), 1000, e)}` },
      ],
    },
    { type: 'section', text: { type: 'mrkdwn', text: `*Reason:* ${fitEscaped(orDash(prompt.reason), 2800, e)}` } },
  ];
  if (buttons) {
    const approve = encodeApprovalCallback(prompt.decisionId, 'approve');
    blocks.push({
      type: 'actions',
      block_id: `apv:${prompt.decisionId}`,
      elements: [
        {
          type: 'button', action_id: SLACK_APPROVE_ACTION_ID, style: 'primary',
          text: { type: 'plain_text', text: 'Approve' }, value: approve,
          ...(prompt.riskTier === 'high'
            ? {
                confirm: {
                  title: { type: 'plain_text', text: 'Approve this action?' },
                  text: { type: 'plain_text', text: truncate(orDash(prompt.actionSummary), 300) },
                  confirm: { type: 'plain_text', text: 'Approve' },
                  deny: { type: 'plain_text', text: 'Cancel' },
                },
              }
            : {}),
        },
        {
          type: 'button', action_id: SLACK_DENY_ACTION_ID, style: 'danger',
          text: { type: 'plain_text', text: 'Deny' }, value: encodeApprovalCallback(prompt.decisionId, 'deny'),
        },
      ],
    });
  }
  blocks.push({
    type: 'context',
    elements: [{
      type: 'mrkdwn',
      text: status !== null
        ? `*${e(status)}* · decision \`${fitEscaped(prompt.decisionId, 200, e)}\``
        : `Decision \`${fitEscaped(prompt.decisionId, 200, e)}\` · or reply /approve ${fitEscaped(prompt.decisionId, 200, e)} or /deny ${fitEscaped(prompt.decisionId, 200, e)}`,
    }],
  });
  const fallback = status === null
    ? `Approval needed (${prompt.riskTier} risk): ${prompt.actionSummary}. ${fallbackLine(prompt)}`
    : `${status}: ${prompt.actionSummary}`;
  return { text: truncate(fallback, 3000), blocks };
}
