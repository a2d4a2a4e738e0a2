// The pipeline's domain types. These are the shapes every pure function works on; the Avro
// records in schemas/ carry exactly these fields (see src/contracts/ for the mapping).

export type ChannelName = 'web' | 'telegram' | 'discord' | 'slack' | 'http';
export const CHANNEL_NAMES: readonly ChannelName[] = ['web', 'telegram', 'discord', 'slack', 'http'];

/** Epoch milliseconds. Times are always passed in, never read inside pure code. */
export type EpochMillis = number;

// ---------------------------------------------------------------------------------------------
// Actions: what an agent wants to do. `type` discriminates; the canonical (RFC 8785) JSON of an
// Action is what an approval binds (see src/canonical/action-digest.ts).

export interface TransferAction {
  type: 'transfer';
  /** Amount in minor units (cents), a safe integer. */
  amountMinor: number;
  /** ISO 4217 code, upper case. */
  currency: string;
  payee: string;
  memo: string | null;
}

export interface MessageSendAction {
  type: 'message_send';
  /** email | sms | chat */
  medium: string;
  recipient: string;
  subject: string | null;
  body: string;
}

export interface CommandRunAction {
  type: 'command_run';
  host: string;
  /** The full command line as the user asked for it, e.g. "df -h". */
  command: string;
}

/** Any other tool call an agent proposes; the default constitution denies unknown tools. */
export interface ToolCallAction {
  type: 'tool_call';
  tool: string;
  /** Canonical JSON of the arguments. */
  argumentsJson: string;
}

export type Action = TransferAction | MessageSendAction | CommandRunAction | ToolCallAction;
export type ActionType = Action['type'];
export const ACTION_TYPES: readonly ActionType[] = ['transfer', 'message_send', 'command_run', 'tool_call'];

// ---------------------------------------------------------------------------------------------
// Who and where.

export interface ConversationRef {
  channel: ChannelName;
  /** Channel-specific conversation id (chat id, channel id, web session id ...). */
  conversationId: string;
}

export interface Principal {
  /** Canonical Sentinel user id; one person may be linked to several channel identities. */
  userId: string;
  channel: ChannelName;
  /** The platform's own id for this person (Telegram user id, Slack user id, ...). */
  channelUserId: string;
  displayName: string | null;
}

// ---------------------------------------------------------------------------------------------
// Events (without the metadata envelope, which src/contracts adds).

export interface Intent {
  intentId: string;
  conversation: ConversationRef;
  requester: Principal;
  source: 'chat' | 'agent';
  /** The user's words, when the intent came from chat. */
  text: string | null;
  action: Action;
  extraction: { extractor: string; confidence: number };
  submittedAt: EpochMillis;
}

export type DecisionOutcome = 'allow' | 'deny' | 'require_human';
export type RiskTier = 'low' | 'medium' | 'high';

export interface RiskFactor {
  /** Stable machine code, e.g. "amount_above_threshold". */
  code: string;
  /** Contribution to the score (may be negative). */
  weight: number;
  detail: string;
}

export interface RiskAssessment {
  tier: RiskTier;
  /** 0..100 */
  score: number;
  factors: RiskFactor[];
}

export interface HumanApprovalRequirement {
  /** User ids (canonical) or role names prefixed "role:" who may approve. */
  approvers: string[];
  requiredApprovals: number;
  deadline: EpochMillis;
  /** Whether the requester may count as one of the approvers. */
  requesterMayApprove: boolean;
}

export interface Decision {
  decisionId: string;
  intentId: string;
  conversation: ConversationRef;
  requester: Principal;
  action: Action;
  /** "sha256:<hex>" of the RFC 8785 canonical action. */
  actionDigest: string;
  outcome: DecisionOutcome;
  risk: RiskAssessment;
  firedRules: string[];
  reason: string;
  policyVersion: string;
  /** "sha256:<hex>" of the canonical rule set in force. */
  policyDigest: string;
  /** The context values that mattered, as canonical JSON, and its digest, so replay can re-evaluate. */
  context: { digest: string; snapshotJson: string };
  humanApproval: HumanApprovalRequirement | null;
  decidedAt: EpochMillis;
}

export type HumanVerdict = 'approve' | 'deny' | 'expired';

export interface PlatformEvidence {
  platform: ChannelName;
  /** How the platform callback was authenticated, e.g. "slack-signing-secret", "session". */
  authenticatedBy: string;
  platformUserId: string;
  platformMessageId: string | null;
  /** SHA-256 of the raw callback body as received, for audit. */
  callbackDigest: string | null;
  receivedAt: EpochMillis;
}

export interface HumanApprovalResponse {
  responseId: string;
  decisionId: string;
  intentId: string;
  approver: Principal;
  verdict: HumanVerdict;
  evidence: PlatformEvidence;
  respondedAt: EpochMillis;
}

/** DSSE envelope (https://github.com/secure-systems-lab/dsse). */
export interface Envelope {
  payloadType: string;
  payload: Buffer;
  signatures: Array<{ keyid: string; sig: Buffer }>;
}

export interface SignedApprovalEvent {
  approvalId: string;
  intentId: string;
  decisionId: string;
  conversation: ConversationRef;
  /** Unsigned copy of the action to run; the executor re-derives its digest and compares. */
  action: Action;
  envelope: Envelope;
}

export type ExecutionStatus = 'executed' | 'failed' | 'refused';

export interface ExecutionResult {
  executionId: string;
  intentId: string;
  decisionId: string | null;
  approvalId: string | null;
  conversation: ConversationRef;
  status: ExecutionStatus;
  /** Error code from docs/errors.md when refused or failed. */
  code: string | null;
  reason: string;
  resultJson: string | null;
  executedAt: EpochMillis;
}

export type ReplyKind = 'outcome' | 'approval_prompt' | 'approval_update' | 'clarification' | 'info';

export interface ApprovalPrompt {
  decisionId: string;
  intentId: string;
  requester: Principal;
  actionSummary: string;
  riskTier: RiskTier;
  reason: string;
  deadline: EpochMillis;
  approvers: string[];
  requiredApprovals: number;
  status: 'pending' | 'approved' | 'denied' | 'expired';
  /** Who answered, for approval_update. */
  decidedBy: string | null;
}

export interface ChannelReply {
  replyId: string;
  conversation: ConversationRef;
  intentId: string | null;
  /** null: the conversation itself; otherwise a canonical user id to reach on their channels. */
  recipientUserId: string | null;
  kind: ReplyKind;
  text: string;
  prompt: ApprovalPrompt | null;
}

export type KeyStatus = 'active' | 'retired' | 'revoked';

export interface SigningKeyRecord {
  keyId: string;
  algorithm: 'ed25519';
  /** Raw 32-byte Ed25519 public key. */
  publicKey: Buffer;
  status: KeyStatus;
  notBefore: EpochMillis;
  notAfter: EpochMillis;
  revokedAt: EpochMillis | null;
  createdAt: EpochMillis;
  /** local | kms | kms-delegated */
  origin: string;
  /** For a delegated key: a DSSE envelope by which the parent (KMS) key certifies this key. */
  certificate: Envelope | null;
}
