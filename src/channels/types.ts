// The channels service's own shapes: what an adapter hands to the service (inbound messages and
// approval answers) and what the service asks of an adapter (send a text, send or update an
// approval prompt). Every adapter (Telegram, Discord, Slack, web chat) implements ChannelAdapter.
import type { ApprovalPrompt, ChannelName, EpochMillis } from '../domain/types.ts';

/** A user's chat message, as received by an adapter. */
export interface InboundMessage {
  channel: ChannelName;
  /** Where a reply goes: Telegram chat id, Discord channel id, Slack channel id, web user id. */
  conversationId: string;
  /** The platform's id for the sender. */
  channelUserId: string;
  displayName: string | null;
  text: string;
  /**
   * The platform's id of this message (Telegram message_id, Discord snowflake, Slack ts, web frame id),
   * unique within conversationId: (channel, conversationId, platformMessageId) is the idempotency key.
   */
  platformMessageId: string;
  /** How the platform delivery was authenticated (see docs/channels.md). */
  authenticatedBy: string;
  receivedAt: EpochMillis;
}

export type ApprovalVerdict = 'approve' | 'deny';

/**
 * A human's answer to an approval prompt (button press or `/approve ID` / `/deny ID`), carried
 * faithfully from an authenticated platform callback. Whether this person may approve this decision
 * is for the signer to decide, never the adapter.
 */
export interface ApprovalAnswer {
  decisionId: string;
  verdict: ApprovalVerdict;
  platform: ChannelName;
  platformUserId: string;
  displayName: string | null;
  /** The conversation the answer was given in, when the platform says. */
  conversationId: string | null;
  /**
   * The message the button belonged to (equal to the prompt's PromptRef.messageId, with conversationId
   * equal to its PromptRef.conversationId), or the command message; null when the platform does not say.
   */
  platformMessageId: string | null;
  /** e.g. "slack-signing-secret", "discord-ed25519", "telegram-webhook-secret-token", "webchat-session". */
  authenticatedBy: string;
  /** "sha256:<hex>" of the raw callback body as received (see docs/channels.md for each platform). */
  callbackDigest: string;
  receivedAt: EpochMillis;
}

/** Where to deliver: an existing conversation, or a person on this channel (a direct message). */
export type DeliveryTarget =
  | { kind: 'conversation'; conversationId: string }
  | { kind: 'user'; channelUserId: string };

/** A message the adapter sent. JSON-serialisable so the service can keep it (e.g. in Redis). */
export interface MessageRef {
  channel: ChannelName;
  conversationId: string;
  messageId: string;
}

/** A sent approval prompt, to be edited when its status changes. */
export interface PromptRef extends MessageRef {
  decisionId: string;
}

export interface AdapterHandlers {
  onMessage(message: InboundMessage): Promise<void>;
  onApprovalAnswer(answer: ApprovalAnswer): Promise<void>;
}

/** A platform callback, framework-neutral: the HTTP layer passes the raw bytes exactly as received. */
export interface WebhookRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  rawBody: Buffer;
}

export interface WebhookResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** An HTTP endpoint an adapter needs mounted (Telegram webhook, Discord interactions, Slack events). */
export interface WebhookRoute {
  method: 'POST';
  path: string;
  /** Largest body the route accepts; the HTTP layer should refuse bigger ones with 413 before reading on. */
  maxBodyBytes: number;
  handle(request: WebhookRequest): Promise<WebhookResponse>;
}

export interface ChannelAdapter {
  readonly name: ChannelName;
  /** HTTP routes to mount on the service's HTTP server (empty for polling / gateway-only set-ups). */
  readonly webhooks: readonly WebhookRoute[];
  /** Connects to the platform; resolves once messages can flow. Rejects on bad credentials. */
  start(handlers: AdapterHandlers): Promise<void>;
  sendText(target: DeliveryTarget, text: string): Promise<MessageRef>;
  sendPrompt(target: DeliveryTarget, prompt: ApprovalPrompt): Promise<PromptRef>;
  /** Edits the prompt's message to show its new status (buttons removed once decided). */
  updatePrompt(ref: PromptRef, prompt: ApprovalPrompt): Promise<void>;
  stop(): Promise<void>;
}
