export { verifyApproval, verifyApprovalJson } from './pipeline.ts';
export {
  CHECKS, DEFAULT_CLOCK_SKEW_MS, DEFAULT_MAX_TTL_MS,
  type CheckName, type Verdict, type VerificationCode, type VerifyInput,
} from './types.ts';
