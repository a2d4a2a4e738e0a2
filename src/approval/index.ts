// The approval protocol: public surface for the signer consumer, the executor, the HTTP routes and
// the replay tool. Format: docs/approval-format.md; keys and KMS: docs/keys-and-kms.md.
export {
  APPROVAL_PAYLOAD_TYPE, DEFAULT_APPROVAL_TTL_MS, MAX_PAYLOAD_BYTES,
  type ApprovalApprover, type ApprovalBasis, type ApprovalEvidence, type ApprovalPayload, type ApprovalPrincipal,
  decodeApprovalPayload, encodeApprovalPayload, validateApprovalPayload,
} from './payload.ts';
export { type Authorization, type AuthorizeOptions, type RoleMembers, type SignRefusalCode, authorizeSigning, isAuthorisedApprover } from './authorize.ts';
export { type DraftOptions, approvalIdFor, draftApproval } from './draft.ts';
export { type IssueOptions, type IssueResult, approvalEvent, issueApproval, signApproval, signEnvelope } from './sign.ts';
export { type EnvelopeJson, envelopeFromJson, envelopeToJson, preAuthEncoding } from './dsse.ts';
export * from './verify/index.ts';
export * from './keys/index.ts';
export * from './signers/index.ts';
