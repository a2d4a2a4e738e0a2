// Public API of the channels service's building blocks (see docs/channels.md):
// adapters, intent extraction, tool-call validation, identity links, prompt rendering, callback
// authentication and the web chat session handler.
export type {
  AdapterHandlers, ApprovalAnswer, ApprovalVerdict, ChannelAdapter, DeliveryTarget, InboundMessage, MessageRef, PromptRef,
  WebhookRequest, WebhookResponse, WebhookRoute,
} from './types.ts';

export {
  createDiscordAdapter, createEnabledAdapters, createSlackAdapter, createTelegramAdapter, createWebhookListener, readRawBody,
  type DiscordAdapterOptions, type EnabledAdaptersOptions, type SlackAdapterOptions, type TelegramAdapterOptions,
} from './adapters/index.ts';

export { createWebChat, WEBCHAT_AUTHENTICATED_BY, type WebChatAdapter, type WebChatOptions, type WebChatSignIn } from './webchat/server.ts';
export { WEBCHAT_MAX_TEXT, WEBCHAT_PROTOCOL_VERSION, type ClientFrame, type ServerFrame } from './webchat/protocol.ts';

export type { ExtractionInput, ExtractionResult, IntentExtractor, PendingClarification, Slot } from './extract/types.ts';
export { createRuleExtractor, extractWithRules, HELP_TEXT, MAX_EXTRACTION_TEXT, RULES_EXTRACTOR_NAME } from './extract/rules.ts';
export { actionFromToolCall, TYPED_TOOLS, validateAction, type ToolCall, type ToolCallResult } from './extract/tool-call.ts';

export {
  buildIdentityDirectory, channelIdentitiesOf, expandApprovers, guestUserId, isGuestUserId, loadIdentityLinks, parseIdentityLinks,
  resolvePrincipal, rolesOf, type ChannelIdentity, type IdentityDirectory, type LinkedUser,
} from './identity/links.ts';

export {
  formatDeadline, renderDiscordPrompt, renderSlackPrompt, renderTelegramPrompt, renderTextPrompt, statusLine,
} from './render/prompt.ts';
export { encodeApprovalCallback, parseApprovalCallback, parseApprovalCommand } from './render/callback.ts';

export {
  AUTHENTICATED_BY, callbackDigest, verifyDiscordSignature, verifySlackSignature, verifyTelegramSecretToken,
} from './auth/verify.ts';
